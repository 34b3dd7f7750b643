package bar

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error that means the record itself is bad (and will never succeed on retry).
var ErrInvalid = errors.New("invalid bar")

// InvalidError says why a record was rejected.
type InvalidError struct {
	Reason string
}

func (e *InvalidError) Error() string { return "invalid bar: " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// MaxSymbolLen bounds a symbol; real ones are far shorter.
const MaxSymbolLen = 32

// Bounds on what a real US equity can print, so that a record outside them is rejected with its reason instead of
// reaching customers, and so that every derived number (%change at most (MaxPrice-MinPrice)/MinPrice*100 ≈ 1e13)
// is finite. They are wide on purpose: the highest-priced US share (BRK.A) trades near $700,000, the lowest
// quoted increment below $1 is $0.0001 (Reg NMS rule 612), and the busiest single-day volumes are a few billion
// shares, so a minute bar of 100 billion shares is not a market event but a broken record.
const (
	MinPrice      = 0.0001 // the sub-penny tick: no US equity prints below it
	MaxPrice      = 10_000_000
	MaxVolume     = 100_000_000_000
	MaxTradeCount = 1_000_000_000
)

// ValidatePrice checks that v is a price a US equity can print: finite and within [MinPrice, MaxPrice]. Every
// price of a bar (open, high, low, close, vwap) and every previous close must pass it: no trade prints at $0.
func ValidatePrice(name string, v float64) error {
	return validateRange(name, v, MinPrice, MaxPrice)
}

func validateRange(name string, v, lo, hi float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return invalid("%s: not a finite number", name)
	case v < 0:
		return invalid("%s: negative (%v)", name, v)
	case v < lo:
		return invalid("%s: %v is below %v", name, v, lo)
	case v > hi:
		return invalid("%s: %v is above %v", name, v, hi)
	}
	return nil
}

// field bits, for the raw bar's known keys.
const (
	fSymbol = 1 << iota
	fOpen
	fHigh
	fLow
	fClose
	fVolume
	fTimestamp
)

// DecodeRaw parses and validates one raw-topic record. Every rejection is an *InvalidError naming the field and
// the rule; unknown fields are ignored.
func DecodeRaw(data []byte) (Raw, error) {
	var r Raw
	var seen int
	s := scanner{data: data}
	if err := s.object(func(key []byte) error { return r.setField(&s, key, &seen) }); err != nil {
		return r, err
	}
	if err := r.check(seen); err != nil {
		return r, err
	}
	return r, nil
}

func (r *Raw) setField(s *scanner, key []byte, seen *int) error {
	switch string(key) {
	case "symbol":
		*seen |= fSymbol
		if s.peek() != '"' {
			if err := s.skipValue(); err != nil {
				return invalid("malformed JSON: %v", err)
			}
			return invalid("symbol: not a string")
		}
		v, err := s.readString()
		if err != nil {
			return invalid("malformed JSON: %v", err)
		}
		r.Symbol = internSymbol(v)
		return nil
	case "open":
		*seen |= fOpen
		return s.readNumber("open", &r.Open, nil)
	case "high":
		*seen |= fHigh
		return s.readNumber("high", &r.High, nil)
	case "low":
		*seen |= fLow
		return s.readNumber("low", &r.Low, nil)
	case "close":
		*seen |= fClose
		return s.readNumber("close", &r.Close, nil)
	case "volume":
		*seen |= fVolume
		return s.readNumber("volume", &r.Volume, nil)
	case "trade_count":
		return s.readNumber("trade_count", &r.TradeCount, &r.HasTradeCount)
	case "vwap":
		return s.readNumber("vwap", &r.VWAP, &r.HasVWAP)
	case "timestamp":
		*seen |= fTimestamp
		if s.peek() != '"' {
			if err := s.skipValue(); err != nil {
				return invalid("malformed JSON: %v", err)
			}
			return invalid("timestamp: not a string")
		}
		v, err := s.readString()
		if err != nil {
			return invalid("malformed JSON: %v", err)
		}
		t, err := ParseTimestamp(v)
		if err != nil {
			return invalid("timestamp: %v", err)
		}
		r.Time = t
		return nil
	default:
		if err := s.skipValue(); err != nil {
			return invalid("malformed JSON: %v", err)
		}
		return nil
	}
}

// check applies the rules that need the whole record.
func (r *Raw) check(seen int) error {
	for _, f := range [...]struct {
		bit  int
		name string
	}{{fSymbol, "symbol"}, {fOpen, "open"}, {fHigh, "high"}, {fLow, "low"}, {fClose, "close"}, {fVolume, "volume"}, {fTimestamp, "timestamp"}} {
		if seen&f.bit == 0 {
			return invalid("%s: missing", f.name)
		}
	}
	return r.Validate()
}

