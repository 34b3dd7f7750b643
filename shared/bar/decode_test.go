package bar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const seedLine = `{"open": 194.58, "high": 194.64, "low": 194.58, "close": 194.64, "volume": 255.0, "trade_count": 9.0, "vwap": 194.61, "timestamp": "2024-07-11 19:49:00", "symbol": "AMZN"}`

func TestDecodeRawValid(t *testing.T) {
	ts := time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want Raw
	}{
		{"reference producer line", seedLine, Raw{Symbol: "AMZN", Open: 194.58, High: 194.64, Low: 194.58, Close: 194.64, Volume: 255,
			TradeCount: 9, HasTradeCount: true, VWAP: 194.61, HasVWAP: true, Time: ts}},
		{"null optionals", `{"open":1,"high":2,"low":1,"close":2,"volume":0,"trade_count":null,"vwap":null,"timestamp":"2024-07-11 19:49:00","symbol":"X"}`,
			Raw{Symbol: "X", Open: 1, High: 2, Low: 1, Close: 2, Time: ts}},
		{"optionals absent, integer volume", `{"symbol":"BRK.B","open":1,"high":2,"low":1,"close":2,"volume":300,"timestamp":"2024-07-11 19:49:00"}`,
			Raw{Symbol: "BRK.B", Open: 1, High: 2, Low: 1, Close: 2, Volume: 300, Time: ts}},
		{"RFC 3339 with offset", `{"symbol":"X","open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11T15:49:00-04:00"}`,
			Raw{Symbol: "X", Open: 1, High: 2, Low: 1, Close: 2, Volume: 1, Time: ts}},
		{"RFC 3339 Z", `{"symbol":"X","open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11T19:49:00Z"}`,
			Raw{Symbol: "X", Open: 1, High: 2, Low: 1, Close: 2, Volume: 1, Time: ts}},
		{"unknown fields of every kind ignored", `{"symbol":"X","x":{"a":[1,{"b":null}],"c":"\u00e9"},"y":[true,false],"open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:49:00","z":-1.5e3}`,
			Raw{Symbol: "X", Open: 1, High: 2, Low: 1, Close: 2, Volume: 1, Time: ts}},
		{"whitespace and escapes", " \t{ \"symbol\" : \"A\\u0042C\" , \"open\":1,\"high\":2,\"low\":1,\"close\":2,\"volume\":1,\"timestamp\":\"2024-07-11 19:49:00\"}\r\n",
			Raw{Symbol: "ABC", Open: 1, High: 2, Low: 1, Close: 2, Volume: 1, Time: ts}},
		{"exponent numbers", `{"symbol":"X","open":1e0,"high":2E+0,"low":0.1e1,"close":20e-1,"volume":0,"timestamp":"2024-07-11 19:49:00"}`,
			Raw{Symbol: "X", Open: 1, High: 2, Low: 1, Close: 2, Time: ts}},
		{"real extremes: BRK.A near $700,000, a billion-share minute, sub-penny close", `{"symbol":"BRK.A","open":0.0001,"high":1e7,"low":0.0001,"close":0.0001,"volume":1e11,"trade_count":1000000000,"vwap":1e7,"timestamp":"2024-07-11 19:49:00"}`,
			Raw{Symbol: "BRK.A", Open: 0.0001, High: 1e7, Low: 0.0001, Close: 0.0001, Volume: 1e11, TradeCount: 1e9, HasTradeCount: true, VWAP: 1e7, HasVWAP: true, Time: ts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRaw([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeRaw: %v", err)
			}
			if !got.Time.Equal(tt.want.Time) || got.Time.Location() != time.UTC {
				t.Errorf("time: got %v, want %v UTC", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRawInvalid(t *testing.T) {
	const ok = `"symbol":"X","open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:49:00"`
	with := func(field, value string) string { // replace one field's value in ok
		parts := strings.Split(ok, ",")
		for i, p := range parts {
			if strings.HasPrefix(p, `"`+field+`":`) {
				parts[i] = `"` + field + `":` + value
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	without := func(field string) string {
		var keep []string
		for _, p := range strings.Split(ok, ",") {
			if !strings.HasPrefix(p, `"`+field+`":`) {
				keep = append(keep, p)
			}
		}
		return "{" + strings.Join(keep, ",") + "}"
	}
	tests := []struct {
		name, in, reason string
	}{
		{"empty input", ``, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"string", `"AMZN"`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"truncated", `{"symbol":"X","open":1`, "malformed JSON"},
		{"trailing garbage", "{" + ok + "}x", "trailing data"},
		{"two objects", "{" + ok + "}{" + ok + "}", "trailing data"},
		{"single quotes", `{'symbol':'X'}`, "malformed JSON"},
		{"bad escape", `{"symbol":"\x"}`, "malformed JSON"},
		{"invalid utf-8 key", "{\"\xff\":1}", "malformed JSON"},
		{"control character", "{\"symbol\":\"A\x01\"}", "malformed JSON"},
		{"deep nesting", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nesting"},
		{"symbol missing", without("symbol"), "symbol: missing"},
		{"symbol empty", with("symbol", `""`), "symbol: missing or empty"},
		{"symbol not a string", with("symbol", `42`), "symbol: not a string"},
		{"symbol with space", with("symbol", `"AM ZN"`), "symbol: "},
		{"symbol too long", with("symbol", `"`+strings.Repeat("A", 33)+`"`), "symbol: longer"},
		{"open missing", without("open"), "open: missing"},
		{"high missing", without("high"), "high: missing"},
		{"low missing", without("low"), "low: missing"},
		{"close missing", without("close"), "close: missing"},
		{"volume missing", without("volume"), "volume: missing"},
		{"timestamp missing", without("timestamp"), "timestamp: missing"},
		{"open null", with("open", `null`), "open: missing (null)"},
		{"open string", with("open", `"1.0"`), "open: not a number"},
		{"high bool", with("high", `true`), "high: not a number"},
		{"low object", with("low", `{}`), "low: not a number"},
		{"close array", with("close", `[2]`), "close: not a number"},
		{"volume NaN", with("volume", `NaN`), "volume: not a finite number"},
		{"open Infinity", with("open", `Infinity`), "open: not a finite number"},
		{"open -Infinity", with("open", `-Infinity`), "open: not a finite number"},
		{"high overflows to Inf", with("high", `1e400`), "high: not a finite number"},
		{"number leading zero", with("open", `01`), "malformed JSON"},
		{"number leading plus", with("open", `+1`), "malformed JSON"},
		{"number bare dot", with("open", `1.`), "malformed JSON"},
		{"number hex", with("open", `0x10`), "malformed JSON"},
		{"open negative", with("open", `-1`), "open: negative"},
		{"high negative", with("high", `-1`), "high: negative"},
		{"low negative", with("low", `-0.5`), "low: negative"},
		{"volume negative", with("volume", `-10`), "volume: negative"},
		{"close zero", with("close", `0`), "close: 0 is below 0.0001"},
		{"open zero", with("open", `0`), "open: 0 is below 0.0001"},
		{"low zero", with("low", `0`), "low: 0 is below 0.0001"},
		{"vwap zero", "{" + ok + `,"vwap":0}`, "vwap: 0 is below 0.0001"},
		{"close negative", with("close", `-2`), "close: negative"},
		{"high below low", with("high", `0.5`), "high 0.5 is below low 1"},
		{"close 1e307", with("close", `1e307`), "close: 1e+307 is above 1e+07"},
		{"close below the sub-penny tick", with("close", `0.00001`), "close: 1e-05 is below 0.0001"},
		{"high above the price bound", with("high", `10000000.01`), "high: 1.000000001e+07 is above 1e+07"},
		{"volume above the bound", with("volume", `100000000001`), "volume: 1.00000000001e+11 is above 1e+11"},
		{"trade_count fractional", "{" + ok + `,"trade_count":1.5}`, "trade_count: not a whole number"},
		{"trade_count above the bound", "{" + ok + `,"trade_count":1e10}`, "trade_count: 1e+10 is above 1e+09"},
		{"vwap above the bound", "{" + ok + `,"vwap":2e7}`, "vwap: 2e+07 is above 1e+07"},
		{"trade_count string", "{" + ok + `,"trade_count":"9"}`, "trade_count: not a number"},
		{"trade_count negative", "{" + ok + `,"trade_count":-1}`, "trade_count: negative"},
		{"vwap NaN", "{" + ok + `,"vwap":NaN}`, "vwap: not a finite number"},
		{"timestamp number", with("timestamp", `1720727340000`), "timestamp: not a string"},
		{"timestamp garbage", with("timestamp", `"yesterday"`), "timestamp: \"yesterday\" is not a time"},
		{"timestamp date only", with("timestamp", `"2024-07-11"`), "timestamp: "},
		{"timestamp impossible date", with("timestamp", `"2024-02-30 10:00:00"`), "timestamp: "},
		{"timestamp null", with("timestamp", `null`), "timestamp: not a string"},
		{"timestamp year 0", with("timestamp", `"0000-01-01 03:00:00"`), "timestamp: year 0 is outside"},
		{"timestamp year 9999", with("timestamp", `"9999-12-31 23:59:00"`), "timestamp: year 9999 is outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRaw([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeRaw(%s): got no error, want %q", tt.in, tt.reason)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want an error wrapping ErrInvalid", err)
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || !strings.Contains(ie.Reason, tt.reason) {
				t.Errorf("got reason %q, want it to contain %q", err, tt.reason)
			}
		})
	}
}

func TestParseTimestampFraction(t *testing.T) {
	got, err := ParseTimestamp([]byte("2024-07-11 19:49:00.25"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 7, 11, 19, 49, 0, 250e6, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
