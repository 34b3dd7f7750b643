package consumer

import (
	"hash/maphash"
	"slices"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

// DefaultDedupeWindow is how much bar time a Deduper remembers by default: a retried batch's repeats and
// Alpaca's corrections arrive within minutes of the bar, and a candle is re-published at most its provider's
// horizon (15 minutes by default) after it closed.
const DefaultDedupeWindow = 2 * time.Hour

// Deduper drops at-least-once repeats of enriched bars (Keep) and of candles (KeepCandle). For each symbol (each
// symbol and interval, for candles) it remembers a 64-bit hash of the last kept record of each bar time (candle
// start) within its window of that series' newest one; older entries are forgotten. A Deduper is meant for one
// topic: a bar and a candle never repeat each other.
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
	symbols map[series]*symbolBars
	n       int
}

// series is what a window is measured on: a symbol's bars (interval empty) or its candles of one interval.
type series struct{ symbol, interval string }

// symbolBars is one series' remembered bars or candles, oldest first.
type symbolBars struct {
	newest int64 // unix nanoseconds of the series' newest bar time seen
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
	return &Deduper{window: int64(window), seed: maphash.MakeSeed(), symbols: map[series]*symbolBars{}}
}

// Keep reports whether the record value, decoded as e, is to be printed: false when it repeats byte for byte
// the last kept record of the same symbol and bar time; true for a new bar or a correction (different bytes:
// the newer record wins and is remembered), and for a bar too old for its symbol's window.
func (d *Deduper) Keep(e *bar.Enriched, value []byte) bool {
	return d.keep(series{symbol: e.Symbol}, e.Time.UnixNano(), value)
}

// KeepCandle is Keep for a candles record, decoded as c: its key is (symbol, interval, start), and the window
// is measured per symbol and interval, on the candle start.
func (d *Deduper) KeepCandle(c *candles.Candle, value []byte) bool {
	return d.keep(series{symbol: c.Symbol, interval: c.Interval}, c.Start.UnixNano(), value)
}

func (d *Deduper) keep(key series, at int64, value []byte) bool {
	s := d.symbols[key]
	if s == nil {
		s = &symbolBars{newest: at}
		d.symbols[key] = s
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

// Len is the number of bars and candles remembered.
func (d *Deduper) Len() int { return d.n }
