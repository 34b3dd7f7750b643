package candles

import (
	"strconv"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Candle is one symbol's aggregate over one interval: the record of the candles topic.
type Candle struct {
	Symbol   string
	Interval string    // "5m", "15m" or "1h"
	Start    time.Time // UTC, aligned to the interval
	// Open is the first bar's open, Close the last bar's close (by bar time), High and Low the extremes.
	Open, High, Low, Close float64
	// Volume is the sum of the bars' volumes.
	Volume float64
	// TradeCount is the sum over the bars that carry a trade count; HasTradeCount is false when none does.
	TradeCount    float64
	HasTradeCount bool
	// VWAP is Σ(vwap·volume)/Σvolume, a bar without vwap counting with its close; HasVWAP is false when the
	// volume is 0.
	VWAP    float64
	HasVWAP bool
	// Bars is the number of minute bars in the candle.
	Bars int
	// Final is true once the partition watermark passed the interval's end by the grace period.
	Final bool
}

// Key is the candle's identity for deduplication and indexing: SYMBOL|interval|start.
func (c *Candle) Key() string {
	return c.Symbol + "|" + c.Interval + "|" + c.Start.UTC().Format(bar.TimestampLayout)
}

// minute is a minute bar as candles keep it.
type minute struct {
	t                      time.Time
	open, high, low, close float64
	volume                 float64
	tradeCount             float64
	vwap                   float64
	hasTradeCount, hasVWAP bool
}

func minuteOf(b *bar.Raw) minute {
	return minute{
		t: b.Time.UTC(), open: b.Open, high: b.High, low: b.Low, close: b.Close, volume: b.Volume,
		tradeCount: b.TradeCount, hasTradeCount: b.HasTradeCount, vwap: b.VWAP, hasVWAP: b.HasVWAP,
	}
}

// aggregate folds bars (in time order, all inside one interval) into a candle. Sums run in time order, so the
// result is a pure function of the set of bars.
func aggregate(sym string, iv Interval, start time.Time, bars []minute, final bool) Candle {
	c := Candle{Symbol: sym, Interval: iv.String(), Start: start, Bars: len(bars), Final: final}
	if len(bars) == 0 {
		return c
	}
	c.Open, c.High, c.Low = bars[0].open, bars[0].high, bars[0].low
	var pv float64
	for i := range bars {
		m := &bars[i]
		c.High = max(c.High, m.high)
		c.Low = min(c.Low, m.low)
		c.Volume += m.volume
		if m.hasTradeCount {
			c.TradeCount += m.tradeCount
			c.HasTradeCount = true
		}
		p := m.close
		if m.hasVWAP {
			p = m.vwap
		}
		pv += p * m.volume
	}
	c.Close = bars[len(bars)-1].close
	if c.Volume > 0 {
		c.VWAP, c.HasVWAP = pv/c.Volume, true
	}
	return c
}

// AppendCandle appends c as the candles topic's JSON record: symbol, interval, start, open, high, low, close,
// volume, trade_count, vwap (null when absent), bars, final. c.Symbol must be a valid symbol (bar.ValidateSymbol),
// as every candle a Partition makes is.
func AppendCandle(dst []byte, c *Candle) []byte {
	dst = append(dst, `{"symbol":"`...)
	dst = append(dst, c.Symbol...)
	dst = append(dst, `","interval":"`...)
	dst = append(dst, c.Interval...)
	dst = append(dst, `","start":"`...)
	dst = c.Start.UTC().AppendFormat(dst, bar.TimestampLayout)
	dst = append(dst, `","open":`...)
	dst = bar.AppendFloat(dst, c.Open)
	dst = append(dst, `,"high":`...)
	dst = bar.AppendFloat(dst, c.High)
	dst = append(dst, `,"low":`...)
	dst = bar.AppendFloat(dst, c.Low)
	dst = append(dst, `,"close":`...)
	dst = bar.AppendFloat(dst, c.Close)
	dst = append(dst, `,"volume":`...)
	dst = bar.AppendFloat(dst, c.Volume)
	dst = append(dst, `,"trade_count":`...)
	if c.HasTradeCount {
		dst = bar.AppendFloat(dst, c.TradeCount)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"vwap":`...)
	if c.HasVWAP {
		dst = bar.AppendFloat(dst, c.VWAP)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"bars":`...)
	dst = strconv.AppendInt(dst, int64(c.Bars), 10)
	dst = append(dst, `,"final":`...)
	dst = strconv.AppendBool(dst, c.Final)
	return append(dst, '}')
}
