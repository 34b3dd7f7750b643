package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/localstack"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/topics"
)

// run is one run's stack (the local stack, with one execution environment per Concurrency) and the writer
// and reader clients.
type run struct {
	cfg    Config
	log    *slog.Logger
	market *Market
	clock  func() time.Time

	stack   *localstack.Stack
	dir     string // the market's previous-close file
	stop    context.CancelFunc
	running sync.WaitGroup

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
	if r.dir, err = os.MkdirTemp("", "finfeed-bench-"); err != nil {
		return nil, fmt.Errorf("previous-close file: %w", err)
	}
	closes, err := localstack.WriteClosesFile(r.dir, r.market.Closes())
	if err != nil {
		return nil, err
	}
	sc := localstack.Config{
		Broker:         broker.Config{Partitions: int32(cfg.Partitions)},
		PrevClosesFile: closes,
		Environments:   cfg.Concurrency,
		Group:          benchGroup,
		BatchSize:      cfg.BatchSize,
		BatchWindow:    cfg.BatchWindow,
		ProducerOpts:   []kgo.Opt{kgo.ProducerLinger(0)},
	}
	if cfg.NewStore != nil {
		sc.NewStore = func() (enrich.PrevCloses, error) { return cfg.NewStore(r.clock) }
	}
	if r.stack, err = localstack.Start(ctx, sc, log); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	r.stop = stop
	r.running.Go(func() { r.stack.Run(runCtx) })
	// the watching side: read enhanced and raw.dlq (as the operator: no service may read the dead letters)
	if r.reader, err = r.stack.OperatorClient(ctx, kgo.ConsumeTopics(topics.Enhanced, topics.RawDLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond)); err != nil {
		return nil, err
	}
	if r.in, err = r.stack.Client(ctx, kgo.ProducerLinger(0), kgo.DefaultProduceTopic(topics.Raw)); err != nil {
		return nil, err
	}
	if err := r.waitStable(ctx); err != nil {
		return nil, err
	}
	return r, nil
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

// close stops the mappings, then the stack, and removes the previous-close file.
func (r *run) close() {
	if r.stop != nil {
		r.stop()
	}
	r.running.Wait()
	if r.stack != nil {
		r.stack.Close()
	}
	if r.dir != "" {
		if err := os.RemoveAll(r.dir); err != nil {
			r.log.Warn("remove the previous-close file", "err", err)
		}
	}
}
