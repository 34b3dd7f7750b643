package esm_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/topics"
)

const waitLimit = 30 * time.Second

func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.Start(t.Context(), broker.Config{Partitions: 3})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// produceN writes n records to raw, keyed over a few keys, values "key:i".
func produceN(t *testing.T, b *broker.Broker, from, n int) {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), b.ServiceKafka(), kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		k := "K" + strconv.Itoa(i%5)
		recs = append(recs, &kgo.Record{Topic: topics.Raw, Key: []byte(k), Value: []byte(k + ":" + strconv.Itoa(i)),
			Headers: []kgo.RecordHeader{{Key: "n", Value: []byte(strconv.Itoa(i))}}})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// collector is a handler that records every event it accepts, after failing the first `fail` calls.
type collector struct {
	mu     sync.Mutex
	fail   int
	calls  int
	failed []events.KafkaEvent
	events []events.KafkaEvent
	values []string
}

func (c *collector) handle(_ context.Context, ev events.KafkaEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls <= c.fail {
		c.failed = append(c.failed, ev)
		return errors.New("injected failure")
	}
	c.events = append(c.events, ev)
	for _, recs := range ev.Records {
		for _, r := range recs {
			v, err := base64.StdEncoding.DecodeString(r.Value)
			if err != nil {
				return err
			}
			c.values = append(c.values, string(v))
		}
	}
	return nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.values)
}

// run starts m and returns a stop function that waits for Run to return.
func run(t *testing.T, m *esm.Mapping) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("Run did not return within %v of its stop; goroutines:\n%s", waitLimit, goroutines())
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// goroutines is every goroutine's stack, for a test that gives up waiting.
func goroutines() string {
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		return err.Error()
	}
	return b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newMapping(t *testing.T, b *broker.Broker, cfg esm.Config, h esm.Handler) *esm.Mapping {
	t.Helper()
	m, err := esm.New(t.Context(), b.ServiceKafka(), cfg, h, nil)
	if err != nil {
		t.Fatalf("new mapping: %v", err)
	}
	return m
}

func committed(t *testing.T, b *broker.Broker, group string) int64 {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), b.ServiceKafka(), kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(t.Context(), group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	return sum
}

func TestDeliversEveryRecordOnceInOrder(t *testing.T) {
	b := startBroker(t)
	const n = 250
	produceN(t, b, 0, n)
	c := &collector{}
	m := newMapping(t, b, esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup, BatchSize: 40, BatchWindow: 50 * time.Millisecond}, c.handle)
	stop := run(t, m)
	waitFor(t, "all records", func() bool { return c.count() >= n })
	stop()

	seen := map[string]int{}
	for _, v := range c.values {
		seen[v]++
	}
	for i := 0; i < n; i++ {
		v := "K" + strconv.Itoa(i%5) + ":" + strconv.Itoa(i)
		if seen[v] != 1 {
			t.Errorf("record %s delivered %d times, want 1", v, seen[v])
		}
	}
	lastOffset := map[string]int64{}
	lastKeyIndex := map[string]int{}
	for _, ev := range c.events {
		size := 0
		for k, recs := range ev.Records {
			size += len(recs)
			for _, r := range recs {
				if want := r.Topic + "-" + strconv.FormatInt(r.Partition, 10); k != want {
					t.Errorf("record of %s grouped under %q", want, k)
				}
				if last, ok := lastOffset[k]; ok && r.Offset <= last {
					t.Errorf("%s: offset %d after %d, want increasing", k, r.Offset, last)
				}
				lastOffset[k] = r.Offset
				v, _ := base64.StdEncoding.DecodeString(r.Value)
				key, idx, _ := strings.Cut(string(v), ":")
				i, _ := strconv.Atoi(idx)
				if last, ok := lastKeyIndex[key]; ok && i <= last {
					t.Errorf("key %s: record %d after %d, want producer order", key, i, last)
				}
				lastKeyIndex[key] = i
				if len(r.Headers) != 1 || string(r.Headers[0]["n"]) != idx {
					t.Errorf("headers of %s: got %v, want [{n: %s}]", v, r.Headers, idx)
				}
			}
		}
		if size > 40 {
			t.Errorf("batch of %d records, want at most 40", size)
		}
		if ev.EventSource != "aws:kafka" || ev.BootstrapServers != b.Addr() {
			t.Errorf("event source %q servers %q, want aws:kafka %s", ev.EventSource, ev.BootstrapServers, b.Addr())
		}
	}
	if got := committed(t, b, topics.EnrichGroup); got != n {
		t.Errorf("committed offsets sum: got %d, want %d", got, n)
	}
	if s := m.Stats(); s.Records != n || s.Lag != 0 || s.Retries != 0 {
		t.Errorf("stats: got %+v, want %d records, lag 0, no retries", s, n)
	}
}

