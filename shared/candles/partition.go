package candles

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Partition holds the candle state of one raw partition: every symbol's minute bars that candles still need
// and the partition watermark (the latest bar start seen). Its state is a pure function of the bars applied, in
// order, so replaying a partition or restoring it from AppendBinary gives the same candles.
//
// Rules (times are bar start times, candles are [start, start+interval) on the UTC clock):
//   - A candle is final once the watermark reaches its end + Grace; it is then published with Final true, for
//     every symbol that had a bar in it, whether or not the symbol trades again.
//   - A bar for a final candle (a correction: same symbol and time, or a late bar) changes it and re-publishes
//     it (Final true) until the watermark reaches its end + Grace + Horizon. After that the candle is frozen:
//     the bar is left out of it and counted in TooLate (it still counts in the candles of longer intervals that
//     are not frozen yet).
//   - A bar for an open candle changes it silently, or publishes it with Final false when Partial is set.
type Partition struct {
	cfg     Config
	symbols map[string]*series
	w       time.Time // the watermark; meaningful when hasW
	hasW    bool
	cut     time.Time // bars before cut are in frozen candles only: dropped from the state
	tooLate uint64
	pending [][]pend // per interval (cfg.Intervals order): open candles by start, oldest first
	out     []Candle
}

// series is one symbol's minute bars, in time order, one per bar time (a correction replaces its bar).
type series struct {
	bars []minute
}

// pend is the open candles of one interval starting at start: the symbols that have a bar in them.
type pend struct {
	start time.Time
	syms  []string
}

// NewPartition returns an empty partition (no bar seen) building cfg's candles. cfg should pass Validate;
// unsupported intervals are ignored, grace and horizon clamped, and a zero horizon means DefaultHorizon.
func NewPartition(cfg Config) *Partition {
	n := cfg.normalized()
	return &Partition{cfg: n, symbols: map[string]*series{}, pending: make([][]pend, len(n.Intervals))}
}

// Config is the normalized configuration the partition runs with.
func (p *Partition) Config() Config { return p.cfg }

// Watermark is the latest bar start seen, and whether any bar was.
func (p *Partition) Watermark() (time.Time, bool) { return p.w, p.hasW }

// TooLate counts the bars that came after at least one of their candles was frozen (beyond the horizon): they
// are in none of those candles.
func (p *Partition) TooLate() uint64 { return p.tooLate }

// Apply adds one bar (already validated by bar.DecodeRaw) and returns the candles it makes due, in this order:
// the candles whose end + Grace the new watermark reached (Final, ordered by interval, start, symbol); a final
// candle this bar changed (re-published, Final, by interval); the bar's running candles when Partial (Final
// false, by interval). The slice is reused by the next call.
func (p *Partition) Apply(b *bar.Raw) []Candle {
	p.out = p.out[:0]
	m := minuteOf(b)
	var applies, closed, wasOpen uint8 // bit i: interval i
	var before [8]Candle
	missed := false
	s := p.symbols[b.Symbol]
	// the common case: a bar after the symbol's latest, while the watermark is at or before it
	inSequence := s != nil && len(s.bars) > 0 && m.t.After(s.bars[len(s.bars)-1].t) && p.hasW && !m.t.Before(p.w)
	for i, iv := range p.cfg.Intervals {
		start := startOf(m.t, iv)
		end := start.Add(iv.Duration())
		if p.hasW && !p.w.Before(end.Add(p.cfg.Grace+p.cfg.Horizon)) {
			missed = true
			continue
		}
		applies |= 1 << i
		if inSequence { // the candle is open (its end is after the watermark); it already has a bar if the latest is in it
			if !s.bars[len(s.bars)-1].t.Before(start) {
				wasOpen |= 1 << i
			}
			continue
		}
		if p.hasW && !p.w.Before(end.Add(p.cfg.Grace)) {
			closed |= 1 << i
			if s != nil {
				before[i] = aggregate(b.Symbol, iv, start, s.between(start, end), true)
			}
		} else if s != nil && len(s.between(start, end)) > 0 {
			wasOpen |= 1 << i
		}
	}
	if missed {
		p.tooLate++
	}
	if applies == 0 {
		return p.out
	}
	if s == nil {
		s = &series{}
		p.symbols[b.Symbol] = s
	}
	s.put(m)
	for i, iv := range p.cfg.Intervals {
		bit := uint8(1) << i
		if applies&bit == 0 {
			continue
		}
		start := startOf(m.t, iv)
		if closed&bit != 0 {
			if c := aggregate(b.Symbol, iv, start, s.between(start, start.Add(iv.Duration())), true); c != before[i] {
				p.out = append(p.out, c)
			}
		} else if wasOpen&bit == 0 {
			p.addPending(i, start, b.Symbol)
		}
	}
	if !p.hasW || m.t.After(p.w) {
		p.w, p.hasW = m.t, true
		p.closeDue(false)
		p.sweep()
	}
	if p.cfg.Partial {
		for i, iv := range p.cfg.Intervals {
			if bit := uint8(1) << i; applies&bit != 0 && closed&bit == 0 {
				start := startOf(m.t, iv)
				p.out = append(p.out, aggregate(b.Symbol, iv, start, s.between(start, start.Add(iv.Duration())), false))
			}
		}
	}
	return p.out
}

