package jsonbench

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/finfeed/finfeed/shared/bar"
)

// Codec decodes raw-topic records and encodes enhanced-topic records. A Codec may keep buffers between calls:
// one goroutine at a time.
type Codec interface {
	// Name is the short name benchmarks and reports use.
	Name() string
	// DecodeRaw is bar.DecodeRaw's contract: a rejected record is an error wrapping bar.ErrInvalid.
	DecodeRaw(data []byte) (bar.Raw, error)
	// AppendEnriched is bar.AppendEnriched's contract: the same bytes for the same record.
	AppendEnriched(b []byte, e *bar.Enriched) ([]byte, error)
}

// Codecs returns the product's codec first, then one strict wrapper per library.
func Codecs() []Codec {
	return []Codec{Bar{}, NewJSONv2(), NewGoccy(), NewSonic(), NewJSONv1()}
}

// Bar is the product's codec, shared/bar's scanner and encoder.
type Bar struct{}

// Name implements Codec.
func (Bar) Name() string { return "bar" }

// DecodeRaw implements Codec.
func (Bar) DecodeRaw(data []byte) (bar.Raw, error) { return bar.DecodeRaw(data) }

// AppendEnriched implements Codec.
func (Bar) AppendEnriched(b []byte, e *bar.Enriched) ([]byte, error) {
	return bar.AppendEnriched(b, e), nil
}

// rawWire is the raw bar as a struct for reflection-based decoders. Required numbers start as NaN, which no JSON
// text decodes to, so one still NaN afterwards was missing or null (without a pointer, and so an allocation, per
// field); the optional ones are pointers, nil when missing or null.
type rawWire struct {
	Open       float64  `json:"open"`
	High       float64  `json:"high"`
	Low        float64  `json:"low"`
	Close      float64  `json:"close"`
	Volume     float64  `json:"volume"`
	TradeCount *float64 `json:"trade_count"`
	VWAP       *float64 `json:"vwap"`
	Timestamp  string   `json:"timestamp"`
	Symbol     string   `json:"symbol"`
}

func newRawWire() rawWire {
	nan := math.NaN()
	return rawWire{Open: nan, High: nan, Low: nan, Close: nan, Volume: nan}
}

// finish applies what bar.DecodeRaw checks after reading the object: every required field present (in bar's
// order), the timestamp's format, then bar's own Validate.
func (w *rawWire) finish() (bar.Raw, error) {
	for _, f := range [...]struct {
		name    string
		missing bool
	}{{"symbol", w.Symbol == ""}, {"open", math.IsNaN(w.Open)}, {"high", math.IsNaN(w.High)}, {"low", math.IsNaN(w.Low)},
		{"close", math.IsNaN(w.Close)}, {"volume", math.IsNaN(w.Volume)}, {"timestamp", w.Timestamp == ""}} {
		if f.missing {
			return bar.Raw{}, invalid("%s: missing", f.name)
		}
	}
	t, err := bar.ParseTimestamp([]byte(w.Timestamp))
	if err != nil {
		return bar.Raw{}, invalid("timestamp: %v", err)
	}
	r := bar.Raw{Symbol: w.Symbol, Open: w.Open, High: w.High, Low: w.Low, Close: w.Close, Volume: w.Volume, Time: t}
	if w.TradeCount != nil {
		r.TradeCount, r.HasTradeCount = *w.TradeCount, true
	}
	if w.VWAP != nil {
		r.VWAP, r.HasVWAP = *w.VWAP, true
	}
	if err := r.Validate(); err != nil {
		return bar.Raw{}, err
	}
	return r, nil
}

func invalid(format string, args ...any) error {
	return &bar.InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// fieldReason is the field-level reason for a value of the wrong JSON type in the named field (as a library's
// error names it), or for a document that is not an object when the field is empty.
func fieldReason(field string, cause error) error {
	field = strings.TrimPrefix(field, "/")
	switch field {
	case "":
		return invalid("not a JSON object: %v", cause)
	case "symbol", "timestamp":
		return invalid("%s: not a string", field)
	case "open", "high", "low", "close", "volume", "trade_count", "vwap":
		return invalid("%s: not a number", field)
	}
	return invalid("malformed JSON: %v", cause)
}

// syntaxReason is the reason for malformed JSON text inside the named field's value (NaN, Infinity, a bad
// string), when a library's error names the field.
func syntaxReason(field string, cause error) error {
	switch field = strings.TrimPrefix(field, "/"); field {
	case "symbol", "timestamp", "open", "high", "low", "close", "volume", "trade_count", "vwap":
		return invalid("%s: malformed JSON value: %v", field, cause)
	}
	return invalid("malformed JSON: %v", cause)
}

// enrichedWire is the enhanced record as a struct for reflection-based encoders, fields in the published order.
type enrichedWire struct {
	Symbol      string   `json:"symbol"`
	Close       float64  `json:"close"`
	Open        float64  `json:"open"`
	Low         float64  `json:"low"`
	High        float64  `json:"high"`
	Volume      float64  `json:"volume"`
	Timestamp   string   `json:"timestamp"`
	Change      *float64 `json:"%change"`
	Indicator   string   `json:"indicator"`
	PrevClose   *float64 `json:"prevClose"`
	TradingDate string   `json:"tradingDate"`
	// the technical indicators (bar.Indicators), null when absent
	SMA20         *float64 `json:"sma20"`
	SMA50         *float64 `json:"sma50"`
	EMA12         *float64 `json:"ema12"`
	EMA26         *float64 `json:"ema26"`
	RSI14         *float64 `json:"rsi14"`
	VWAPSession   *float64 `json:"vwapSession"`
	VolumeAlert   bool     `json:"volumeAlert"`
	MACross       *string  `json:"maCross"`
	OutOfSequence bool     `json:"outOfSequence"`
}

// timestampOutLayout is bar's output layout for bar start times (sub-seconds only when a bar has any).
const timestampOutLayout = "2006-01-02 15:04:05.999999999"

func toWire(e *bar.Enriched) enrichedWire {
	w := enrichedWire{Symbol: e.Symbol, Close: e.Close, Open: e.Open, Low: e.Low, High: e.High, Volume: e.Volume,
		Timestamp: e.Time.UTC().Format(timestampOutLayout), Indicator: string(bar.Unknown), TradingDate: e.TradingDate.String()}
	if e.HasPrev {
		w.Change, w.PrevClose, w.Indicator = &e.Change, &e.PrevClose, string(e.Indicator)
	}
	opt := func(v *float64, has bool) *float64 {
		if has {
			return v
		}
		return nil
	}
	in := &e.Indicators
	w.SMA20, w.SMA50 = opt(&in.SMA20, in.HasSMA20), opt(&in.SMA50, in.HasSMA50)
	w.EMA12, w.EMA26 = opt(&in.EMA12, in.HasEMA12), opt(&in.EMA26, in.HasEMA26)
	w.RSI14, w.VWAPSession = opt(&in.RSI14, in.HasRSI14), opt(&in.VWAPSession, in.HasVWAPSession)
	w.VolumeAlert, w.OutOfSequence = in.VolumeAlert, in.OutOfSequence
	if in.MACross != "" {
		w.MACross = &in.MACross
	}
	return w
}

// errEncode wraps a library's failure to encode a record bar would encode.
var errEncode = errors.New("encode enriched bar")
