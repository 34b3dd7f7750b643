// Package chart is the live chart of `feed local`: it reads the enriched feed (and the candles, when they are
// published) as a customer does, keeps a bounded history per symbol and interval, and serves one page with its
// JSON endpoints and Server-Sent Events.
package chart

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Minute is the interval of the enriched bars; candles bring the others ("5m", "15m", "1h").
const Minute = "1m"

// Bar is one bar of a chart as the page gets it: the record's values, with the indicator fields present only
// when the record carried them (a feed without indicators still charts).
type Bar struct {
	Time   time.Time `json:"-"`
	T      string    `json:"t"`
	Open   float64   `json:"open"`
	High   float64   `json:"high"`
	Low    float64   `json:"low"`
	Close  float64   `json:"close"`
	Volume float64   `json:"volume"`

	// of enriched bars
	Change        *float64 `json:"change,omitempty"`
	Indicator     string   `json:"indicator,omitempty"`
	PrevClose     *float64 `json:"prevClose,omitempty"`
	SMA20         *float64 `json:"sma20,omitempty"`
	SMA50         *float64 `json:"sma50,omitempty"`
	EMA12         *float64 `json:"ema12,omitempty"`
	EMA26         *float64 `json:"ema26,omitempty"`
	RSI14         *float64 `json:"rsi14,omitempty"`
	VWAPSession   *float64 `json:"vwapSession,omitempty"`
	VolumeAlert   bool     `json:"volumeAlert,omitempty"`
	MACross       string   `json:"maCross,omitempty"`
	OutOfSequence bool     `json:"outOfSequence,omitempty"`

	// of candles
	VWAP  *float64 `json:"vwap,omitempty"`
	Bars  int      `json:"bars,omitempty"`
	Final *bool    `json:"final,omitempty"`
}

// enrichedRecord is a record of the enriched topic; pointers tell a missing or null field from a zero.
type enrichedRecord struct {
	Symbol        string   `json:"symbol"`
	Open          *float64 `json:"open"`
	High          *float64 `json:"high"`
	Low           *float64 `json:"low"`
	Close         *float64 `json:"close"`
	Volume        *float64 `json:"volume"`
	Timestamp     string   `json:"timestamp"`
	Change        *float64 `json:"%change"`
	Indicator     string   `json:"indicator"`
	PrevClose     *float64 `json:"prevClose"`
	SMA20         *float64 `json:"sma20"`
	SMA50         *float64 `json:"sma50"`
	EMA12         *float64 `json:"ema12"`
	EMA26         *float64 `json:"ema26"`
	RSI14         *float64 `json:"rsi14"`
	VWAPSession   *float64 `json:"vwapSession"`
	VolumeAlert   *bool    `json:"volumeAlert"`
	MACross       *string  `json:"maCross"`
	OutOfSequence *bool    `json:"outOfSequence"`
}

// candleRecord is a record of the candles topic.
type candleRecord struct {
	Symbol   string   `json:"symbol"`
	Interval string   `json:"interval"`
	Start    string   `json:"start"`
	Open     *float64 `json:"open"`
	High     *float64 `json:"high"`
	Low      *float64 `json:"low"`
	Close    *float64 `json:"close"`
	Volume   *float64 `json:"volume"`
	VWAP     *float64 `json:"vwap"`
	Bars     int      `json:"bars"`
	Final    *bool    `json:"final"`
}

// ErrMalformed marks a record the chart cannot use; it is skipped and counted.
var ErrMalformed = errors.New("malformed record")

