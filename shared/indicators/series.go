// Package indicators holds one symbol's technical-indicator state (SMA, EMA, Wilder RSI, session VWAP, volume
// alert, EMA crossover) and computes each bar's values from it. It is pure: no I/O, no clock, no goroutines.
package indicators

import (
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Window lengths of the indicators, as the customer contract (docs/feed.md) names them.
const (
	smaShort    = 20
	smaLong     = 50
	emaFast     = 12
	emaSlow     = 26
	rsiPeriod   = 14
	volumeBars  = 20 // volumeAlert compares with the mean volume of this many previous bars
	volumeRatio = 3  // volumeAlert: volume >= volumeRatio × that mean
)

// keptCloses and keptVolumes are what the series remembers: enough for the longest window of the next bar and,
// for a correction of the latest bar, of the bar it replaces (one slot more than the window before it).
const (
	keptCloses  = smaLong
	keptVolumes = volumeBars + 1
)

// Values are one bar's indicators: the indicator fields of its enhanced record (bar.Indicators, so the enrich
// handler sets them as they are). A value is null when its Has* flag is false; the floats are always finite.
type Values = bar.Indicators

// The maCross values.
const (
	CrossBullish = bar.CrossBullish // ema12 − ema26 turned from ≤ 0 on the previous bar to > 0
	CrossBearish = bar.CrossBearish // ema12 − ema26 turned from > 0 on the previous bar to ≤ 0
)

// point is the recursive state after one bar. Which fields hold a value follows from the bar count.
type point struct {
	ema12, ema26     float64 // from bar 12 / 26 on
	avgGain, avgLoss float64 // Wilder averages, from bar 15 on
	sessionPV        float64 // Σ price·volume over the bar's New York trading date so far
	sessionVolume    float64 // Σ volume over the same bars
	sessionDate      bar.Date
}

// Series is one symbol's indicator state: its bars in time order, all sessions, never reset. The zero value has
// seen no bars. It keeps the state before its latest bar as well, so that a correction of the latest bar (same
// time) replaces it exactly.
type Series struct {
	n       int64     // in-sequence bars seen (a correction replaces, it does not count)
	latest  time.Time // start time of the latest bar
	cur     point     // after the latest bar
	prev    point     // before the latest bar
	closes  [keptCloses]float64
	volumes [keptVolumes]float64
}

// Apply computes b's indicators and advances the series (see docs/feed.md, "Order"):
//   - b later than the latest bar: computed from the series, and b becomes the latest bar;
//   - b at the latest bar's time (a correction): computed from the state before the latest bar, and b replaces it;
//   - b earlier (late or a correction of an older bar): OutOfSequence, every value null, the series unchanged.
//
// b must have passed bar.DecodeRaw's validation.
func (s *Series) Apply(b *bar.Raw) Values {
	switch {
	case s.n == 0 || b.Time.After(s.latest):
		var v Values
		next := s.step(&v, &s.cur, s.closesUpTo(s.n), s.volumesUpTo(s.n), s.n, b)
		s.prev, s.cur = s.cur, next
		s.n++
		s.latest = b.Time
		push(s.closes[:], s.n, b.Close)
		push(s.volumes[:], s.n, b.Volume)
		return v
	case b.Time.Equal(s.latest):
		var v Values
		s.cur = s.step(&v, &s.prev, s.closesUpTo(s.n-1), s.volumesUpTo(s.n-1), s.n-1, b)
		s.closes[min(s.n, keptCloses)-1] = b.Close
		s.volumes[min(s.n, keptVolumes)-1] = b.Volume
		return v
	default:
		return Values{OutOfSequence: true}
	}
}

// closesUpTo returns the kept closes of the first k bars (k is s.n or s.n-1), oldest first.
func (s *Series) closesUpTo(k int64) []float64 {
	return s.closes[:min(s.n, keptCloses)-(s.n-k)]
}

func (s *Series) volumesUpTo(k int64) []float64 {
	return s.volumes[:min(s.n, keptVolumes)-(s.n-k)]
}

// push appends x as the n-th value (1-based) of the window w, dropping the oldest when w is full.
func push(w []float64, n int64, x float64) {
	if n <= int64(len(w)) {
		w[n-1] = x
		return
	}
	copy(w, w[1:])
	w[len(w)-1] = x
}

// step computes the values of b as bar number count+1 from p, the state after the previous bar, and closes and
// volumes, the kept closes and volumes of the bars before b (oldest first). It returns the state after b.
// Every float is computed in the order docs/feed.md writes it; float64() conversions keep the compiler from fusing
// a multiply and an add, so every architecture rounds alike.
func (s *Series) step(v *Values, p *point, closes, volumes []float64, count int64, b *bar.Raw) point {
	n := count + 1 // b's number in the series
	c := b.Close
	var q point

	if n >= smaShort {
		v.SMA20, v.HasSMA20 = windowMean(closes[len(closes)-(smaShort-1):], c), true
	}
	if n >= smaLong {
		v.SMA50, v.HasSMA50 = windowMean(closes[len(closes)-(smaLong-1):], c), true
	}

	q.ema12, v.HasEMA12 = ema(emaFast, n, p.ema12, closes, c)
	q.ema26, v.HasEMA26 = ema(emaSlow, n, p.ema26, closes, c)
	v.EMA12, v.EMA26 = q.ema12, q.ema26
	if n > emaSlow { // this bar and the previous one both have both EMAs
		before := float64(p.ema12 - p.ema26)
		now := float64(q.ema12 - q.ema26)
		switch {
		case before <= 0 && now > 0:
			v.MACross = CrossBullish
		case before > 0 && now <= 0:
			v.MACross = CrossBearish
		}
	}

	switch {
	case n == rsiPeriod+1:
		// the first averages: the means of the first 14 changes (closes holds bars 1..14, c is bar 15)
		var gains, losses float64
		for i := 1; i <= rsiPeriod; i++ {
			x := c
			if i < len(closes) {
				x = closes[i]
			}
			g, l := gainLoss(x - closes[i-1])
			gains += g
			losses += l
		}
		q.avgGain, q.avgLoss = gains/rsiPeriod, losses/rsiPeriod
	case n > rsiPeriod+1:
		g, l := gainLoss(c - closes[len(closes)-1])
		q.avgGain = (float64(p.avgGain*(rsiPeriod-1)) + g) / rsiPeriod
		q.avgLoss = (float64(p.avgLoss*(rsiPeriod-1)) + l) / rsiPeriod
	}
	if n > rsiPeriod {
		v.HasRSI14 = true
		if q.avgLoss == 0 {
			v.RSI14 = 100
		} else {
			v.RSI14 = 100 - 100/(1+q.avgGain/q.avgLoss)
		}
	}

	q.sessionDate = bar.TradingDate(b.Time)
	if n > 1 && q.sessionDate == p.sessionDate {
		q.sessionPV, q.sessionVolume = p.sessionPV, p.sessionVolume
	}
	price := c
	if b.HasVWAP {
		price = b.VWAP
	}
	q.sessionPV += float64(price * b.Volume)
	q.sessionVolume += b.Volume
	if q.sessionVolume > 0 {
		v.VWAPSession, v.HasVWAPSession = q.sessionPV/q.sessionVolume, true
	}

	if count >= volumeBars {
		var sum float64
		for _, x := range volumes[len(volumes)-volumeBars:] {
			sum += x
		}
		v.VolumeAlert = b.Volume >= float64(volumeRatio*(sum/volumeBars))
	}
	return q
}

// windowMean is (Σ before, in order, then + last) / (len(before)+1).
func windowMean(before []float64, last float64) float64 {
	var sum float64
	for _, x := range before {
		sum += x
	}
	sum += last
	return sum / float64(len(before)+1)
}

// ema returns the period-n EMA at bar number count (null before bar period): the SMA of the first period closes
// at bar period, then α·close + (1−α)·prev with α = 2/(period+1).
func ema(period int, count int64, prev float64, closes []float64, c float64) (float64, bool) {
	switch {
	case count < int64(period):
		return 0, false
	case count == int64(period):
		return windowMean(closes[len(closes)-(period-1):], c), true
	default:
		alpha := 2 / float64(period+1)
		return float64(alpha*c) + float64((1-alpha)*prev), true
	}
}

// gainLoss splits a close-to-close change into its gain and loss parts (both ≥ 0).
func gainLoss(change float64) (gain, loss float64) {
	if change > 0 {
		return change, 0
	}
	return 0, -change
}
