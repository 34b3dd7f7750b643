// Package esm is a local event-source mapping: it consumes a Kafka topic in a consumer group and invokes a
// handler with events.KafkaEvent batches built as the MSK event source builds them, at least once.
package esm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/kafka"
)

// Handler processes one batch. An error means "retry the whole batch", as a Lambda error does.
type Handler func(ctx context.Context, ev events.KafkaEvent) error

// Defaults and limits, those of the MSK event source where it has them.
const (
	DefaultBatchSize     = 100
	MaxBatchSize         = 10000
	DefaultBatchWindow   = 500 * time.Millisecond
	MaxBatchWindow       = 300 * time.Second
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
	DefaultInvokeTimeout = 60 * time.Second
	// MaxPayload is Lambda's 6 MB limit on an invocation's event: the MSK event source sends a smaller batch
	// rather than exceed it, and so does the mapping.
	MaxPayload    = 6 << 20
	DefaultARN    = "arn:aws:kafka:local:000000000000:cluster/finfeed-local/local"
	commitTimeout = 10 * time.Second
	// leaveTimeout bounds leaving the group on close (the group otherwise notices the member gone by its session
	// timeout); closeTimeout bounds the rest of closing the client.
	leaveTimeout = 5 * time.Second
	closeTimeout = 10 * time.Second
)

// Config is one mapping: which topic, which group, how records are batched and how failures are retried.
type Config struct {
	Topic string
	Group string
	// BatchSize is the most records per invocation; BatchWindow how long to gather records before invoking with
	// fewer (0 invokes with whatever one poll returned).
	BatchSize   int
	BatchWindow time.Duration
	// MaxPayload bounds the size of one event as JSON (default and most MaxPayload).
	MaxPayload int
	// FromLatest starts a group with no committed offset at the end of the topic (LATEST) instead of the start
	// (TRIM_HORIZON).
	FromLatest bool
	// MinBackoff and MaxBackoff bound the doubling wait between retries of a failed batch.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// InvokeTimeout bounds one handler call; an in-flight call finishes even when Run is stopped.
	InvokeTimeout time.Duration
	// EventSourceARN is put in every event.
	EventSourceARN string
}

func (c Config) withDefaults() (Config, error) {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.InvokeTimeout == 0 {
		c.InvokeTimeout = DefaultInvokeTimeout
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = MaxPayload
	}
	if c.EventSourceARN == "" {
		c.EventSourceARN = DefaultARN
	}
	var errs []error
	if strings.TrimSpace(c.Topic) == "" {
		errs = append(errs, errors.New("event source mapping: topic is required"))
	}
	if strings.TrimSpace(c.Group) == "" {
		errs = append(errs, errors.New("event source mapping: consumer group is required"))
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("event source mapping: batch size must be 1..%d, got %d", MaxBatchSize, c.BatchSize))
	}
	if c.BatchWindow < 0 || c.BatchWindow > MaxBatchWindow {
		errs = append(errs, fmt.Errorf("event source mapping: batching window must be 0..%v, got %v", MaxBatchWindow, c.BatchWindow))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("event source mapping: backoff must satisfy 0 <= min (%v) <= max (%v)", c.MinBackoff, c.MaxBackoff))
	}
	if c.MaxPayload < 0 || c.MaxPayload > MaxPayload {
		errs = append(errs, fmt.Errorf("event source mapping: payload limit must be 1..%d bytes, got %d", MaxPayload, c.MaxPayload))
	}
	if c.InvokeTimeout < 0 {
		errs = append(errs, fmt.Errorf("event source mapping: invoke timeout must be positive, got %v", c.InvokeTimeout))
	}
	return c, errors.Join(errs...)
}

// Stats are what a mapping has done so far.
type Stats struct {
	Batches int64 // successful invocations
	Records int64 // records in successful invocations
	Retries int64 // failed invocations (each is retried)
	// Lag is how many records of the topic are not yet processed, as of the latest fetch.
	Lag int64
}

