package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
)

// Producer writes raw bars to Kafka asynchronously with a bounded number in flight. Send blocks while the bound
// is reached (backpressure on the stream reader); a record whose produce fails is retried with backoff, holding
// its slot, until it is acknowledged or the producer is aborted. Nothing is dropped silently. Retries keep the
// order records were sent in: while failed records wait for their retry, records sent after them queue behind
// them, so a symbol's records (a bar and its correction) reach the topic in order.
type Producer struct {
	client *kgo.Client
	topic  string
	m      *Metrics
	log    *slog.Logger

	slots    chan struct{}
	inflight sync.WaitGroup
	abort    chan struct{}
	once     sync.Once

	retryMin, retryMax time.Duration // bounds of the delay between attempts of a failed record

	lastOK  atomic.Int64          // unix nanos of the last acknowledgement
	lastErr atomic.Pointer[error] // the last produce failure (failures come in many concrete types)
	errAt   atomic.Int64          // unix nanos of the last failure

	lastWarn atomic.Int64 // unix nanos of the last failure logged

	mu       sync.Mutex
	seq      uint64    // Send order
	backlog  []pending // failed records and the records sent after them, in Send order, waiting for a retry
	retrying bool      // the retry loop runs: Send queues in backlog instead of producing
}

// pending is a record with its place in Send order.
type pending struct {
	seq uint64
	rec *kgo.Record
}

// NewProducer produces to topic on client with at most o.MaxBuffered records unacknowledged, retrying failed
// ones between o.ProduceRetryMin and o.ProduceRetryMax apart. The client should be idempotent with acks=all
// (shared/kafka's defaults) and buffer at least o.MaxBuffered records.
func NewProducer(client *kgo.Client, topic string, o Options, m *Metrics, log *slog.Logger) (*Producer, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("producer options: %w", err)
	}
	return &Producer{client: client, topic: topic, m: m, log: log,
		slots: make(chan struct{}, o.MaxBuffered), abort: make(chan struct{}),
		retryMin: o.ProduceRetryMin, retryMax: o.ProduceRetryMax}, nil
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
	p.mu.Lock()
	p.seq++
	pr := pending{seq: p.seq, rec: rec}
	if p.retrying {
		p.backlog = append(p.backlog, pr) // behind the records waiting for their retry
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	p.produce(pr, nil)
	return nil
}

// produce hands pr to the client; wave, when not nil, is told when its outcome is known.
func (p *Producer) produce(pr pending, wave *sync.WaitGroup) {
	// not the caller's context: a bar that was read must not be lost because reading stopped
	p.client.Produce(context.Background(), pr.rec, func(r *kgo.Record, err error) {
		if wave != nil {
			defer wave.Done()
		}
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
			p.log.Warn("produce failed; retrying", "topic", r.Topic, "key", string(r.Key),
				"errorsSoFar", p.m.ProduceErrors.Load(), "err", err)
		}
		// a fresh record: franz-go keeps per-record state from the failed attempt
		p.failed(pending{seq: pr.seq, rec: &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}})
	})
}

// failed puts pr back in the backlog at its place in Send order (franz-go fails every record buffered for a
// partition when one batch fails, in order; records of other partitions may come back later) and makes sure
// the retry loop runs. It does not block: it runs in franz-go's promise.
func (p *Producer) failed(pr pending) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := sort.Search(len(p.backlog), func(i int) bool { return p.backlog[i].seq > pr.seq })
	p.backlog = slices.Insert(p.backlog, i, pr)
	if !p.retrying {
		p.retrying = true
		go p.retryLoop()
	}
}

// retryLoop produces the backlog in waves, in Send order, and waits for each wave's outcome before the next,
// backing off while waves fail. It ends when the backlog is empty (Send produces directly again) or the
// producer is aborted (what is left is lost).
func (p *Producer) retryLoop() {
	failures := 0
	for {
		if failures > 0 && !p.backoff(failures) {
			p.mu.Lock()
			left := p.backlog
			p.backlog, p.retrying = nil, false
			p.mu.Unlock()
			for _, pr := range left {
				p.lost(pr.rec, ErrAborted)
			}
			return
		}
		p.mu.Lock()
		wave := p.backlog
		p.backlog = nil
		if len(wave) == 0 {
			p.retrying = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		errsBefore := p.m.ProduceErrors.Load()
		var wg sync.WaitGroup
		wg.Add(len(wave))
		for _, pr := range wave {
			p.produce(pr, &wg)
		}
		wg.Wait()
		failures++
		if p.m.ProduceErrors.Load() == errsBefore {
			failures = 0 // Kafka accepts again: what queued meanwhile goes now
		}
	}
}

// backoff waits before the next wave after n failed ones; it reports false when the producer was aborted.
func (p *Producer) backoff(n int) bool {
	d := p.retryMin << min(n-1, 16)
	d = min(d, p.retryMax)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.abort:
		return false
	}
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
