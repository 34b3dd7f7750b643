package ingest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/ingest"
)

// heldBars is the REST history, watched: how many bars backfills had fetched and not yet handed to the sink
// when a fetch returned. That is what backfills hold in memory beyond the producer's bound.
type heldBars struct {
	next ingest.History
	m    *ingest.Metrics

	mu                sync.Mutex
	fetches, fetched  int
	maxHeld, maxFetch int
}

func (h *heldBars) MinuteBars(ctx context.Context, symbols []string, from, to time.Time) ([]bar.Raw, error) {
	bars, err := h.next.MinuteBars(ctx, symbols, from, to)
	if err != nil {
		return bars, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fetches++
	h.fetched += len(bars)
	h.maxFetch = max(h.maxFetch, len(bars))
	h.maxHeld = max(h.maxHeld, h.fetched-int(h.m.Backfilled.Load()))
	return bars, nil
}

func (h *heldBars) stats() (fetches, maxHeld, maxFetch int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fetches, h.maxHeld, h.maxFetch
}

// kafkaDown makes every produce fail while down says so.
func kafkaDown(c *kfake.Cluster, down *atomic.Bool) {
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
}

// gapRig is an ingester on a stopped clock whose stream is dropped again and again while Kafka is down: every
// reconnect finds the same 10 minutes (2 symbols, 20 bars) to backfill.
type gapRig struct {
	*rig
	held *heldBars
	down atomic.Bool
	want map[string]bool // the gap's bars, encoded
}

func newGapRig(t *testing.T, drops int, env map[string]string) *gapRig {
	t.Helper()
	now := time.Date(2024, 7, 11, 14, 30, 0, 0, time.UTC)
	g := &gapRig{want: map[string]bool{}}
	base := map[string]string{"INGEST_MAX_BUFFERED": "4", "BACKFILL_ON_START": "0", "BACKFILL_OVERLAP": "10m"}
	for k, v := range env {
		base[k] = v
	}
	g.rig = newRig(t, base, func(in *ingest.Ingester, s *fakealpaca.Server) {
		in.Now = func() time.Time { return now }
		in.MarketOpen = func(time.Time) bool { return false }
		g.held = &heldBars{next: in.History, m: in.Metrics}
		in.History = g.held
		for m := -10; m <= -1; m++ {
			for i, sym := range []string{"AAPL", "AMZN"} {
				b := minuteBar(sym, now.Add(time.Duration(m)*time.Minute), 190+float64(m)+float64(i*10))
				g.want[string(bar.AppendRaw(nil, &b))] = true
				s.Record(b)
			}
		}
	})
	g.down.Store(true)
	kafkaDown(g.kafka, &g.down)
	m := g.svc.Metrics()
	connected := func() bool {
		err := g.svc.Ready()
		return err == nil || !strings.Contains(err.Error(), "stream not connected")
	}
	for i := range drops + 1 {
		// Reconnects is counted after the session is marked disconnected: connected now is the next session
		eventually(t, "a connected session", func() bool { return m.Reconnects.Load() == int64(i) && connected() })
		if i == 1 { // the first gap's backfill is running, so the next gaps wait instead of merging into it
			eventually(t, "the first backfill's fetch", func() bool { fetches, _, _ := g.held.stats(); return fetches >= 1 })
		}
		if i == drops {
			break
		}
		g.alpaca.DropAll()
		eventually(t, "the session ended", func() bool { return m.Reconnects.Load() == int64(i+1) })
	}
	eventually(t, "every gap taken in", func() bool {
		fetches, _, _ := g.held.stats()
		return fetches >= drops || strings.Count(g.logs.String(), "gap queued for backfill") >= drops
	})
	return g
}

// Under a Kafka that is down, every reconnect finds a gap. Backfills must not pile up, each holding its fetched
// bars: one runs at a time, the others wait, and none is dropped once Kafka is back.
func TestBackfillsRunOneAtATimeWhileKafkaIsDown(t *testing.T) {
	const drops = 4
	g := newGapRig(t, drops, nil)
	if fetches, maxHeld, maxFetch := g.held.stats(); maxHeld > maxFetch {
		t.Errorf("bars fetched and not yet handed to kafka: got %d after %d fetches, want at most one fetch's %d",
			maxHeld, fetches, maxFetch)
	}
	g.down.Store(false)
	recs := consumeUntil(t, g.kafka, func(recs []*kgo.Record) bool {
		seen := map[string]bool{}
		for _, rec := range recs {
			seen[string(rec.Value)] = true
		}
		return len(seen) == len(g.want)
	})
	for _, rec := range recs {
		if !g.want[string(rec.Value)] {
			t.Errorf("record %s: not a bar of the gap", rec.Value)
		}
	}
	m := g.svc.Metrics()
	eventually(t, "the waiting gaps backfilled after the first", func() bool { return m.Backfilled.Load() >= int64(2*len(g.want)) })
	if _, maxHeld, maxFetch := g.held.stats(); maxHeld > maxFetch {
		t.Errorf("bars fetched and not yet handed to kafka: got %d, want at most one fetch's %d", maxHeld, maxFetch)
	}
	if err := g.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// SIGTERM while a backfill is held by a Kafka that is down and others wait: shutdown ends within the timeout,
// and every gap is logged as missing, so an operator can backfill it by hand.
func TestSIGTERMWithBackfillsWaitingLogsEveryGap(t *testing.T) {
	g := newGapRig(t, 2, map[string]string{"SHUTDOWN_TIMEOUT": "100ms"})
	if err := g.stop(t); err == nil {
		t.Errorf("run: got nil, want the records that could not be flushed")
	}
	var lines []string
	for _, l := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "missing from raw") {
			lines = append(lines, l)
		}
	}
	want := "from=2024-07-11T14:20:00.000Z to=2024-07-11T14:30:00.000Z symbols=2"
	if len(lines) != 2 || !strings.Contains(lines[0], want) || !strings.Contains(lines[1], want) {
		t.Errorf("gap errors logged:\n got %q\nwant two lines with %q (the running gap and the waiting one)", lines, want)
	}
	m := g.svc.Metrics()
	if got := m.BackfillErrors.Load(); got != 2 {
		t.Errorf("backfill errors: got %d, want 2", got)
	}
}

