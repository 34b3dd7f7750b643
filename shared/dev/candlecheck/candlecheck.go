// Package candlecheck is an aggregation of minute bars into candles written apart from shared/candles, for tests
// to check it against: bars are grouped by (symbol, interval, start) after the fact and each group reduced.
package candlecheck

import (
	"math"
	"sort"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

// Key names a candle: symbol, interval ("5m", "15m", "1h") and start.
type Key struct {
	Symbol, Interval string
	Start            time.Time
}

// KeyOf is c's key.
func KeyOf(c *candles.Candle) Key { return Key{c.Symbol, c.Interval, c.Start} }

var intervalMinutes = map[string]int64{"5m": 5, "15m": 15, "1h": 60}

// Groups holds bars by candle; a later bar with the same symbol and time replaces the earlier one.
type Groups map[Key]map[time.Time]bar.Raw

// Add puts b in each of its groups, found by integer division of its minute count since 1970.
func (g Groups) Add(b bar.Raw, intervals []string) {
	for _, iv := range intervals {
		m := b.Time.Unix() / 60
		k := Key{b.Symbol, iv, time.Unix(m/intervalMinutes[iv]*intervalMinutes[iv]*60, 0).UTC()}
		if g[k] == nil {
			g[k] = map[time.Time]bar.Raw{}
		}
		g[k][b.Time] = b
	}
}

// Reduce sorts a group's bars by time and folds them into its candle (Final true); the zero Candle when the group
// is empty.
func (g Groups) Reduce(k Key) candles.Candle {
	list := make([]bar.Raw, 0, len(g[k]))
	for _, b := range g[k] {
		list = append(list, b)
	}
	if len(list) == 0 {
		return candles.Candle{}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Time.Before(list[j].Time) })
	c := candles.Candle{Symbol: k.Symbol, Interval: k.Interval, Start: k.Start, Bars: len(list), Final: true,
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

// Aggregate is every candle of every interval of bars.
func Aggregate(bars []bar.Raw, intervals []string) map[Key]candles.Candle {
	g := Groups{}
	for _, b := range bars {
		g.Add(b, intervals)
	}
	out := make(map[Key]candles.Candle, len(g))
	for k := range g {
		out[k] = g.Reduce(k)
	}
	return out
}

// Diff describes how got differs from want (counts and flags exactly, values to 1e-9 relative), or is "".
func Diff(got, want candles.Candle) string {
	ok := got.Symbol == want.Symbol && got.Interval == want.Interval && got.Start.Equal(want.Start) &&
		got.Bars == want.Bars && got.Final == want.Final && got.HasVWAP == want.HasVWAP &&
		got.HasTradeCount == want.HasTradeCount && got.TradeCount == want.TradeCount
	for _, f := range [][2]float64{{got.Open, want.Open}, {got.High, want.High}, {got.Low, want.Low},
		{got.Close, want.Close}, {got.Volume, want.Volume}, {got.VWAP, want.VWAP}} {
		if math.Abs(f[0]-f[1]) > 1e-9*math.Max(1, math.Abs(f[1])) {
			ok = false
		}
	}
	if ok {
		return ""
	}
	return "\n got " + format(got) + "\nwant " + format(want)
}

func format(c candles.Candle) string { return string(candles.AppendCandle(nil, &c)) }
