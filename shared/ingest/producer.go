package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
)

// Producer writes raw bars to Kafka asynchronously with a bounded number in flight. Send blocks while the bound
// is reached (backpressure on the stream reader); a record whose produce fails is retried with backoff, holding
// its slot, until it is acknowledged or the producer is aborted. Nothing is dropped silently.
type Producer struct {
	client *kgo.Client
	topic  string
	m      *Metrics
	log    *slog.Logger

	slots    chan struct{}
	inflight sync.WaitGroup
	abort    chan struct{}
	once     sync.Once

	// RetryMin and RetryMax bound the delay between attempts of a failed record.
	RetryMin, RetryMax time.Duration

	lastOK  atomic.Int64          // unix nanos of the last acknowledgement
	lastErr atomic.Pointer[error] // the last produce failure (failures come in many concrete types)
	errAt   atomic.Int64          // unix nanos of the last failure

	lastWarn atomic.Int64 // unix nanos of the last failure logged
}

// NewProducer produces to topic on client with at most maxInFlight records unacknowledged. The client should be
// idempotent with acks=all (shared/kafka's defaults) and buffer at least maxInFlight records.
func NewProducer(client *kgo.Client, topic string, maxInFlight int, m *Metrics, log *slog.Logger) *Producer {
	return &Producer{client: client, topic: topic, m: m, log: log,
		slots: make(chan struct{}, maxInFlight), abort: make(chan struct{}),
		RetryMin: 100 * time.Millisecond, RetryMax: 5 * time.Second}
}

// ErrAborted means the producer gave up on records at shutdown.
var ErrAborted = errors.New("producer aborted")

// Send hands b to Kafka, keyed by its symbol. It returns once the record is in flight (not acknowledged), or
// with ErrAborted when the producer was aborted while Send waited for room; that bar is then logged and counted
// as lost.
func (p *Producer) Send(b *bar.Raw) error {
	select {
	case p.slots <- struct{}{}:
	case <-p.abort:
		p.m.Lost.Add(1)
		p.log.Error("record abandoned", "topic", p.topic, "key", b.Symbol, "value", string(bar.AppendRaw(nil, b)), "err", ErrAborted)
		return ErrAborted
	}
	p.inflight.Add(1)
	p.m.Buffered.Add(1)
	rec := &kgo.Record{Topic: p.topic, Key: []byte(b.Symbol), Value: bar.AppendRaw(nil, b)}
	p.produce(rec, 0)
	return nil
}

func (p *Producer) produce(rec *kgo.Record, attempt int) {
	// not the caller's context: a bar that was read must not be lost because reading stopped
	p.client.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
		if err == nil {
			p.lastOK.Store(time.Now().UnixNano())
			p.m.Produced.Add(1)
			p.done()
			return
		}
		p.m.ProduceErrors.Add(1)
		p.lastErr.Store(&err)
		p.errAt.Store(time.Now().UnixNano())
		if errors.Is(err, kgo.ErrClientClosed) {
			p.lost(r, err)
			return
		}
		// one line a second at most: a broker refusing everything fails every record in flight
		if now, last := time.Now().UnixNano(), p.lastWarn.Load(); now-last > int64(time.Second) && p.lastWarn.CompareAndSwap(last, now) {
			p.log.Warn("produce failed; retrying", "topic", r.Topic, "key", string(r.Key), "attempt", attempt+1,
				"errorsSoFar", p.m.ProduceErrors.Load(), "err", err)
		}
		// promises must not block: wait and re-produce elsewhere, still holding the slot
		go p.retry(r, attempt+1)
	})
}

func (p *Producer) retry(rec *kgo.Record, attempt int) {
	d := p.RetryMin << min(attempt-1, 16)
	d = min(d, p.RetryMax)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.abort:
		p.lost(rec, ErrAborted)
		return
	}
	// a fresh record: franz-go keeps per-record state from the failed attempt
	p.produce(&kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value}, attempt)
}

func (p *Producer) lost(rec *kgo.Record, err error) {
	p.m.Lost.Add(1)
	p.log.Error("record abandoned", "topic", rec.Topic, "key", string(rec.Key), "value", string(rec.Value), "err", err)
	p.done()
}

func (p *Producer) done() {
	p.m.Buffered.Add(-1)
	<-p.slots
	p.inflight.Done()
}

// Flush waits until every record sent is acknowledged, or ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush: %d records unacknowledged: %w", len(p.slots), context.Cause(ctx))
	}
}

// Abort stops retrying and unblocks Send; records still unacknowledged are logged and counted as lost.
func (p *Producer) Abort() { p.once.Do(func() { close(p.abort) }) }

// InFlight is how many records are sent and not yet acknowledged.
func (p *Producer) InFlight() int { return len(p.slots) }

// Healthy is nil unless the latest produce outcome was a failure or the backlog is full.
func (p *Producer) Healthy() error {
	if n := len(p.slots); n == cap(p.slots) {
		return fmt.Errorf("kafka backlog full: %d records unacknowledged", n)
	}
	errAt := p.errAt.Load()
	if errAt == 0 || p.lastOK.Load() > errAt {
		return nil
	}
	var err error
	if last := p.lastErr.Load(); last != nil {
		err = *last
	}
	return fmt.Errorf("kafka produce failing: %w", err)
}
