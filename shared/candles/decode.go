package candles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// ErrRecord is wrapped by every DecodeCandle error: the bytes are not a candle record.
var ErrRecord = errors.New("invalid candle")

// record is the candles topic's JSON with every key required (pointers tell a missing key from a zero).
type record struct {
	Symbol     *string  `json:"symbol"`
	Interval   *string  `json:"interval"`
	Start      *string  `json:"start"`
	Open       *float64 `json:"open"`
	High       *float64 `json:"high"`
	Low        *float64 `json:"low"`
	Close      *float64 `json:"close"`
	Volume     *float64 `json:"volume"`
	TradeCount *float64 `json:"trade_count"`
	VWAP       *float64 `json:"vwap"`
	Bars       *int     `json:"bars"`
	Final      *bool    `json:"final"`
}

// DecodeCandle parses and validates one candles-topic record as AppendCandle writes it (docs/schemas/
// candle.schema.json): every key present (trade_count and vwap may be null), a valid symbol, a supported interval,
// a start aligned to it, prices within bar.ValidatePrice's bounds with low <= open, close <= high, a volume that
// is not negative, and at least one bar (at most one a minute). Unknown keys are refused, as the schema does.
func DecodeCandle(data []byte) (Candle, error) { return decodeCandle(data, true) }

// DecodeCandleCompatible is DecodeCandle as a reader of the topic needs it: keys it does not know are ignored,
// since a version may add fields at the end of the record (docs/feed.md, Versioning); everything else is checked
// the same.
func DecodeCandleCompatible(data []byte) (Candle, error) { return decodeCandle(data, false) }

func decodeCandle(data []byte, strict bool) (Candle, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&r); err != nil {
		return Candle{}, fmt.Errorf("%w: not a candle record: %w", ErrRecord, err)
	}
	if dec.More() {
		return Candle{}, fmt.Errorf("%w: data after the JSON object", ErrRecord)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...).Error()) }
	var missing []string
	for _, f := range []struct {
		name string
		nil  bool
	}{{"symbol", r.Symbol == nil}, {"interval", r.Interval == nil}, {"start", r.Start == nil}, {"open", r.Open == nil},
		{"high", r.High == nil}, {"low", r.Low == nil}, {"close", r.Close == nil}, {"volume", r.Volume == nil},
		{"bars", r.Bars == nil}, {"final", r.Final == nil}} {
		if f.nil {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Candle{}, fmt.Errorf("%w: missing or null: %v", ErrRecord, missing)
	}
	c := Candle{Symbol: *r.Symbol, Interval: *r.Interval, Open: *r.Open, High: *r.High, Low: *r.Low, Close: *r.Close,
		Volume: *r.Volume, Bars: *r.Bars, Final: *r.Final}
	if err := bar.ValidateSymbol(c.Symbol); err != nil {
		bad("%w", err)
	}
	iv, err := ParseInterval(c.Interval)
	if err != nil {
		bad("interval: %w", err)
	}
	start, err := time.Parse(bar.TimestampLayout, *r.Start)
	switch {
	case err != nil:
		bad("start: %q is not YYYY-MM-DD HH:MM:SS", *r.Start)
	case iv != 0 && start.Unix()%iv.seconds() != 0:
		bad("start: %s is not aligned to %s", *r.Start, c.Interval)
	}
	c.Start = start.UTC()
	for _, p := range []struct {
		name string
		v    float64
	}{{"open", c.Open}, {"high", c.High}, {"low", c.Low}, {"close", c.Close}} {
		if err := bar.ValidatePrice(p.name, p.v); err != nil {
			bad("%w", err)
		}
	}
	if c.High < c.Low || c.Open < c.Low || c.Open > c.High || c.Close < c.Low || c.Close > c.High {
		bad("open %v, high %v, low %v, close %v: not low <= open, close <= high", c.Open, c.High, c.Low, c.Close)
	}
	if math.IsNaN(c.Volume) || math.IsInf(c.Volume, 0) || c.Volume < 0 {
		bad("volume: %v is not a number of shares", c.Volume)
	}
	if r.TradeCount != nil {
		if *r.TradeCount < 0 || *r.TradeCount != math.Trunc(*r.TradeCount) {
			bad("trade_count: %v is not a whole number of trades", *r.TradeCount)
		}
		c.TradeCount, c.HasTradeCount = *r.TradeCount, true
	}
	if r.VWAP != nil {
		if err := bar.ValidatePrice("vwap", *r.VWAP); err != nil {
			bad("%w", err)
		}
		c.VWAP, c.HasVWAP = *r.VWAP, true
	}
	if iv != 0 && (c.Bars < 1 || c.Bars > int(iv.Duration()/time.Minute)) {
		bad("bars: %d is not between 1 and the %d minutes of a %s candle", c.Bars, int(iv.Duration()/time.Minute), c.Interval)
	}
	if len(errs) > 0 {
		return Candle{}, fmt.Errorf("%w: %s", ErrRecord, strings.Join(errs, "; "))
	}
	return c, nil
}
