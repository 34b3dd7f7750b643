package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/kafka"
)

// Service is the whole ingester: stream, backfill, producer, health server and metrics, built once.
type Service struct {
	cfg      Config
	log      *slog.Logger
	metricsW io.Writer
	client   *kgo.Client
	producer *Producer
	health   *Health
	ingester *Ingester
	healthLn net.Listener
}

// New resolves credentials (Secrets Manager when configured), builds the Kafka client and opens the health
// listener. Metrics lines go to metrics (stdout in the task).
func New(ctx context.Context, cfg Config, log *slog.Logger, metrics io.Writer) (*Service, error) {
	var awsCfg awsconfig.Config
	if cfg.Alpaca.SecretARN != "" || cfg.Kafka.SecretARN != "" || cfg.Kafka.Auth == kafka.AuthIAM {
		var err error
		if awsCfg, err = awsconfig.Load(ctx); err != nil {
			return nil, err
		}
	}
	ac, err := cfg.Alpaca.WithCredentials(ctx, awsCfg.Secrets)
	if err != nil {
		return nil, err
	}
	client, err := kafka.NewClient(ctx, cfg.Kafka, kafka.Deps{Secrets: awsCfg.Secrets, Credentials: awsCfg.AWS.Credentials},
		kgo.DefaultProduceTopic(cfg.RawTopic),
		kgo.MaxBufferedRecords(cfg.MaxBuffered),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	m := &Metrics{Service: cfg.MetricsService}
	p, err := NewProducer(client, cfg.RawTopic, cfg.Options, m, log)
	if err != nil {
		client.Close()
		return nil, err
	}
	h := &Health{producing: p.Healthy}
	var symbols []string
	if !ac.AllSymbols() {
		symbols = ac.Symbols
	}
	opts := alpaca.StreamOptions{URL: ac.StreamURL, Feed: ac.Feed, Key: ac.Key, Secret: ac.Secret, Symbols: ac.Symbols}
	in := &Ingester{
		Dial: func(ctx context.Context) (Session, error) {
			s, err := alpaca.Dial(ctx, opts)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		History: alpaca.NewREST(ac, 0), Sink: p, Metrics: m, Health: h, Log: log, Symbols: symbols,
		Options: cfg.Options,
	}
	if ac.AllSymbols() {
		in.Assets = alpaca.NewAssets(ac, 0)
	}
	if cfg.Alpaca.SecretARN != "" {
		in.CredentialsChanged = func(ctx context.Context) (bool, error) {
			now, err := cfg.Alpaca.WithCredentials(ctx, awsCfg.Secrets)
			if err != nil {
				return false, err
			}
			return now.Key != ac.Key || now.Secret != ac.Secret, nil
		}
	}
	s := &Service{cfg: cfg, log: log, metricsW: metrics, client: client, producer: p, health: h, ingester: in}
	if cfg.HealthAddr != "" {
		if s.healthLn, err = net.Listen("tcp", cfg.HealthAddr); err != nil {
			client.Close()
			return nil, fmt.Errorf("health listener: %w", err)
		}
	}
	return s, nil
}

// closeWait bounds the wait for the failures of records still buffered when the Kafka client closes.
const closeWait = 5 * time.Second

// HealthAddr is where /healthz and /readyz are served ("" when off).
func (s *Service) HealthAddr() string {
	if s.healthLn == nil {
		return ""
	}
	return s.healthLn.Addr().String()
}

// Ingester is the core, for tests that tune it before Run.
func (s *Service) Ingester() *Ingester { return s.ingester }

// Run ingests until ctx ends (SIGTERM), then stops reading, flushes Kafka within the shutdown timeout and
// closes everything. It returns nil after a clean stop, or why it stopped otherwise (login refused, records
// that could not be delivered in time).
func (s *Service) Run(ctx context.Context) error {
	bg, stopBg := context.WithCancel(context.Background())
	healthDone := make(chan error, 1)
	if s.healthLn != nil {
		go func() { healthDone <- ServeHealth(bg, s.healthLn, s.health) }()
	} else {
		healthDone <- nil
	}
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		t := time.NewTicker(s.cfg.MetricsInterval)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case now := <-t.C:
				s.emit(now)
			}
		}
	}()
	// The shutdown budget starts at SIGTERM (or when reading stops on its own), not once reading has stopped: a
	// reader blocked on a full backlog (Kafka down) only lets go when the producer gives up, so when the budget
	// is spent the producer is aborted wherever shutdown is by then.
	fctx, expire := context.WithCancelCause(context.Background())
	runDone, budgetDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(budgetDone)
		select {
		case <-ctx.Done():
		case <-runDone:
		}
		t := time.NewTimer(s.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			expire(fmt.Errorf("shutdown timeout %s spent: %w", s.cfg.ShutdownTimeout, context.DeadlineExceeded))
			s.producer.Abort()
		case <-fctx.Done():
		}
	}()
	runErr := s.ingester.Run(ctx)
	close(runDone)
	s.log.Info("stopped reading; flushing", "inFlight", s.producer.InFlight())
	flushErr := s.producer.Flush(fctx)
	expire(nil)
	<-budgetDone
	if flushErr != nil {
		s.producer.Abort()
	}
	s.client.Close() // fails what is still buffered: counted and logged as lost
	if flushErr != nil {
		// the client reports those failures asynchronously: wait for them, so the count below is final
		wctx, cancel := context.WithTimeout(context.Background(), closeWait)
		if err := s.producer.Flush(wctx); err != nil {
			s.log.Error("records unaccounted for after closing the kafka client", "err", err)
		}
		cancel()
	}
	stopBg()
	<-metricsDone
	s.emit(time.Now())
	herr := <-healthDone
	if flushErr != nil {
		s.log.Error("shutdown flush incomplete", "err", flushErr, "lost", s.producer.m.Lost.Load())
	} else {
		s.log.Info("flushed; stopped")
	}
	return errors.Join(runErr, flushErr, herr)
}

func (s *Service) emit(now time.Time) {
	if err := s.producer.m.WriteEMF(s.metricsW, now); err != nil {
		s.log.Warn("metrics", "err", err)
	}
}

// Metrics are the live counters.
func (s *Service) Metrics() *Metrics { return s.producer.m }

// Ready is nil when connected, authenticated and producing.
func (s *Service) Ready() error { return s.health.Ready() }
