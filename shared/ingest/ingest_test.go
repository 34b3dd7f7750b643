package ingest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/ingest"
)

const waitLong = 30 * time.Second

// rig is one ingester under test with its fake Alpaca and Kafka.
type rig struct {
	alpaca  *fakealpaca.Server
	kafka   *kfake.Cluster
	svc     *ingest.Service
	cancel  context.CancelFunc
	done    chan error
	metrics *syncBuffer
	logs    *syncBuffer // what the service logged
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newKafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(3, "raw"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// newRig builds the service from environment variables as the task would, with env overriding the defaults.
func newRig(t *testing.T, env map[string]string, tune func(*ingest.Ingester, *fakealpaca.Server)) *rig {
	t.Helper()
	r := &rig{alpaca: fakealpacatest.Start(t, "key", "secret"), kafka: newKafka(t), metrics: &syncBuffer{}, logs: &syncBuffer{}}
	base := map[string]string{
		"SYMBOLS": "AAPL,AMZN", "ALPACA_FEED": "iex", "ALPACA_API_KEY": "key", "ALPACA_API_SECRET": "secret",
		"ALPACA_STREAM_URL": r.alpaca.StreamURL, "ALPACA_DATA_URL": r.alpaca.DataURL, "ALPACA_API_URL": r.alpaca.APIURL,
		"KAFKA_BROKERS": strings.Join(r.kafka.ListenAddrs(), ","), "HEALTH_ADDR": "127.0.0.1:0",
		"RECONNECT_MIN": "10ms", "RECONNECT_MAX": "50ms", "METRICS_INTERVAL": "50ms",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := ingest.Load(func(k string) string { return base[k] })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, r.logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.svc, err = ingest.New(context.Background(), cfg, log, r.metrics)
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	r.svc.Ingester().BackfillSettle = time.Millisecond // the fake's REST has every bar at once
	if tune != nil {
		tune(r.svc.Ingester(), r.alpaca)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(waitLong):
			t.Errorf("service did not stop within %s", waitLong)
		}
	})
	return r
}

// stop is SIGTERM: it cancels and waits for Run's result.
func (r *rig) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for cleanup
		return err
	case <-time.After(waitLong):
		t.Fatalf("service did not stop within %s", waitLong)
		return nil
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// consumeUntil reads raw from the start until done says the records so far suffice.
func consumeUntil(t *testing.T, c *kfake.Cluster, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("raw"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	var recs []*kgo.Record
	for !done(recs) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("raw: gave up after %s with %d records", waitLong, len(recs))
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

func atLeast(n int) func([]*kgo.Record) bool {
	return func(r []*kgo.Record) bool { return len(r) >= n }
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", waitLong, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func minuteBar(sym string, start time.Time, c float64) bar.Raw {
	return alpaca.Raw(sym, c-0.5, c+0.25, c-0.75, c, 255, 9, c-0.125, start)
}

func waitSubscribes(t *testing.T, s *fakealpaca.Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.WaitSubscribes(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func TestBarsReachRawWithValuesAndKeys(t *testing.T) {
	r := newRig(t, map[string]string{"METRICS_SERVICE": "finfeed-test-ingester"}, nil)
	waitSubscribes(t, r.alpaca, 1)
	addr := r.svc.HealthAddr()
	eventually(t, "readyz 200", func() bool { return ingest.Probe(context.Background(), addr, "/readyz") == nil })
	if err := ingest.Probe(context.Background(), addr, "/healthz"); err != nil {
		t.Errorf("healthz: %v", err)
	}
	t0 := time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)
	bars := []bar.Raw{minuteBar("AAPL", t0, 194.64), minuteBar("AMZN", t0, 185.5), minuteBar("MSFT", t0, 400)}
	ctx := context.Background()
	if err := r.alpaca.Publish(ctx, bars...); err != nil {
		t.Fatal(err)
	}
	corrected := minuteBar("AAPL", t0, 194.7)
	if err := r.alpaca.PublishUpdated(ctx, corrected); err != nil {
		t.Fatal(err)
	}
	recs := consumeUntil(t, r.kafka, atLeast(3))
	// MSFT is not subscribed; per symbol (one partition each) the order is the stream's
	want := map[string][]string{
		"AAPL": {string(bar.AppendRaw(nil, &bars[0])), string(bar.AppendRaw(nil, &corrected))},
		"AMZN": {string(bar.AppendRaw(nil, &bars[1]))},
	}
	got := map[string][]string{}
	partitionOf := map[string]int32{}
	for _, rec := range recs {
		got[string(rec.Key)] = append(got[string(rec.Key)], string(rec.Value))
		if p, ok := partitionOf[string(rec.Key)]; ok && p != rec.Partition {
			t.Errorf("symbol %s in partitions %d and %d", rec.Key, p, rec.Partition)
		}
		partitionOf[string(rec.Key)] = rec.Partition
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records by key:\n got %q\nwant %q", got, want)
	}
	if _, err := bar.DecodeRaw(recs[0].Value); err != nil {
		t.Errorf("raw record does not decode: %v", err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	m := r.svc.Metrics()
	if got := [3]int64{m.BarsIn.Load(), m.UpdatedBarsIn.Load(), m.Produced.Load()}; got != [3]int64{2, 1, 3} {
		t.Errorf("bars in, updated in, produced: got %v, want [2 1 3]", got)
	}
	if out := r.metrics.String(); !strings.Contains(out, `"Namespace":"finfeed/ingester"`) || !strings.Contains(out, `"Produced":3`) ||
		!strings.Contains(out, `"Service":"finfeed-test-ingester"`) {
		t.Errorf("EMF lines: got %q, want the namespace, Service from METRICS_SERVICE and Produced 3 in one interval", out)
	}
}

func TestDroppedConnectionIsBackfilledWithoutGapOrDivergentDuplicate(t *testing.T) {
	r := newRig(t, map[string]string{"BACKFILL_OVERLAP": "12m"}, nil)
	waitSubscribes(t, r.alpaca, 1)
	now := time.Now().UTC().Truncate(time.Minute)
	at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	ctx := context.Background()
	want := map[string]string{} // symbol|timestamp -> value
	add := func(b bar.Raw) bar.Raw {
		want[b.Symbol+"|"+b.Time.Format(time.RFC3339)] = string(bar.AppendRaw(nil, &b))
		return b
	}
	for m := -10; m <= -6; m++ { // live before the drop
		if err := r.alpaca.Publish(ctx, add(minuteBar("AAPL", at(m), 190+float64(m))), add(minuteBar("AMZN", at(m), 180+float64(m)))); err != nil {
			t.Fatal(err)
		}
	}
	consumeUntil(t, r.kafka, atLeast(10))
	for m := -5; m <= -1; m++ { // made while the connection is down: only REST has them
		r.alpaca.Record(add(minuteBar("AAPL", at(m), 190+float64(m))), add(minuteBar("AMZN", at(m), 180+float64(m))))
	}
	r.alpaca.DropAll()
	waitSubscribes(t, r.alpaca, 2)
	if err := r.alpaca.Publish(ctx, add(minuteBar("AAPL", at(0), 190)), add(minuteBar("AMZN", at(0), 180))); err != nil {
		t.Fatal(err)
	}
	recs := consumeUntil(t, r.kafka, func(recs []*kgo.Record) bool {
		seen := map[string]bool{}
		for _, rec := range recs {
			b, err := bar.DecodeRaw(rec.Value)
			if err != nil {
				t.Fatalf("record %s does not decode: %v", rec.Value, err)
			}
			seen[b.Symbol+"|"+b.Time.Format(time.RFC3339)] = true
		}
		return len(seen) == len(want)
	})
	for _, rec := range recs {
		b, err := bar.DecodeRaw(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		k := b.Symbol + "|" + b.Time.Format(time.RFC3339)
		if w, ok := want[k]; !ok || string(rec.Value) != w || string(rec.Key) != b.Symbol {
			t.Errorf("record %s key %s:\n got %s\nwant %s", k, rec.Key, rec.Value, w)
		}
	}
	m := r.svc.Metrics()
	if m.Reconnects.Load() < 1 || m.Backfilled.Load() < 10 {
		t.Errorf("reconnects %d, backfilled %d: want >= 1 and >= 10", m.Reconnects.Load(), m.Backfilled.Load())
	}
}

// Refused keys (the placeholder secret of a first deploy, or revoked ones) do not end the task: it stays up and
// healthy, not ready with the reason, counts LoginRefused, and tries again every REFUSED_RETRY.
func TestBadCredentialsKeepTheTaskUpAndNotReady(t *testing.T) {
	r := newRig(t, map[string]string{"ALPACA_API_KEY": "key", "ALPACA_API_SECRET": "wrong-secret", "REFUSED_RETRY": "20ms"}, nil)
	eventually(t, "three refused logins", func() bool { return r.alpaca.Auths() >= 3 })
	select {
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Run ended on refused credentials: %v", err)
	default:
	}
	rerr := r.svc.Ready()
	if rerr == nil || !strings.Contains(rerr.Error(), "auth failed") || !strings.Contains(rerr.Error(), "retrying every 20ms") {
		t.Errorf("ready: got %v, want not ready because auth failed, with the retry interval", rerr)
	}
	if rerr != nil && strings.Contains(rerr.Error(), "wrong-secret") {
		t.Errorf("the reason shows the secret: %v", rerr)
	}
	if got := r.svc.Metrics().LoginRefused.Load(); got < 3 {
		t.Errorf("LoginRefused: got %d, want at least 3", got)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("SIGTERM while refused: got %v, want a clean stop", err)
	}
}

// When the keys change after a refused login, Run ends with ErrCredentialsChanged so the task restarts with them.
func TestChangedCredentialsRestartTheTask(t *testing.T) {
	var asked atomic.Int64
	r := newRig(t, map[string]string{"ALPACA_API_SECRET": "wrong-secret", "REFUSED_RETRY": "10ms"}, func(in *ingest.Ingester, _ *fakealpaca.Server) {
		in.CredentialsChanged = func(context.Context) (bool, error) { return asked.Add(1) >= 2, nil }
	})
	select {
	case err := <-r.done:
		r.done <- err
		if !errors.Is(err, ingest.ErrCredentialsChanged) {
			t.Fatalf("run error: got %v, want ErrCredentialsChanged", err)
		}
	case <-time.After(waitLong):
		t.Fatalf("Run did not stop for new credentials within %s", waitLong)
	}
	if got := asked.Load(); got != 2 {
		t.Errorf("credentials checked %d times, want 2 (once per refused login)", got)
	}
}

func TestConnectionLimitIsWaitedOut(t *testing.T) {
	t.Run("holds instead of hammering", func(t *testing.T) {
		r := newRig(t, map[string]string{"CONN_LIMIT_HOLD": "1h"}, func(_ *ingest.Ingester, s *fakealpaca.Server) {
			s.RejectNext(406)
		})
		m := r.svc.Metrics()
		eventually(t, "a 406", func() bool { return m.ConnLimitHolds.Load() == 1 })
		// with RECONNECT_MIN at 10ms, a client that did not hold would have retried many times by now
		time.Sleep(300 * time.Millisecond)
		if got := r.alpaca.Auths(); got != 1 {
			t.Errorf("auth attempts during the hold: got %d, want 1", got)
		}
		err := ingest.Probe(context.Background(), r.svc.HealthAddr(), "/readyz")
		if err == nil {
			t.Errorf("readyz during the hold: got ready, want 503")
		}
		if err := r.stop(t); err != nil {
			t.Errorf("stop during the hold: got %v, want nil", err)
		}
	})
	t.Run("connects after the hold", func(t *testing.T) {
		r := newRig(t, map[string]string{"CONN_LIMIT_HOLD": "50ms"}, func(_ *ingest.Ingester, s *fakealpaca.Server) {
			s.RejectNext(406, 406)
		})
		waitSubscribes(t, r.alpaca, 1)
		if got, want := r.alpaca.Rejections(), []int{406, 406}; len(got) != 2 {
			t.Errorf("rejections: got %v, want %v", got, want)
		}
		if got := r.svc.Metrics().ConnLimitHolds.Load(); got != 2 {
			t.Errorf("holds: got %d, want 2", got)
		}
		eventually(t, "ready", func() bool { return r.svc.Ready() == nil })
	})
}

func TestStaleStreamIsReconnectedInMarketHours(t *testing.T) {
	r := newRig(t, map[string]string{"STALE_AFTER": "100ms"}, func(in *ingest.Ingester, _ *fakealpaca.Server) {
		in.MarketOpen = func(time.Time) bool { return true }
	})
	waitSubscribes(t, r.alpaca, 2)
	if got := r.svc.Metrics().StaleReconnects.Load(); got < 1 {
		t.Errorf("stale reconnects: got %d, want >= 1", got)
	}
}

func TestKafkaDownKeepsMemoryBoundedAndLosesNothing(t *testing.T) {
	const maxBuffered, n = 16, 200
	r := newRig(t, map[string]string{"INGEST_MAX_BUFFERED": "16"}, nil)
	var down sync.Mutex // held while Kafka is "down"
	var isDown bool
	setDown := func(v bool) { down.Lock(); isDown = v; down.Unlock() }
	setDown(true)
	r.kafka.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		r.kafka.KeepControl()
		down.Lock()
		defer down.Unlock()
		if isDown {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	waitSubscribes(t, r.alpaca, 1)
	ctx := context.Background()
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	var want []bar.Raw
	for i := range n {
		b := minuteBar([]string{"AAPL", "AMZN"}[i%2], t0.Add(time.Duration(i/2)*time.Minute), 100+float64(i)/100)
		want = append(want, b)
		if err := r.alpaca.Publish(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	m := r.svc.Metrics()
	peak := int64(0)
	eventually(t, "a full backlog", func() bool {
		peak = max(peak, m.Buffered.Load())
		return m.Buffered.Load() == maxBuffered
	})
	if err := r.svc.Ready(); err == nil || !strings.Contains(err.Error(), "backlog full") {
		t.Errorf("ready with Kafka down: got %v, want backlog full", err)
	}
	if got := m.BarsIn.Load(); got > maxBuffered+1 {
		t.Errorf("bars read while Kafka is down: got %d, want at most %d (the reader must wait)", got, maxBuffered+1)
	}
	setDown(false)
	recs := consumeUntil(t, r.kafka, atLeast(n))
	peak = max(peak, m.Buffered.Load())
	if peak > maxBuffered {
		t.Errorf("buffered peak: got %d, want <= %d", peak, maxBuffered)
	}
	got := map[string]int{}
	for _, rec := range recs {
		got[string(rec.Value)]++
	}
	for _, b := range want {
		if v := string(bar.AppendRaw(nil, &b)); got[v] == 0 {
			t.Errorf("missing %s", v)
		}
	}
	if len(recs) != n {
		t.Errorf("records: got %d, want %d", len(recs), n)
	}
}

func TestSIGTERMFlushesEverythingReceived(t *testing.T) {
	const n = 300
	r := newRig(t, nil, nil)
	r.kafka.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) { // a slow broker
		r.kafka.KeepControl()
		time.Sleep(20 * time.Millisecond)
		return nil, nil, false
	})
	waitSubscribes(t, r.alpaca, 1)
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	for i := range n {
		if err := r.alpaca.Publish(context.Background(), minuteBar("AAPL", t0.Add(time.Duration(i)*time.Minute), 190)); err != nil {
			t.Fatal(err)
		}
	}
	m := r.svc.Metrics()
	eventually(t, "every bar read", func() bool { return m.BarsIn.Load() == n })
	inFlight := m.Buffered.Load()
	if err := r.stop(t); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	t.Logf("in flight at SIGTERM: %d", inFlight)
	recs := consumeUntil(t, r.kafka, atLeast(n))
	if len(recs) != n || m.Lost.Load() != 0 {
		t.Errorf("records in raw: got %d (lost %d), want %d", len(recs), m.Lost.Load(), n)
	}
}

func TestStartBackfillsTheMinutesBeforeIt(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	var want []bar.Raw
	for m := -3; m <= -1; m++ {
		want = append(want, minuteBar("AMZN", now.Add(time.Duration(m)*time.Minute), 180+float64(m)))
	}
	old := minuteBar("AMZN", now.Add(-30*time.Minute), 170) // before the window: not asked for
	r := newRig(t, map[string]string{"BACKFILL_ON_START": "5m"}, func(_ *ingest.Ingester, s *fakealpaca.Server) {
		s.Record(append(want, old)...)
	})
	recs := consumeUntil(t, r.kafka, atLeast(len(want)))
	for i, rec := range recs {
		if w := bar.AppendRaw(nil, &want[i]); string(rec.Value) != string(w) {
			t.Errorf("record %d:\n got %s\nwant %s", i, rec.Value, w)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := r.svc.Metrics().Backfilled.Load(); got != int64(len(want)) {
		t.Errorf("backfilled: got %d, want %d", got, len(want))
	}
}
