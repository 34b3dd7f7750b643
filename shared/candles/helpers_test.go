package candles_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

// stream draws a partition's raw bars: a few symbols trading on most minutes (one rarely: a quiet symbol),
// minutes where nobody trades, sub-minute stamps, corrections of earlier bars (same symbol and time, other
// values) and late bars up to lateness minutes behind the watermark, repeats of recent records, optional trade counts and vwaps, zero
// volumes.
func stream(rng *rand.Rand, n int, lateness int) []bar.Raw {
	syms := []string{"AAPL", "BRK.B", "JPM", "QUIET"}
	t := time.Date(2024, 10, 30, 13, 27, 0, 0, time.UTC).Add(time.Duration(rng.IntN(600)) * time.Minute)
	seen := map[string][]time.Time{}
	var out []bar.Raw
	for len(out) < n {
		switch r := rng.Float64(); {
		case r < 0.08:
			t = t.Add(time.Duration(2+rng.IntN(40)) * time.Minute) // nobody trades for a while
		case r < 0.1:
			t = t.Add(time.Duration(rng.IntN(5)) * time.Second) // a sub-minute stamp
		default:
			t = t.Add(time.Minute)
		}
		for _, sym := range syms {
			if (sym == "QUIET" && rng.IntN(90) != 0) || rng.IntN(5) == 0 {
				continue
			}
			out = append(out, randomBar(rng, sym, t))
			seen[sym] = append(seen[sym], t)
		}
		if lateness > 0 && rng.IntN(4) == 0 {
			sym := syms[rng.IntN(3)]
			back := t.Add(-time.Duration(1+rng.IntN(lateness)) * time.Minute)
			if ts := seen[sym]; len(ts) > 0 && rng.IntN(2) == 0 {
				back = ts[len(ts)-1-rng.IntN(min(len(ts), 3))] // a correction of a recent bar
			}
			if !back.After(t) {
				out = append(out, randomBar(rng, sym, back))
			}
		}
		if rng.IntN(30) == 0 && len(out) > 0 {
			out = append(out, out[len(out)-1-rng.IntN(min(len(out), 10))]) // a repeat of a recent record
		}
	}
	return out[:n]
}

func randomBar(rng *rand.Rand, sym string, t time.Time) bar.Raw {
	base := 50 + 400*rng.Float64()
	o, c := base*(1+0.01*rng.NormFloat64()), base*(1+0.01*rng.NormFloat64())
	hi, lo := max(o, c)*(1+0.002*rng.Float64()), min(o, c)*(1-0.002*rng.Float64())
	b := bar.Raw{Symbol: sym, Open: round(o), High: round(hi), Low: round(lo), Close: round(c), Time: t}
	b.High, b.Low = max(b.High, b.Open, b.Close), min(b.Low, b.Open, b.Close)
	if rng.IntN(15) != 0 {
		b.Volume = float64(1 + rng.IntN(300000))
	}
	if rng.IntN(3) != 0 {
		b.TradeCount, b.HasTradeCount = float64(rng.IntN(5000)), true
	}
	if rng.IntN(3) != 0 {
		b.VWAP, b.HasVWAP = round(b.Low+(b.High-b.Low)*rng.Float64()), true
	}
	return b
}

func round(f float64) float64 { return math.Round(f*10000) / 10000 }

// key names a candle: symbol|interval|start.
type key struct {
	sym, iv string
	start   time.Time
}

func keyOf(c *candles.Candle) key { return key{c.Symbol, c.Interval, c.Start} }

// groups holds bars by candle, written apart from the package: every bar is put in each of its groups
// (symbol, interval, start) by integer division of its minute count; a later bar with the same symbol and time
// replaces the earlier one.
type groups map[key]map[time.Time]bar.Raw

var intervalMinutes = map[string]int64{"5m": 5, "15m": 15, "1h": 60}

func (g groups) add(b bar.Raw, intervals []string) {
	for _, iv := range intervals {
		m := b.Time.Unix() / 60
		k := key{b.Symbol, iv, time.Unix(m/intervalMinutes[iv]*intervalMinutes[iv]*60, 0).UTC()}
		if g[k] == nil {
			g[k] = map[time.Time]bar.Raw{}
		}
		g[k][b.Time] = b
	}
}

// reduce sorts a group's bars by time and folds them into the candle.
func (g groups) reduce(k key) candles.Candle {
	list := make([]bar.Raw, 0, len(g[k]))
	for _, b := range g[k] {
		list = append(list, b)
	}
	if len(list) == 0 {
		return candles.Candle{}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Time.Before(list[j].Time) })
	c := candles.Candle{Symbol: k.sym, Interval: k.iv, Start: k.start, Bars: len(list), Final: true,
		Open: list[0].Open, Close: list[len(list)-1].Close, High: math.Inf(-1), Low: math.Inf(1)}
	var pv float64
	for _, b := range list {
		c.High, c.Low = math.Max(c.High, b.High), math.Min(c.Low, b.Low)
		c.Volume += b.Volume
		if b.HasTradeCount {
			c.HasTradeCount = true
			c.TradeCount += b.TradeCount
		}
		price := b.Close
		if b.HasVWAP {
			price = b.VWAP
		}
		pv += price * b.Volume
	}
	if c.Volume != 0 {
		c.HasVWAP, c.VWAP = true, pv/c.Volume
	}
	return c
}

// independent aggregates all bars after the fact: every candle of every interval.
func independent(bars []bar.Raw, intervals []string) map[key]candles.Candle {
	g := groups{}
	for _, b := range bars {
		g.add(b, intervals)
	}
	out := make(map[key]candles.Candle, len(g))
	for k := range g {
		out[k] = g.reduce(k)
	}
	return out
}

// sameCandle reports whether got matches want: counts and flags exactly, values to 1e-9 (relative).
func sameCandle(t *testing.T, where string, got, want candles.Candle) bool {
	t.Helper()
	ok := got.Symbol == want.Symbol && got.Interval == want.Interval && got.Start.Equal(want.Start) &&
		got.Bars == want.Bars && got.Final == want.Final && got.HasVWAP == want.HasVWAP &&
		got.HasTradeCount == want.HasTradeCount && got.TradeCount == want.TradeCount
	for _, f := range [][2]float64{{got.Open, want.Open}, {got.High, want.High}, {got.Low, want.Low},
		{got.Close, want.Close}, {got.Volume, want.Volume}, {got.VWAP, want.VWAP}} {
		if math.Abs(f[0]-f[1]) > 1e-9*math.Max(1, math.Abs(f[1])) {
			ok = false
		}
	}
	if !ok {
		t.Errorf("%s:\n got %+v\nwant %+v", where, got, want)
	}
	return ok
}