// The stream dropped and Alpaca holds the connection slot (406) when SIGTERM comes: nothing will fetch the
// minutes since the drop, so the gap is logged at error level with what a backfill by hand needs, and counted.
func TestGapOpenAtSIGTERMIsLoggedAndCounted(t *testing.T) {
	now := time.Date(2024, 7, 11, 14, 30, 20, 0, time.UTC)
	r := newRig(t, map[string]string{"BACKFILL_ON_START": "0", "BACKFILL_OVERLAP": "2m", "CONN_LIMIT_HOLD": "1h"},
		func(in *ingest.Ingester, _ *fakealpaca.Server) {
			in.Now = func() time.Time { return now }
			in.MarketOpen = func(time.Time) bool { return false }
		})
	m := r.svc.Metrics()
	eventually(t, "connected", func() bool { return r.svc.Ready() == nil })
	r.alpaca.RejectNext(406)
	r.alpaca.DropAll()
	eventually(t, "a 406 held", func() bool { return m.ConnLimitHolds.Load() == 1 })
	if err := r.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "gap") {
			lines = append(lines, l)
		}
	}
	// from the last read's minute less the overlap, to the end of the minute SIGTERM came in
	want := "from=2024-07-11T14:28:00.000Z to=2024-07-11T14:31:00.000Z symbols=2"
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("gap errors logged:\n got %q\nwant one line with %q", lines, want)
	}
	if got := m.BackfillErrors.Load(); got != 1 {
		t.Errorf("backfill errors: got %d, want 1", got)
	}
	if out := r.metrics.String(); !strings.Contains(out, `"BackfillErrors":1`) {
		t.Errorf("EMF lines: got %q, want BackfillErrors 1", out)
	}
}
