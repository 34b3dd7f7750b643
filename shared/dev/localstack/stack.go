package localstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
	"github.com/finfeed/finfeed/shared/topics"
)

// Stack is a running local pipeline. Start it, Run it once, Close it.
type Stack struct {
	broker  *broker.Broker
	enrich  enrichfn.Config
	index   *indexfn.Config // nil without an OpenSearch URL
	log     *slog.Logger
	clients []*kgo.Client // closed in reverse order

	mappings []*esm.Mapping // the enrich environments', then the index function's
	enrichN  int            // how many of mappings are enrich mappings
	indexer  *indexfn.Function
}

// Start starts the broker and, on it, the enrich function in each execution environment and the index
// function when configured, each behind its event-source mapping. Nothing is consumed until Run.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *Stack, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := broker.Start(ctx, cfg.Broker)
	if err != nil {
		return nil, err
	}
	s := &Stack{broker: b, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	var errs []error
	s.enrich, err = enrichConfig(b, cfg)
	errs = append(errs, err)
	if cfg.OpenSearchURL != "" {
		ic, err := indexConfig(b, cfg)
		errs = append(errs, err)
		s.index = &ic
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	newStore, err := storeMaker(ctx, cfg, s.enrich)
	if err != nil {
		return nil, err
	}
	checkpoints, err := stateStore(s.enrich)
	if err != nil {
		return nil, err
	}
	for i := range cfg.Environments {
		if err := s.startEnrich(ctx, cfg, i, newStore, checkpoints); err != nil {
			return nil, err
		}
	}
	s.enrichN = len(s.mappings)
	if s.index != nil {
		if err := s.startIndex(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// storeMaker returns what makes one environment's previous-close store: cfg.NewStore, or what the enrich
// function itself builds (enrichfn.New): the DynamoDB table behind the warm-container cache, or the CSV file
// in memory.
func storeMaker(ctx context.Context, cfg Config, ec enrichfn.Config) (func() (enrich.PrevCloses, error), error) {
	if cfg.NewStore != nil {
		return cfg.NewStore, nil
	}
	if ec.PrevCloseTable != "" {
		aws, err := awsconfig.Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("previous-close table %s: %w", ec.PrevCloseTable, err)
		}
		db := dynamodb.NewFromConfig(aws.AWS)
		return func() (enrich.PrevCloses, error) {
			return prevclose.NewCache(prevclose.NewDynamoDB(db, ec.PrevCloseTable), prevclose.CacheOptions{}), nil
		}, nil
	}
	return func() (enrich.PrevCloses, error) {
		m, err := prevclose.LoadCSVFile(ec.PrevClosesFile)
		if err != nil {
			return nil, fmt.Errorf("previous closes: %w", err)
		}
		return m, nil
	}, nil
}

// stateStore is where every environment's state engine checkpoints: the function's STATE_DIR, or one memory
// store they share (as the Lambda's containers share the bucket).
func stateStore(ec enrichfn.Config) (state.Store, error) {
	if ec.StateDir != "" {
		return state.NewFile(ec.StateDir)
	}
	return state.NewMemory(), nil
}

// startEnrich starts execution environment i: its store, its producer, its state engine (empty memory, the
// shared checkpoints, replays from the broker as the service principal), the enrich handler and its mapping.
func (s *Stack) startEnrich(ctx context.Context, cfg Config, i int, newStore func() (enrich.PrevCloses, error), checkpoints state.Store) error {
	store, err := newStore()
	if err != nil {
		return err
	}
	out, err := s.Client(ctx, append([]kgo.Opt{kgo.ClientID(fmt.Sprintf("%s-%d", s.enrich.Kafka.ClientID, i))}, cfg.ProducerOpts...)...)
	if err != nil {
		return err
	}
	var p enrichfn.Producer = out
	if cfg.Observe.Enhanced != nil {
		p = &watchedProducer{Producer: out, topic: s.enrich.EnhancedTopic, seen: cfg.Observe.Enhanced}
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: s.enrich.Threshold}, Store: store}
	st, err := enrichfn.NewStateWithCandles(checkpoints, state.NewKafka(s.broker.ServiceKafka(), kafka.Deps{},
		kgo.ClientID(fmt.Sprintf("%s-replay-%d", s.enrich.Kafka.ClientID, i))), s.enrich.CheckpointEvery, s.enrich.Candles, s.log)
	if err != nil {
		return err
	}
	h := enrichfn.NewHandler(e, st, p, s.enrich.EnhancedTopic, s.enrich.DLQTopic, s.log)
	h.SetCandlesTopic(s.enrich.CandlesTopic)
	var handle esm.Handler = func(ctx context.Context, ev events.KafkaEvent) error {
		c, err := h.Handle(ctx, ev)
		if err != nil {
			return err
		}
		if cfg.Observe.Enriched != nil {
			cfg.Observe.Enriched(c)
		}
		return nil
	}
	if cfg.Wrap != nil {
		handle = cfg.Wrap(handle)
	}
	m, err := esm.New(ctx, s.broker.ServiceKafka(), esm.Config{
		Topic: topics.Raw, Group: cfg.Group, BatchSize: cfg.BatchSize, BatchWindow: cfg.BatchWindow,
	}, handle, s.log, append(s.broker.DialOpts(), kgo.ClientID(fmt.Sprintf("%s-esm-%d", s.enrich.Kafka.ClientID, i)))...)
	if err != nil {
		return err
	}
	s.mappings = append(s.mappings, m)
	return nil
}

// startIndex starts the index function (indexfn.New, the Lambda's constructor) on enhanced and, through a second
// mapping with its own group (as the template's second MSK event source), on candles. Observe.Indexed sees the
// enhanced mapping's counts only (bars, as the status shows them).
func (s *Stack) startIndex(ctx context.Context, cfg Config) error {
	var err error
	if s.indexer, err = indexfn.New(ctx, *s.index, s.log, s.broker.DialOpts()...); err != nil {
		return fmt.Errorf("index function: %w", err)
	}
	m, err := esm.New(ctx, s.broker.ServiceKafka(), esm.Config{
		Topic: s.enrich.EnhancedTopic, Group: topics.IndexGroup, BatchSize: cfg.BatchSize, BatchWindow: cfg.BatchWindow,
	}, func(ctx context.Context, ev events.KafkaEvent) error {
		c, err := s.indexer.Handle(ctx, ev)
		if err != nil {
			return err
		}
		if cfg.Observe.Indexed != nil {
			cfg.Observe.Indexed(c)
		}
		return nil
	}, s.log, append(s.broker.DialOpts(), kgo.ClientID("finfeed-index-esm"))...)
	if err != nil {
		return err
	}
	s.mappings = append(s.mappings, m)
	m, err = esm.New(ctx, s.broker.ServiceKafka(), esm.Config{
		Topic: s.index.CandlesTopic, Group: topics.IndexCandlesGroup, BatchSize: cfg.BatchSize, BatchWindow: cfg.BatchWindow,
	}, func(ctx context.Context, ev events.KafkaEvent) error {
		_, err := s.indexer.Handle(ctx, ev)
		return err
	}, s.log, append(s.broker.DialOpts(), kgo.ClientID("finfeed-index-candles-esm"))...)
	if err != nil {
		return err
	}
	s.mappings = append(s.mappings, m)
	return nil
}

// Broker is the stack's embedded Kafka.
func (s *Stack) Broker() *broker.Broker { return s.broker }

// Enrich is the enrich function's configuration as loaded.
func (s *Stack) Enrich() enrichfn.Config { return s.enrich }

// Index is the index function's configuration as loaded, nil when it does not run.
func (s *Stack) Index() *indexfn.Config { return s.index }

// Client is a client of the service principal (as the ingester or a test writes raw), closed with the stack.
func (s *Stack) Client(ctx context.Context, opts ...kgo.Opt) (*kgo.Client, error) {
	return s.client(ctx, s.broker.ServiceKafka(), opts...)
}

// OperatorClient is a client of the operator principal (broker.Broker.OperatorKafka: what an IAM login is on
// MSK), which may read the dead letters as no service may; closed with the stack.
func (s *Stack) OperatorClient(ctx context.Context, opts ...kgo.Opt) (*kgo.Client, error) {
	return s.client(ctx, s.broker.OperatorKafka(), opts...)
}

func (s *Stack) client(ctx context.Context, kc kafka.Config, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kafka.NewClient(ctx, kc, kafka.Deps{}, append(s.broker.DialOpts(), opts...)...)
	if err != nil {
		return nil, err
	}
	s.clients = append(s.clients, cl)
	return cl, nil
}

// Run consumes with every mapping until ctx is done, then returns when each has committed its last batch.
func (s *Stack) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range s.mappings {
		wg.Go(func() {
			if err := m.Run(ctx); err != nil {
				s.log.Error("event-source mapping stopped", "err", err)
			}
		})
	}
	wg.Wait()
}

// EnrichStats sums what the enrich mappings have done so far.
func (s *Stack) EnrichStats() esm.Stats {
	var t esm.Stats
	for _, m := range s.mappings[:s.enrichN] {
		st := m.Stats()
		t.Batches += st.Batches
		t.Records += st.Records
		t.Retries += st.Retries
		t.Lag += st.Lag
	}
	return t
}

// Close stops the stack: the mappings (already done after Run), the index function, the producers (flushed),
// then the broker, which writes its state when it has a data dir. Every step is bounded, so it always returns.
func (s *Stack) Close() {
	for _, m := range s.mappings {
		m.Close()
	}
	if s.indexer != nil {
		bounded(s.log, "close the index function", s.indexer.Close)
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	for i := len(s.clients) - 1; i >= 0; i-- {
		cl := s.clients[i]
		if err := cl.Flush(ctx); err != nil {
			s.log.Error("flush on shutdown", "err", err)
		}
		bounded(s.log, "close a kafka client", cl.Close)
	}
	bounded(s.log, "stop the broker", s.broker.Close)
}

const (
	// flushTimeout bounds flushing every producer on Close.
	flushTimeout = 10 * time.Second
	// shutdownStepTimeout bounds each step of Close that has no context of its own.
	shutdownStepTimeout = 15 * time.Second
)

// bounded runs one shutdown step, waiting for it at most shutdownStepTimeout; a step that takes longer is logged
// and left behind.
func bounded(log *slog.Logger, step string, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	t := time.NewTimer(shutdownStepTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Error("shutdown step did not finish in time; leaving it behind", "step", step, "timeout", shutdownStepTimeout)
	}
}

// watchedProducer is an enrich producer that reports each record the broker acknowledged on topic.
type watchedProducer struct {
	enrichfn.Producer
	topic string
	seen  func([]byte)
}

func (p *watchedProducer) Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	p.Producer.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err == nil && r.Topic == p.topic {
			p.seen(r.Value)
		}
		promise(r, err)
	})
}