func TestRetriesSameBatchAndLosesNothing(t *testing.T) {
	b := startBroker(t)
	const n = 60
	produceN(t, b, 0, n)
	c := &collector{fail: 3}
	m := newMapping(t, b, esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup, BatchSize: 25, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, c.handle)
	stop := run(t, m)
	waitFor(t, "all records", func() bool { return c.count() >= n })
	stop()
	if len(c.failed) != 3 {
		t.Fatalf("failed calls: got %d, want 3", len(c.failed))
	}
	for i, ev := range c.failed[1:] {
		if got, want := fmt.Sprint(ev), fmt.Sprint(c.failed[0]); got != want {
			t.Errorf("retry %d: got a different batch %s, want %s", i+1, got, want)
		}
	}
	if got, want := fmt.Sprint(c.events[0]), fmt.Sprint(c.failed[0]); got != want {
		t.Errorf("first successful batch: got %s, want the failed one %s", got, want)
	}
	if len(c.values) != n {
		t.Errorf("records delivered: got %d, want %d", len(c.values), n)
	}
	if s := m.Stats(); s.Retries != 3 {
		t.Errorf("retries: got %d, want 3", s.Retries)
	}
	if got := committed(t, b, topics.EnrichGroup); got != n {
		t.Errorf("committed offsets sum: got %d, want %d", got, n)
	}
}

func TestFailedBatchIsNotCommitted(t *testing.T) {
	b := startBroker(t)
	produceN(t, b, 0, 10)
	failing := &collector{fail: 1 << 30}
	m := newMapping(t, b, esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, failing.handle)
	stop := run(t, m)
	waitFor(t, "a few failures", func() bool {
		failing.mu.Lock()
		defer failing.mu.Unlock()
		return failing.calls >= 3
	})
	stop()
	if got := committed(t, b, topics.EnrichGroup); got != 0 {
		t.Fatalf("committed after failures only: got %d, want 0", got)
	}
	ok := &collector{}
	stop = run(t, newMapping(t, b, esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup}, ok.handle))
	waitFor(t, "redelivery", func() bool { return ok.count() >= 10 })
	stop()
	if got := committed(t, b, topics.EnrichGroup); got != 10 {
		t.Errorf("committed after success: got %d, want 10", got)
	}
}

