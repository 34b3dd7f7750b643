package indicators_test

import (
	"math"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/indicators"
)

// This file is the independent implementation the tests compare Series with. It is written from docs/feed.md's
// definitions, not from series.go: it keeps every in-sequence bar in a list and recomputes each indicator from the
// whole list, with no carried state, no windows and no codec.

// naive is the list of a symbol's in-sequence bars, the latest last.
type naive struct {
	bars []bar.Raw
}

// apply follows the order rules and returns the values of b computed from the list.
func (l *naive) apply(b bar.Raw) indicators.Values {
	if k := len(l.bars); k > 0 {
		last := l.bars[k-1].Time
		if b.Time.Before(last) {
			return indicators.Values{OutOfSequence: true}
		}
		if b.Time.Equal(last) {
			l.bars = l.bars[:k-1] // a correction replaces the latest bar
		}
	}
	l.bars = append(l.bars, b)
	return referenceAt(l.bars, len(l.bars)-1)
}

// referenceAll returns the values of every bar of an in-sequence list.
func referenceAll(bars []bar.Raw) []indicators.Values {
	out := make([]indicators.Values, len(bars))
	emaF, emaS, rsi := emaSeries(bars, 12), emaSeries(bars, 26), rsiSeries(bars)
	for i := range bars {
		out[i] = referenceFrom(bars, i, emaF, emaS, rsi)
	}
	return out
}

// referenceAt returns the values of bars[i] with everything recomputed from the list.
func referenceAt(bars []bar.Raw, i int) indicators.Values {
	return referenceFrom(bars[:i+1], i, emaSeries(bars[:i+1], 12), emaSeries(bars[:i+1], 26), rsiSeries(bars[:i+1]))
}

func referenceFrom(bars []bar.Raw, i int, emaF, emaS, rsi []*float64) indicators.Values {
	var v indicators.Values
	if m, ok := meanClose(bars, i, 20); ok {
		v.SMA20, v.HasSMA20 = m, true
	}
	if m, ok := meanClose(bars, i, 50); ok {
		v.SMA50, v.HasSMA50 = m, true
	}
	if emaF[i] != nil {
		v.EMA12, v.HasEMA12 = *emaF[i], true
	}
	if emaS[i] != nil {
		v.EMA26, v.HasEMA26 = *emaS[i], true
	}
	if rsi[i] != nil {
		v.RSI14, v.HasRSI14 = *rsi[i], true
	}
	// the session: every bar of the list with bars[i]'s New York date, up to bars[i]
	day := bar.TradingDate(bars[i].Time)
	first := i
	for first > 0 && bar.TradingDate(bars[first-1].Time) == day {
		first--
	}
	var pv, vol float64
	for _, b := range bars[first : i+1] {
		p := b.Close
		if b.HasVWAP {
			p = b.VWAP
		}
		pv += p * b.Volume
		vol += b.Volume
	}
	if vol != 0 {
		v.VWAPSession, v.HasVWAPSession = pv/vol, true
	}
	if i >= 20 {
		var total float64
		for _, b := range bars[i-20 : i] {
			total += b.Volume
		}
		v.VolumeAlert = bars[i].Volume >= 3*(total/20)
	}
	if i >= 1 && emaF[i] != nil && emaS[i] != nil && emaF[i-1] != nil && emaS[i-1] != nil {
		was, is := *emaF[i-1]-*emaS[i-1], *emaF[i]-*emaS[i]
		if was <= 0 && is > 0 {
			v.MACross = "bullish"
		}
		if was > 0 && is <= 0 {
			v.MACross = "bearish"
		}
	}
	return v
}

// meanClose is the mean of the n closes ending at bars[i].
func meanClose(bars []bar.Raw, i, n int) (float64, bool) {
	if i+1 < n {
		return 0, false
	}
	var total float64
	for _, b := range bars[i+1-n : i+1] {
		total += b.Close
	}
	return total / float64(n), true
}

// emaSeries is the n-period EMA at every bar: nil before bar n, the mean of the first n closes at bar n.
func emaSeries(bars []bar.Raw, n int) []*float64 {
	out := make([]*float64, len(bars))
	if len(bars) < n {
		return out
	}
	seed, _ := meanClose(bars, n-1, n)
	out[n-1] = &seed
	a := 2 / float64(n+1)
	for i := n; i < len(bars); i++ {
		e := a*bars[i].Close + (1-a)**out[i-1]
		out[i] = &e
	}
	return out
}

// rsiSeries is Wilder's 14-period RSI at every bar: nil before bar 15.
func rsiSeries(bars []bar.Raw) []*float64 {
	out := make([]*float64, len(bars))
	var up, down float64
	for i := 1; i < len(bars); i++ {
		d := bars[i].Close - bars[i-1].Close
		g, l := math.Max(d, 0), math.Max(-d, 0)
		switch {
		case i < 14:
			up += g
			down += l
			continue
		case i == 14:
			up = (up + g) / 14
			down = (down + l) / 14
		default:
			up = (up*13 + g) / 14
			down = (down*13 + l) / 14
		}
		r := 100.0
		if down != 0 {
			r = 100 - 100/(1+up/down)
		}
		out[i] = &r
	}
	return out
}
