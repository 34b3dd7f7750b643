package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/ingest"
)

// heapSink takes bars without keeping them and samples the live heap (after a collection) every so many bars.
type heapSink struct {
	every   int64
	n       atomic.Int64
	peak    atomic.Uint64
	samples atomic.Int64
}

func (s *heapSink) Send(*bar.Raw) error {
	if s.n.Add(1)%s.every == 0 {
		s.samples.Add(1)
		if h := liveHeap(); h > s.peak.Load() {
			s.peak.Store(h)
		}
	}
	return nil
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// A start-up gap of 45 minutes over 8,000 symbols (360,000 bars) is backfilled holding a bounded number of bars
// at a time: the live heap while it runs stays far below what the whole market's bars alone would take. The
// sink is not Kafka, so that only the backfill's own memory is measured.
func TestWholeMarketBackfillHoldsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("backfills 360,000 bars through the fake's REST")
	}
	const symbols, minutes = 8000, 45
	srv := fakealpacatest.Start(t, "key", "secret")
	market(srv, symbols)
	base := time.Now().UTC().Truncate(time.Minute)
	first := base.Add(-minutes * time.Minute)
	srv.SetMinuteSource(func(symbol string, from, to time.Time) []bar.Raw {
		var out []bar.Raw
		for m := from.Truncate(time.Minute); !m.After(to); m = m.Add(time.Minute) {
			if !m.Before(first) && m.Before(base) && !m.Before(from) {
				out = append(out, minuteBar(symbol, m, 10+float64(m.Minute())/100))
			}
		}
		return out
	})
	cfg := alpaca.Config{Feed: "iex", DataURL: srv.DataURL, APIURL: srv.APIURL, Key: "key", Secret: "secret"}
	sink := &heapSink{every: 20000}
	opts := ingest.DefaultOptions()
	opts.ReconnectMin, opts.ReconnectMax, opts.StaleAfter = 10*time.Millisecond, 50*time.Millisecond, time.Hour
	opts.BackfillOnStart, opts.BackfillSettle = (minutes+1)*time.Minute, time.Millisecond
	in := &ingest.Ingester{
		Dial: func(ctx context.Context) (ingest.Session, error) {
			return alpaca.Dial(ctx, alpaca.StreamOptions{URL: srv.StreamURL, Feed: "iex", Key: "key", Secret: "secret", Symbols: []string{"*"}})
		},
		History: alpaca.NewREST(cfg, 0), Assets: alpaca.NewAssets(cfg, 0), Sink: sink,
		Metrics: &ingest.Metrics{}, Health: &ingest.Health{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options: opts, MarketOpen: func(time.Time) bool { return false },
	}
	before := liveHeap()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	const want = symbols * minutes
	waitFor(t, 5*time.Minute, "the whole market backfilled", func() bool { return sink.n.Load() >= want })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(waitLong):
		t.Fatalf("run did not return within %s", waitLong)
	}
	if got := sink.n.Load(); got != want {
		t.Errorf("bars: got %d, want %d", got, want)
	}
	const limit = 16 << 20
	grown := int64(sink.peak.Load()) - int64(before)
	whole := int64(want) * int64(unsafe.Sizeof(bar.Raw{})) // the bars alone, were the market collected at once
	t.Logf("live heap: %d MiB before, peak %+d MiB over %d samples; the whole market's bars alone: %d MiB",
		before>>20, grown>>20, sink.samples.Load(), whole>>20)
	if whole < 2*limit {
		t.Fatalf("the market is too small to tell: %d bytes of bars against a limit of %d", whole, limit)
	}
	if grown > limit {
		t.Errorf("live heap grew by %d MiB during the backfill, want at most %d MiB", grown>>20, limit>>20)
	}
}
