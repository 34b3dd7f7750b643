package consumer

import (
	"container/heap"
	"hash/maphash"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// DefaultDedupeWindow is how much bar time a Deduper remembers by default: a retried batch's repeats and
// Alpaca's corrections arrive within minutes of the bar.
const DefaultDedupeWindow = 2 * time.Hour

// Deduper drops at-least-once repeats of enriched bars. It remembers a 64-bit hash of the last kept record of
// each (symbol, bar time) whose bar time is within its window of the newest bar time it has seen; older entries
// are forgotten. So memory is bounded by the number of distinct bars in the window, about 120 bytes each
// (measured): a whole market of 8,000 symbols over the default two hours is 960k bars, ~115 MB; one symbol is
// 121 bars. A record more than the window behind the newest bar is kept without a check.
type Deduper struct {
	window time.Duration
	seed   maphash.Seed
	seen   map[barKey]uint64
	byTime keyHeap
	newest int64 // unix nanoseconds of the newest bar time seen
}

type barKey struct {
	symbol string
	at     int64 // bar start, unix nanoseconds
}

// NewDeduper returns a Deduper remembering window of bar time (DefaultDedupeWindow when not positive).
func NewDeduper(window time.Duration) *Deduper {
	if window <= 0 {
		window = DefaultDedupeWindow
	}
	return &Deduper{window: window, seed: maphash.MakeSeed(), seen: map[barKey]uint64{}}
}

// Keep reports whether the record value, decoded as e, is to be printed: false when it repeats byte for byte
// the last kept record of the same symbol and bar time; true for a new bar or a correction (different bytes:
// the newer record wins and is remembered), and for a bar too old for the window.
func (d *Deduper) Keep(e *bar.Enriched, value []byte) bool {
	at := e.Time.UnixNano()
	if at < d.newest-int64(d.window) {
		return true
	}
	k := barKey{symbol: e.Symbol, at: at}
	h := maphash.Bytes(d.seed, value)
	if old, ok := d.seen[k]; ok {
		if old == h {
			return false
		}
		d.seen[k] = h
		return true
	}
	d.seen[k] = h
	heap.Push(&d.byTime, k)
	if at > d.newest {
		d.newest = at
		for limit := d.newest - int64(d.window); d.byTime.Len() > 0 && d.byTime[0].at < limit; {
			delete(d.seen, heap.Pop(&d.byTime).(barKey))
		}
	}
	return true
}

// Len is the number of bars remembered.
func (d *Deduper) Len() int { return len(d.seen) }

// keyHeap orders remembered bars oldest first, for eviction.
type keyHeap []barKey

func (h keyHeap) Len() int           { return len(h) }
func (h keyHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h keyHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *keyHeap) Push(x any)        { *h = append(*h, x.(barKey)) }
func (h *keyHeap) Pop() any {
	old := *h
	k := old[len(old)-1]
	*h = old[:len(old)-1]
	return k
}