func TestConfigErrors(t *testing.T) {
	h := func(context.Context, events.KafkaEvent) error { return nil }
	kc := kafka.Config{Brokers: []string{"127.0.0.1:1"}, Auth: kafka.AuthNone}
	tests := []struct {
		name string
		cfg  esm.Config
		h    esm.Handler
		want []string
	}{
		{"empty", esm.Config{}, h, []string{"topic is required", "consumer group is required"}},
		{"batch size", esm.Config{Topic: "t", Group: "g", BatchSize: 10001}, h, []string{"batch size"}},
		{"window", esm.Config{Topic: "t", Group: "g", BatchWindow: -1}, h, []string{"batching window"}},
		{"backoff", esm.Config{Topic: "t", Group: "g", MinBackoff: time.Second, MaxBackoff: time.Millisecond}, h, []string{"backoff"}},
		{"handler", esm.Config{Topic: "t", Group: "g"}, nil, []string{"handler is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := esm.New(t.Context(), kc, tt.cfg, tt.h, nil)
			if err == nil {
				t.Fatalf("got nil error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestStopHandsOverGatheredRecords: records waiting for the batching window are processed and committed when
// the mapping is stopped, not left for the next run.
func TestStopHandsOverGatheredRecords(t *testing.T) {
	b := startBroker(t)
	const n = 12
	produceN(t, b, 0, n)
	c := &collector{}
	m := newMapping(t, b, esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup, BatchWindow: esm.MaxBatchWindow}, c.handle)
	stop := run(t, m)
	waitFor(t, "every record polled", func() bool { return m.Stats().Lag == n })
	if got := c.count(); got != 0 {
		t.Fatalf("handled before the window closed: %d records", got)
	}
	stop()
	if got := c.count(); got != n {
		t.Errorf("handled on stop: got %d records, want %d", got, n)
	}
	if got := committed(t, b, topics.EnrichGroup); got != n {
		t.Errorf("committed on stop: got %d, want %d", got, n)
	}
}

// TestStopIsBoundedWhenTheBrokerHoldsTheLeave: stopping returns even when the broker never answers the
// group leave (the client is set not to time the request out itself for 15 minutes), so `feed local` always
// exits.
func TestStopIsBoundedWhenTheBrokerHoldsTheLeave(t *testing.T) {
	b := startBroker(t)
	produceN(t, b, 0, 5)
	c := &collector{}
	m, err := esm.New(t.Context(), b.ServiceKafka(), esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup}, c.handle, nil,
		kgo.RequestTimeoutOverhead(15*time.Minute), kgo.RetryTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, m)
	waitFor(t, "all records", func() bool { return c.count() >= 5 })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the broker's close
	held := make(chan struct{}, 1)
	b.Cluster().ControlKey(int16(kmsg.LeaveGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster().KeepControl()
		select {
		case held <- struct{}{}:
		default:
		}
		b.Cluster().SleepControl(func() { <-release })
		return nil, errors.New("leave held by the test"), true
	})
	stop()
	select {
	case <-held:
	default:
		t.Errorf("the broker saw no leave request")
	}
	if got := committed(t, b, topics.EnrichGroup); got != 5 {
		t.Errorf("committed offsets sum: got %d, want 5", got)
	}
}

// An event never exceeds the payload limit: what does not fit goes in the next invocation, in order, once.
func TestBatchesStayUnderThePayloadLimit(t *testing.T) {
	b := startBroker(t)
	const n = 120
	produceN(t, b, 0, n)
	c := &collector{}
	const limit = 4 << 10
	m := newMapping(t, b, esm.Config{Topic: topics.Raw, Group: topics.EnrichGroup, BatchSize: 100, BatchWindow: 50 * time.Millisecond, MaxPayload: limit}, c.handle)
	stop := run(t, m)
	waitFor(t, "all records", func() bool { return c.count() >= n })
	stop()
	if len(c.values) != n {
		t.Fatalf("delivered %d records, want %d", len(c.values), n)
	}
	for _, ev := range c.events {
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > limit {
			t.Errorf("event of %d bytes, over the %d-byte limit", len(body), limit)
		}
	}
	if len(c.events) < 4 {
		t.Errorf("%d events for %d records under a %d-byte limit: the limit did not split batches", len(c.events), n, limit)
	}
	if got := committed(t, b, topics.EnrichGroup); got != n {
		t.Errorf("committed offsets sum: got %d, want %d", got, n)
	}
}

func TestPayloadCut(t *testing.T) {
	rec := func(size int) *kgo.Record { return &kgo.Record{Topic: "raw", Value: make([]byte, size)} }
	small := []*kgo.Record{rec(100), rec(100), rec(100)}
	if got := esm.PayloadCut(small, esm.MaxPayload); got != 3 {
		t.Errorf("all fit: got %d, want 3", got)
	}
	if got := esm.PayloadCut([]*kgo.Record{rec(8 << 20), rec(10)}, esm.MaxPayload); got != 1 {
		t.Errorf("an oversized first record goes alone: got %d, want 1", got)
	}
	one := esm.RecordSize(rec(100))
	if got := esm.PayloadCut(small, 1024+2*one); got != 2 {
		t.Errorf("room for two: got %d, want 2", got)
	}
}
