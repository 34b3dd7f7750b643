package consumer

import (
	"hash/maphash"
	"slices"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// DefaultDedupeWindow is how much bar time a Deduper remembers by default: a retried batch's repeats and
// Alpaca's corrections arrive within minutes of the bar.
const DefaultDedupeWindow = 2 * time.Hour

// Deduper drops at-least-once repeats of enriched bars. For each symbol it remembers a 64-bit hash of the last
// kept record of each bar time within its window of that symbol's newest bar time; older entries are forgotten.
//
// The window is measured per symbol, not against the newest bar of the whole feed: a consumer catching up reads
// the topic's partitions at different paces (one can be hours of bar time ahead of another), and a batch retried
// after a stall repeats bars that are old by the feed's clock but recent for their symbol. A symbol's repeats and
// corrections are in its own partition (key = symbol), after the record they repeat.
//
// Memory is bounded by the distinct bars in each symbol's window: a whole market of 8,000 symbols over the
// default two hours is 968k bars, about 16 bytes each plus a map entry per symbol (BenchmarkDeduperMarket
// reports it); one symbol is 121 bars. A record more than the window behind its symbol's newest bar is kept
// without a check.
type Deduper struct {
	window  int64 // nanoseconds
	seed    maphash.Seed
	symbols map[string]*symbolBars
	n       int
}

// symbolBars is one symbol's remembered bars, oldest first.
type symbolBars struct {
	newest int64 // unix nanoseconds of the symbol's newest bar time seen
	bars   []seenBar
}

type seenBar struct {
	at   int64 // bar start, unix nanoseconds
	hash uint64
}

// NewDeduper returns a Deduper remembering window of bar time (DefaultDedupeWindow when not positive).
func NewDeduper(window time.Duration) *Deduper {
	if window <= 0 {
		window = DefaultDedupeWindow
	}
	return &Deduper{window: int64(window), seed: maphash.MakeSeed(), symbols: map[string]*symbolBars{}}
}

// Keep reports whether the record value, decoded as e, is to be printed: false when it repeats byte for byte
// the last kept record of the same symbol and bar time; true for a new bar or a correction (different bytes:
// the newer record wins and is remembered), and for a bar too old for its symbol's window.
func (d *Deduper) Keep(e *bar.Enriched, value []byte) bool {
	at := e.Time.UnixNano()
	s := d.symbols[e.Symbol]
	if s == nil {
		s = &symbolBars{newest: at}
		d.symbols[e.Symbol] = s
	}
	if at < s.newest-d.window {
		return true
	}
	h := maphash.Bytes(d.seed, value)
	i, found := slices.BinarySearchFunc(s.bars, at, func(b seenBar, at int64) int {
		switch {
		case b.at < at:
			return -1
		case b.at > at:
			return 1
		}
		return 0
	})
	if found {
		if s.bars[i].hash == h {
			return false
		}
		s.bars[i].hash = h
		return true
	}
	s.bars = slices.Insert(s.bars, i, seenBar{at: at, hash: h})
	d.n++
	if at > s.newest {
		s.newest = at
		drop := 0
		for limit := at - d.window; drop < len(s.bars) && s.bars[drop].at < limit; drop++ {
		}
		s.bars = s.bars[drop:] // append reallocates once the front is used up, freeing the dropped bars
		d.n -= drop
	}
	return true
}

// Len is the number of bars remembered.
func (d *Deduper) Len() int { return d.n }