// Mapping consumes one topic and invokes a handler. Run it once.
type Mapping struct {
	cfg     Config
	brokers []string
	client  *kgo.Client
	handler Handler
	log     *slog.Logger

	batches, records, retries atomic.Int64

	mu    sync.Mutex
	parts map[int32]*position

	closeOnce sync.Once
}

type position struct {
	hw   int64 // high watermark from the latest fetch
	next int64 // offset of the next record to process
}

// New builds the mapping's consumer-group client; extra options go to franz-go.
func New(ctx context.Context, kc kafka.Config, cfg Config, h Handler, log *slog.Logger, extra ...kgo.Opt) (*Mapping, error) {
	cfg, err := cfg.withDefaults()
	if h == nil {
		err = errors.Join(err, errors.New("event source mapping: handler is required"))
	}
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reset := kgo.NewOffset().AtStart()
	if cfg.FromLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := append([]kgo.Opt{
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(time.Second),
	}, extra...)
	cl, err := kafka.NewClient(ctx, kc, kafka.Deps{}, opts...)
	if err != nil {
		return nil, fmt.Errorf("event source mapping on %s: %w", cfg.Topic, err)
	}
	return &Mapping{
		cfg: cfg, brokers: kc.Brokers, client: cl, handler: h,
		log: log.With("topic", cfg.Topic, "group", cfg.Group), parts: make(map[int32]*position),
	}, nil
}

// Stats returns a snapshot of the counters.
func (m *Mapping) Stats() Stats {
	s := Stats{Batches: m.batches.Load(), Records: m.records.Load(), Retries: m.retries.Load()}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.parts {
		if p.next >= 0 && p.hw > p.next {
			s.Lag += p.hw - p.next
		}
	}
	return s
}

// Run consumes until ctx is done. Offsets are committed only after the handler succeeds; a failed batch is
// retried, whole and unchanged, with backoff, until it succeeds or ctx is done (it is then redelivered on the
// next run). When ctx is done, the records gathered so far are handed over once (not retried) and committed if
// that succeeds; then Run leaves the group and closes the client.
func (m *Mapping) Run(ctx context.Context) error {
	defer m.Close()
	var (
		batch     []*kgo.Record
		windowEnd time.Time
		idle      int
	)
	for {
		var fs kgo.Fetches
		if ctx.Err() == nil { // once stopped, no more polls: a poll may wait for a pending rebalance
			pollCtx, cancel := ctx, context.CancelFunc(func() {})
			if len(batch) > 0 {
				pollCtx, cancel = context.WithDeadline(ctx, windowEnd)
			}
			fs = m.client.PollRecords(pollCtx, m.cfg.BatchSize-len(batch))
			cancel()
		}
		if ctx.Err() != nil {
			// records gathered for the window are handed over once: the call is not cut short by ctx
			// one call per payload-sized part; after a failure the rest waits too (order) and is redelivered on the
			// next run
			for len(batch) > 0 {
				cut := PayloadCut(batch, m.cfg.MaxPayload)
				if !m.process(ctx, batch[:cut]) {
					break
				}
				batch = batch[cut:]
			}
			m.client.AllowRebalance()
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("event source mapping: client closed")
		}
		var fetchErr error
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			fetchErr = err
			m.log.Warn("fetch failed", "partition", p, "err", err)
		})
		m.note(fs)
		n := len(batch)
		fs.EachRecord(func(r *kgo.Record) { batch = append(batch, r) })
		if n == 0 && len(batch) > 0 {
			windowEnd = time.Now().Add(m.cfg.BatchWindow)
		}
		if len(batch) == 0 {
			m.client.AllowRebalance()
			if fetchErr != nil {
				idle++
				if !sleep(ctx, m.backoff(idle)) {
					return nil
				}
			}
			continue
		}
		idle = 0
		// what does not fit in one event's payload goes in the next invocation, as on MSK
		for cut := PayloadCut(batch, m.cfg.MaxPayload); cut < len(batch); cut = PayloadCut(batch, m.cfg.MaxPayload) {
			if !m.process(ctx, batch[:cut]) {
				m.client.AllowRebalance()
				return nil
			}
			batch = append(batch[:0], batch[cut:]...)
			windowEnd = time.Now().Add(m.cfg.BatchWindow)
		}
		if len(batch) < m.cfg.BatchSize && time.Now().Before(windowEnd) {
			continue
		}
		if !m.process(ctx, batch) {
			m.client.AllowRebalance()
			return nil // stopped while retrying: the batch stays uncommitted
		}
		batch = batch[:0]
		m.client.AllowRebalance()
	}
}

