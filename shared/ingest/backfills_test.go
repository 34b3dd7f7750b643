package ingest

import (
	"math/rand/v2"
	"testing"
	"time"
)

// However many gaps arrive while a backfill runs, the queue stays bounded and still covers every minute of
// every gap.
func TestGapQueueIsBoundedAndDropsNoMinute(t *testing.T) {
	t0 := time.Date(2024, 7, 11, 13, 30, 0, 0, time.UTC)
	rnd := rand.New(rand.NewPCG(1, 2))
	f := &backfills{wake: make(chan struct{}, 1)}
	missing := map[time.Time]bool{}
	for range 500 {
		from := t0.Add(time.Duration(rnd.IntN(390)) * time.Minute)
		g := gap{from, from.Add(time.Duration(1+rnd.IntN(5)) * time.Minute)}
		for m := g.from; m.Before(g.to); m = m.Add(time.Minute) {
			missing[m] = true
		}
		if _, queued := f.add(g); queued > maxQueuedGaps {
			t.Fatalf("queued gaps: got %d, want at most %d", queued, maxQueuedGaps)
		}
	}
	f.close()
	var last time.Time
	for {
		g, ok := f.next()
		if !ok {
			break
		}
		if !g.from.After(last) || !g.from.Before(g.to) {
			t.Errorf("gap %s..%s after one ending %s: want gaps in time order, apart, not empty", g.from, g.to, last)
		}
		last = g.to
		for m := g.from; m.Before(g.to); m = m.Add(time.Minute) {
			delete(missing, m)
		}
	}
	if len(missing) != 0 {
		t.Errorf("%d minutes of the gaps not queued", len(missing))
	}
}
