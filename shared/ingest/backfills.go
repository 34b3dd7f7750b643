package ingest

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// gap is the minutes whose bars start in [from, to) and may be missing from raw.
type gap struct{ from, to time.Time }

// maxQueuedGaps bounds the gaps waiting behind the running backfill. Beyond it the two closest are merged into
// one: the minutes between them were received live, and refetched they encode to the same bytes.
const maxQueuedGaps = 16

// backfills is the queue of gaps for the one backfill that runs at a time, so a stream that keeps reconnecting
// while Kafka is slow cannot pile up backfills, each holding its fetched bars. Gaps wait in time order, merged
// where they overlap or touch; none is dropped.
type backfills struct {
	mu      sync.Mutex
	queue   []gap // sorted by from, disjoint, not touching
	running bool  // a gap taken from the queue is being backfilled
	closed  bool  // no more gaps will come
	wake    chan struct{}
}

// add queues g. It reports whether a backfill is running (g waits for it) and how many gaps wait now.
func (f *backfills) add(g gap) (running bool, queued int) {
	f.mu.Lock()
	i := sort.Search(len(f.queue), func(i int) bool { return f.queue[i].from.After(g.from) })
	q := slices.Insert(f.queue, i, g)
	merged := q[:1]
	for _, g := range q[1:] {
		if last := &merged[len(merged)-1]; !g.from.After(last.to) {
			if g.to.After(last.to) {
				last.to = g.to
			}
			continue
		}
		merged = append(merged, g)
	}
	for len(merged) > maxQueuedGaps {
		j := 1 // merged[j-1] and merged[j] are the closest pair
		for k := 2; k < len(merged); k++ {
			if merged[k].from.Sub(merged[k-1].to) < merged[j].from.Sub(merged[j-1].to) {
				j = k
			}
		}
		merged[j-1].to = merged[j].to
		merged = slices.Delete(merged, j, j+1)
	}
	f.queue = merged
	running, queued = f.running, len(f.queue)
	f.mu.Unlock()
	f.signal()
	return running, queued
}

// next waits for the next gap; it reports false once closed with nothing left.
func (f *backfills) next() (gap, bool) {
	for {
		f.mu.Lock()
		f.running = false
		if len(f.queue) > 0 {
			g := f.queue[0]
			f.queue = slices.Delete(f.queue, 0, 1)
			f.running = true
			f.mu.Unlock()
			return g, true
		}
		closed := f.closed
		f.mu.Unlock()
		if closed {
			return gap{}, false
		}
		<-f.wake
	}
}

// close says no more gaps will come: the loop ends once the queue is empty.
func (f *backfills) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.signal()
}

func (f *backfills) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// backfillLoop backfills the queued gaps one at a time until f is closed and empty. Once ctx has ended, each gap
// left is logged as missing instead of fetched.
func (in *Ingester) backfillLoop(ctx context.Context, f *backfills) {
	for {
		g, ok := f.next()
		if !ok {
			return
		}
		in.fill(ctx, g)
	}
}

// ceilMinute is t rounded up to a whole minute.
func ceilMinute(t time.Time) time.Time {
	if m := t.Truncate(time.Minute); m.Before(t) {
		return m.Add(time.Minute)
	}
	return t
}