// Validate checks a Raw built in code against the same rules DecodeRaw applies.
func (r *Raw) Validate() error {
	if err := ValidateSymbol(r.Symbol); err != nil {
		return err
	}
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"open", r.Open}, {"high", r.High}, {"low", r.Low}, {"close", r.Close}} {
		if err := ValidatePrice(f.name, f.v); err != nil {
			return err
		}
	}
	if err := validateRange("volume", r.Volume, 0, MaxVolume); err != nil {
		return err
	}
	if r.High < r.Low {
		return invalid("high %v is below low %v", r.High, r.Low)
	}
	if r.HasTradeCount {
		if err := validateRange("trade_count", r.TradeCount, 0, MaxTradeCount); err != nil {
			return err
		}
		if r.TradeCount != math.Trunc(r.TradeCount) {
			return invalid("trade_count: not a whole number (got %v)", r.TradeCount)
		}
	}
	if r.HasVWAP {
		if err := ValidatePrice("vwap", r.VWAP); err != nil {
			return err
		}
	}
	if r.Time.IsZero() {
		return invalid("timestamp: missing")
	}
	if y := r.Time.Year(); y < minYear || y > maxYear {
		return invalid("timestamp: year %d is outside %d-%d", y, minYear, maxYear)
	}
	return nil
}

// The years a bar may start in: wide enough for any market history, narrow enough that every trading date
// prints as YYYY-MM-DD.
const (
	minYear = 1900
	maxYear = 9998
)

// ValidateSymbol accepts 1 to MaxSymbolLen printable ASCII characters other than space, quote and backslash
// (AMZN, BRK.B, BTC/USD), so a symbol is always safe as a Kafka key, an index name part and a log field.
func ValidateSymbol(sym string) error {
	if sym == "" {
		return invalid("symbol: missing or empty")
	}
	if len(sym) > MaxSymbolLen {
		return invalid("symbol: longer than %d characters", MaxSymbolLen)
	}
	for i := 0; i < len(sym); i++ {
		c := sym[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return invalid("symbol: %q has a character that is not printable ASCII", sym)
		}
	}
	return nil
}

// ParseTimestamp accepts a bar start time as `YYYY-MM-DD HH:MM:SS` (UTC, optionally with a fraction) or RFC 3339,
// and returns it in UTC.
func ParseTimestamp(b []byte) (time.Time, error) {
	if len(b) >= 19 && b[10] == ' ' {
		t, err := time.Parse("2006-01-02 15:04:05.999999999", string(b))
		if err == nil {
			return t, nil
		}
	} else if t, err := time.Parse(time.RFC3339Nano, string(b)); err == nil {
		return t.UTC(), nil
	}
	if !utf8.Valid(b) || len(b) > 64 {
		return time.Time{}, errors.New("not a time: want YYYY-MM-DD HH:MM:SS (UTC) or RFC 3339")
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want YYYY-MM-DD HH:MM:SS (UTC) or RFC 3339", b)
}

// object reads one JSON object that must fill the whole input, handing each key to field, which must consume
// the key's value.
func (s *scanner) object(field func(key []byte) error) error {
	s.skipSpace()
	if !s.consume('{') {
		return invalid("not a JSON object")
	}
	s.skipSpace()
	if !s.consume('}') {
		for {
			s.skipSpace()
			key, err := s.readString()
			if err != nil {
				return invalid("malformed JSON: %v", err)
			}
			s.skipSpace()
			if !s.consume(':') {
				return invalid("malformed JSON: expected ':' at offset %d", s.pos)
			}
			s.skipSpace()
			if err := field(key); err != nil {
				return err
			}
			s.skipSpace()
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return invalid("malformed JSON: expected ',' or '}' at offset %d", s.pos)
		}
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return invalid("malformed JSON: trailing data at offset %d", s.pos)
	}
	return nil
}

// readNumber reads a JSON number into *dst. For optional fields (has != nil) null is accepted and leaves *has
// false.
func (s *scanner) readNumber(name string, dst *float64, has *bool) error {
	c := s.peek()
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
	case c == 'n' && has != nil:
		if err := s.literal("null"); err != nil {
			return invalid("malformed JSON: %v", err)
		}
		*has = false
		return nil
	case c == 'N' || c == 'I':
		return invalid("%s: not a finite number", name)
	default:
		if err := s.skipValue(); err != nil {
			return invalid("malformed JSON: %v", err)
		}
		if c == 'n' {
			return invalid("%s: missing (null)", name)
		}
		return invalid("%s: not a number", name)
	}
	start := s.pos
	if err := s.skipNumber(); err != nil {
		if c == '-' && s.pos < len(s.data) && s.data[s.pos] == 'I' {
			return invalid("%s: not a finite number", name)
		}
		return invalid("malformed JSON: %v", err)
	}
	f, err := strconv.ParseFloat(string(s.data[start:s.pos]), 64)
	if err != nil || math.IsInf(f, 0) {
		return invalid("%s: not a finite number", name)
	}
	*dst = f
	if has != nil {
		*has = true
	}
	return nil
}
