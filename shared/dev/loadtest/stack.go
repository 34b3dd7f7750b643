package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// run is one run's stack: the broker, the execution environments (a mapping, a producer and a store each) and
// the writer and reader clients.
type run struct {
	cfg    Config
	log    *slog.Logger
	market *Market
	clock  func() time.Time

	broker   *broker.Broker
	clients  []*kgo.Client // closed last, in reverse order
	stop     context.CancelFunc
	mappings sync.WaitGroup

	in, reader *kgo.Client
}

// stableTimeout bounds the wait for every environment to have joined the consumer group.
const stableTimeout = time.Minute

func newRun(ctx context.Context, cfg Config, log *slog.Logger) (_ *run, err error) {
	r := &run{cfg: cfg, log: log}
	if cfg.Symbols > 0 {
		r.market = NewMarket(cfg.Symbols, cfg.NoCloseEvery)
		// a market minute lasts MinuteEvery: cache lifetimes (minutes) pass as they would in the market
		t0, scale := time.Now(), float64(time.Minute)/float64(cfg.MinuteEvery)
		r.clock = func() time.Time { return t0.Add(time.Duration(float64(time.Since(t0)) * scale)) }
	} else {
		r.market = NewMarket(RateSymbols, cfg.NoCloseEvery)
		r.clock = time.Now
	}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.broker, err = broker.Start(ctx, broker.Config{Partitions: int32(cfg.Partitions)}); err != nil {
		return nil, err
	}
	svc := r.broker.ServiceKafka()
	newStore := cfg.NewStore
	if newStore == nil {
		mem, err := prevclose.NewMemory(r.market.Closes()...)
		if err != nil {
			return nil, err
		}
		newStore = func(now func() time.Time) (enrich.PrevCloses, error) {
			return prevclose.NewCache(mem, prevclose.CacheOptions{Now: now}), nil
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	r.stop = stop
	for i := range cfg.Concurrency {
		// one execution environment: its own producer and store (cache), as each Lambda container has
		store, err := newStore(r.clock)
		if err != nil {
			return nil, fmt.Errorf("previous-close store: %w", err)
		}
		out, err := r.client(ctx, kgo.ProducerLinger(0), kgo.ClientID(fmt.Sprintf("finfeed-bench-enrich-%d", i)))
		if err != nil {
			return nil, err
		}
		h := enrichfn.NewHandler(&enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store},
			out, broker.TopicEnhanced, broker.TopicRawDLQ, log)
		m, err := esm.New(ctx, svc, esm.Config{Topic: broker.TopicRaw, Group: benchGroup, BatchSize: cfg.BatchSize, BatchWindow: cfg.BatchWindow},
			func(ctx context.Context, ev events.KafkaEvent) error { _, err := h.Handle(ctx, ev); return err }, log,
			kgo.ClientID(fmt.Sprintf("finfeed-bench-esm-%d", i)))
		if err != nil {
			return nil, err
		}
		r.mappings.Go(func() {
			if err := m.Run(runCtx); err != nil {
				log.Error("event-source mapping stopped", "err", err)
			}
		})
	}
	// the customer's side: read enhanced and raw.dlq
	if r.reader, err = r.client(ctx, kgo.ConsumeTopics(broker.TopicEnhanced, broker.TopicRawDLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond)); err != nil {
		return nil, err
	}
	if r.in, err = r.client(ctx, kgo.ProducerLinger(0), kgo.DefaultProduceTopic(broker.TopicRaw)); err != nil {
		return nil, err
	}
	if err := r.waitStable(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *run) client(ctx context.Context, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kafka.NewClient(ctx, r.broker.ServiceKafka(), kafka.Deps{}, opts...)
	if err != nil {
		return nil, err
	}
	r.clients = append(r.clients, cl)
	return cl, nil
}

// waitStable waits until every environment is a member of the consumer group and partitions are assigned, as
// an event source is set up before the market opens; the first burst still meets cold caches and connections.
func (r *run) waitStable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, stableTimeout)
	defer cancel()
	adm := kadm.NewClient(r.in)
	for {
		gs, err := adm.DescribeGroups(ctx, benchGroup)
		if err == nil {
			if g, ok := gs[benchGroup]; ok && g.Err == nil && g.State == "Stable" && len(g.Members) == r.cfg.Concurrency {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d environments to join group %s: %w", r.cfg.Concurrency, benchGroup, errors.Join(ctx.Err(), err))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// close stops the mappings and closes every client and the broker.
func (r *run) close() {
	if r.stop != nil {
		r.stop()
	}
	r.mappings.Wait()
	for i := len(r.clients) - 1; i >= 0; i-- {
		r.clients[i].Close()
	}
	if r.broker != nil {
		r.broker.Close()
	}
}
