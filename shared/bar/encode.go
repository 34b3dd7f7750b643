package bar

import (
	"math"
	"strconv"
)

// AppendEnriched appends e as one JSON object: the reference's nine keys in its order (symbol, close, open, low,
// high, volume, timestamp, %change, indicator), then prevClose and tradingDate, then the indicator fields (sma20,
// sma50, ema12, ema26, rsi14, vwapSession, volumeAlert, maCross, outOfSequence). With no previous close, %change and
// prevClose are null and indicator is Unknown. The bytes are a pure function of e.
func AppendEnriched(b []byte, e *Enriched) []byte {
	b = append(b, `{"symbol":`...)
	b = appendString(b, e.Symbol)
	b = append(b, `,"close":`...)
	b = AppendFloat(b, e.Close)
	b = append(b, `,"open":`...)
	b = AppendFloat(b, e.Open)
	b = append(b, `,"low":`...)
	b = AppendFloat(b, e.Low)
	b = append(b, `,"high":`...)
	b = AppendFloat(b, e.High)
	b = append(b, `,"volume":`...)
	b = AppendFloat(b, e.Volume)
	b = append(b, `,"timestamp":"`...)
	b = e.Time.UTC().AppendFormat(b, timestampOutLayout)
	if e.HasPrev {
		b = append(b, `","%change":`...)
		b = AppendFloat(b, e.Change)
		b = append(b, `,"indicator":"`...)
		b = append(b, e.Indicator...)
		b = append(b, '"')
		if !e.PrevCloseAbsent {
			b = append(b, `,"prevClose":`...)
			b = AppendFloat(b, e.PrevClose)
		}
	} else {
		b = append(b, `","%change":null,"indicator":"`...)
		b = append(b, Unknown...)
		b = append(b, `","prevClose":null`...)
	}
	b = append(b, `,"tradingDate":"`...)
	b = e.TradingDate.AppendFormat(b)
	b = append(b, '"')
	b = appendIndicators(b, &e.Indicators)
	return append(b, '}')
}

// AppendRaw appends r in the raw-topic format, keys in the reference producer's order.
func AppendRaw(b []byte, r *Raw) []byte {
	b = append(b, `{"open":`...)
	b = AppendFloat(b, r.Open)
	b = append(b, `,"high":`...)
	b = AppendFloat(b, r.High)
	b = append(b, `,"low":`...)
	b = AppendFloat(b, r.Low)
	b = append(b, `,"close":`...)
	b = AppendFloat(b, r.Close)
	b = append(b, `,"volume":`...)
	b = AppendFloat(b, r.Volume)
	b = append(b, `,"trade_count":`...)
	if r.HasTradeCount {
		b = AppendFloat(b, r.TradeCount)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"vwap":`...)
	if r.HasVWAP {
		b = AppendFloat(b, r.VWAP)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"timestamp":"`...)
	b = r.Time.UTC().AppendFormat(b, timestampOutLayout)
	b = append(b, `","symbol":`...)
	b = appendString(b, r.Symbol)
	return append(b, '}')
}

// AppendFloat appends f as encoding/json writes a float64 (shortest representation that round-trips; exponent
// form only below 1e-6 or from 1e21). f must be finite.
func AppendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaping quotes, backslashes and control characters.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