// Close leaves the group and releases the mapping's client; Run does it when it returns, so Close is for a
// mapping never run. It is bounded: a broker that does not answer the leave, or a client that does not finish
// closing, is logged and left behind rather than hanging the shutdown.
func (m *Mapping) Close() {
	m.closeOnce.Do(func() {
		m.client.AllowRebalance() // Close runs when no polled batch is in progress
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		if err := m.client.LeaveGroupContext(ctx); err != nil {
			m.log.Warn("leave group", "err", err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.client.Close()
		}()
		t := time.NewTimer(closeTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			m.log.Error("kafka client did not close in time; leaving it behind", "timeout", closeTimeout)
		}
	})
}

// process invokes the handler until it succeeds, then commits the batch. It reports false when ctx ended first
// (the batch is then not committed).
func (m *Mapping) process(ctx context.Context, batch []*kgo.Record) bool {
	ev := BuildEvent(batch, m.cfg.EventSourceARN, m.brokers)
	for attempt := 1; ; attempt++ {
		err := m.invoke(ctx, ev)
		if err == nil {
			break
		}
		m.retries.Add(1)
		if ctx.Err() != nil {
			m.log.Warn("stopped with a failed batch: it will be redelivered", "records", len(batch), "err", err)
			return false
		}
		d := m.backoff(attempt)
		m.log.Warn("handler failed, retrying the same batch", "records", len(batch), "attempt", attempt, "backoff", d, "err", err)
		if !sleep(ctx, d) {
			return false
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := m.client.CommitRecords(cctx, batch...); err != nil {
		// processed but not committed: redelivered after a restart or rebalance, which at-least-once allows
		m.log.Error("commit offsets", "records", len(batch), "err", err)
	}
	m.batches.Add(1)
	m.records.Add(int64(len(batch)))
	m.mu.Lock()
	for _, r := range batch {
		p := m.part(r.Partition)
		if r.Offset+1 > p.next {
			p.next = r.Offset + 1
		}
	}
	m.mu.Unlock()
	return true
}

// invoke calls the handler with its own timeout; stopping Run does not cut a call short.
func (m *Mapping) invoke(ctx context.Context, ev events.KafkaEvent) error {
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.InvokeTimeout)
	defer cancel()
	return m.handler(ictx, ev)
}

// note records high watermarks and where each partition's processing starts.
func (m *Mapping) note(fs kgo.Fetches) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fp.Err != nil {
			return
		}
		p := m.part(fp.Partition)
		if fp.HighWatermark > p.hw {
			p.hw = fp.HighWatermark
		}
		if len(fp.Records) > 0 && p.next == -1 {
			p.next = fp.Records[0].Offset
		}
	})
}

func (m *Mapping) part(partition int32) *position {
	p, ok := m.parts[partition]
	if !ok {
		p = &position{next: -1}
		m.parts[partition] = p
	}
	return p
}

func (m *Mapping) backoff(attempt int) time.Duration {
	d := m.cfg.MinBackoff
	for i := 1; i < attempt && d < m.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, m.cfg.MaxBackoff)
}

// sleep waits d or until ctx is done, reporting whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