// decodeEnriched reads an enriched bar: its symbol and its chart bar.
func decodeEnriched(value []byte) (string, Bar, error) {
	var r enrichedRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return "", Bar{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	b, err := ohlc(r.Symbol, r.Timestamp, "timestamp", r.Open, r.High, r.Low, r.Close, r.Volume)
	if err != nil {
		return "", Bar{}, err
	}
	b.Change, b.PrevClose = finite(r.Change), finite(r.PrevClose)
	b.Indicator = r.Indicator
	b.SMA20, b.SMA50, b.EMA12, b.EMA26 = finite(r.SMA20), finite(r.SMA50), finite(r.EMA12), finite(r.EMA26)
	b.RSI14, b.VWAPSession = finite(r.RSI14), finite(r.VWAPSession)
	b.VolumeAlert = r.VolumeAlert != nil && *r.VolumeAlert
	b.OutOfSequence = r.OutOfSequence != nil && *r.OutOfSequence
	if r.MACross != nil {
		switch *r.MACross {
		case "bullish", "bearish":
			b.MACross = *r.MACross
		default:
			return "", Bar{}, fmt.Errorf("%w: maCross %q: want bullish, bearish or null", ErrMalformed, *r.MACross)
		}
	}
	return r.Symbol, b, nil
}

// decodeCandle reads a candle: its symbol, interval and chart bar.
func decodeCandle(value []byte) (string, string, Bar, error) {
	var r candleRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return "", "", Bar{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if r.Interval == "" || r.Interval == Minute || len(r.Interval) > 8 {
		return "", "", Bar{}, fmt.Errorf("%w: interval %q", ErrMalformed, r.Interval)
	}
	b, err := ohlc(r.Symbol, r.Start, "start", r.Open, r.High, r.Low, r.Close, r.Volume)
	if err != nil {
		return "", "", Bar{}, err
	}
	b.VWAP, b.Bars, b.Final = finite(r.VWAP), r.Bars, r.Final
	return r.Symbol, r.Interval, b, nil
}

// ohlc checks what every chart bar needs: a symbol, a time, finite prices and volume that are not negative, a
// close above 0 (the raw bar's rules, which every enriched bar and candle passed), high not below low.
func ohlc(symbol, at, atName string, o, h, l, c, v *float64) (Bar, error) {
	if err := bar.ValidateSymbol(symbol); err != nil {
		return Bar{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	t, err := bar.ParseTimestamp([]byte(at))
	if err != nil {
		return Bar{}, fmt.Errorf("%w: %s: %w", ErrMalformed, atName, err)
	}
	b := Bar{Time: t, T: t.Format(bar.TimestampLayout)}
	for _, f := range []struct {
		name string
		src  *float64
		dst  *float64
	}{{"open", o, &b.Open}, {"high", h, &b.High}, {"low", l, &b.Low}, {"close", c, &b.Close}, {"volume", v, &b.Volume}} {
		if f.src == nil || math.IsNaN(*f.src) || math.IsInf(*f.src, 0) {
			return Bar{}, fmt.Errorf("%w: %s missing or not a number", ErrMalformed, f.name)
		}
		*f.dst = *f.src
	}
	switch {
	case b.Open < 0 || b.High < 0 || b.Low < 0 || b.Volume < 0:
		return Bar{}, fmt.Errorf("%w: a negative price or volume", ErrMalformed)
	case b.Close <= 0:
		return Bar{}, fmt.Errorf("%w: close %v is not above 0", ErrMalformed, b.Close)
	case b.High < b.Low:
		return Bar{}, fmt.Errorf("%w: high %v below low %v", ErrMalformed, b.High, b.Low)
	}
	return b, nil
}

// finite is p, or nil when p is nil or not finite (JSON has no NaN, but a value must never break the page).
func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

// merge is a newer record n for the same bar as o: n wins, and an indicator n does not carry (a late bar's
// nulls) keeps o's.
func merge(o, n Bar) Bar {
	keep := func(nv, ov *float64) *float64 {
		if nv != nil {
			return nv
		}
		return ov
	}
	n.SMA20, n.SMA50 = keep(n.SMA20, o.SMA20), keep(n.SMA50, o.SMA50)
	n.EMA12, n.EMA26 = keep(n.EMA12, o.EMA12), keep(n.EMA26, o.EMA26)
	n.RSI14, n.VWAPSession = keep(n.RSI14, o.RSI14), keep(n.VWAPSession, o.VWAPSession)
	if n.OutOfSequence {
		n.VolumeAlert = n.VolumeAlert || o.VolumeAlert
		if n.MACross == "" {
			n.MACross = o.MACross
		}
	}
	return n
}