// Close ends the input: every open candle is published final (ordered by interval, start, symbol) and the
// watermark moves to the latest of their end + Grace, as if time had passed until all were final. The slice is
// reused by the next call.
func (p *Partition) Close() []Candle {
	p.out = p.out[:0]
	p.closeDue(true)
	p.sweep()
	return p.out
}

// closeDue publishes the open candles whose end + Grace the watermark reached (all of them when all is set).
func (p *Partition) closeDue(all bool) {
	for i, iv := range p.cfg.Intervals {
		q := p.pending[i]
		k := 0
		for ; k < len(q); k++ {
			end := q[k].start.Add(iv.Duration())
			due := end.Add(p.cfg.Grace)
			if !all && p.w.Before(due) {
				break
			}
			if all && (!p.hasW || due.After(p.w)) {
				p.w, p.hasW = due, true
			}
			syms := q[k].syms
			slices.Sort(syms)
			for _, sym := range syms {
				p.out = append(p.out, aggregate(sym, iv, q[k].start, p.symbols[sym].between(q[k].start, end), true))
			}
		}
		p.pending[i] = slices.Delete(q, 0, k)
	}
}

// addPending records that sym has a bar in interval i's open candle at start.
func (p *Partition) addPending(i int, start time.Time, sym string) {
	q := p.pending[i]
	j := len(q)
	for j > 0 && q[j-1].start.After(start) {
		j--
	}
	if j > 0 && q[j-1].start.Equal(start) {
		q[j-1].syms = append(q[j-1].syms, sym)
		return
	}
	p.pending[i] = slices.Insert(q, j, pend{start: start, syms: []string{sym}})
}

// cutoff is the earliest bar time any candle that is not frozen can hold: for each interval, the first aligned
// start whose end + Grace + Horizon the watermark has not reached.
func (p *Partition) cutoff() time.Time {
	var cut time.Time
	for i, iv := range p.cfg.Intervals {
		x := p.w.Add(-(iv.Duration() + p.cfg.Grace + p.cfg.Horizon))
		c := startOf(x, iv).Add(iv.Duration())
		if i == 0 || c.Before(cut) {
			cut = c
		}
	}
	return cut
}

// sweep drops the bars only frozen candles hold, and symbols left with none, when the cutoff moved.
func (p *Partition) sweep() {
	if !p.hasW {
		return
	}
	cut := p.cutoff()
	if !cut.After(p.cut) {
		return
	}
	p.cut = cut
	for sym, s := range p.symbols {
		k := sort.Search(len(s.bars), func(i int) bool { return !s.bars[i].t.Before(cut) })
		switch {
		case k == len(s.bars):
			delete(p.symbols, sym)
		case k > 0:
			n := copy(s.bars, s.bars[k:])
			s.bars = s.bars[:n]
		}
	}
}

// startOf is the start of t's interval on the UTC clock.
func startOf(t time.Time, iv Interval) time.Time {
	sec, d := t.Unix(), iv.seconds()
	r := sec % d
	if r < 0 {
		r += d
	}
	return time.Unix(sec-r, 0).UTC()
}

// put adds m in time order, replacing a bar of the same time.
func (s *series) put(m minute) {
	n := len(s.bars)
	if n == 0 || m.t.After(s.bars[n-1].t) {
		s.bars = append(s.bars, m)
		return
	}
	k, found := slices.BinarySearchFunc(s.bars, m.t, func(e minute, t time.Time) int { return e.t.Compare(t) })
	if found {
		s.bars[k] = m
		return
	}
	s.bars = slices.Insert(s.bars, k, m)
}

// between is the bars in [start, end).
func (s *series) between(start, end time.Time) []minute {
	lo := sort.Search(len(s.bars), func(i int) bool { return !s.bars[i].t.Before(start) })
	hi := lo
	for hi < len(s.bars) && s.bars[hi].t.Before(end) {
		hi++
	}
	return s.bars[lo:hi]
}

// symbolsSorted lists the partition's symbols in byte order.
func (p *Partition) symbolsSorted() []string {
	syms := make([]string, 0, len(p.symbols))
	for sym := range p.symbols {
		syms = append(syms, sym)
	}
	slices.SortFunc(syms, strings.Compare)
	return syms
}
