package candles

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDecodeCandleRoundTrip: what AppendCandle writes decodes to the same candle, with and without the nullable
// fields.
func TestDecodeCandleRoundTrip(t *testing.T) {
	start := time.Date(2024, 10, 30, 13, 45, 0, 0, time.UTC)
	for _, c := range []Candle{
		{Symbol: "BRK.B", Interval: "15m", Start: start, Open: 10, High: 12.5, Low: 9.75, Close: 11, Volume: 1200,
			TradeCount: 31, HasTradeCount: true, VWAP: 10.9, HasVWAP: true, Bars: 15, Final: true},
		{Symbol: "JPM", Interval: "5m", Start: start, Open: 1, High: 1, Low: 1, Close: 1, Bars: 1},
	} {
		got, err := DecodeCandle(AppendCandle(nil, &c))
		if err != nil {
			t.Fatalf("DecodeCandle(%s): %v", AppendCandle(nil, &c), err)
		}
		if got != c {
			t.Errorf("got %+v, want %+v", got, c)
		}
	}
}

// TestDecodeCandleRejects: each broken record fails with ErrRecord and names its problem.
func TestDecodeCandleRejects(t *testing.T) {
	const good = `{"symbol":"JPM","interval":"5m","start":"2024-10-30 13:45:00","open":10,"high":12,"low":9,"close":11,"volume":5,"trade_count":null,"vwap":null,"bars":3,"final":true}`
	if _, err := DecodeCandle([]byte(good)); err != nil {
		t.Fatalf("good record: %v", err)
	}
	for _, tt := range []struct{ name, from, to, want string }{
		{"not json", good, `{"symbol":`, "not a candle record"},
		{"unknown key", `"final":true}`, `"final":true,"x":1}`, "unknown field"},
		{"missing final", `,"final":true`, ``, "missing or null: [final]"},
		{"bad symbol", `"JPM"`, `"J M"`, "symbol"},
		{"interval", `"5m"`, `"2m"`, "interval"},
		{"unaligned start", `13:45:00`, `13:46:00`, "not aligned to 5m"},
		{"start form", `2024-10-30 13:45:00`, `2024-10-30T13:45:00Z`, "start"},
		{"high below low", `"high":12`, `"high":8`, "not low <= open, close <= high"},
		{"zero price", `"close":11`, `"close":0`, "close"},
		{"negative volume", `"volume":5`, `"volume":-5`, "volume"},
		{"fractional trades", `"trade_count":null`, `"trade_count":1.5`, "trade_count"},
		{"no bars", `"bars":3`, `"bars":0`, "bars: 0"},
		{"too many bars", `"bars":3`, `"bars":6`, "bars: 6"},
		{"trailing data", good, good + `{}`, "data after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(good, tt.from, tt.to, 1)
			_, err := DecodeCandle([]byte(in))
			if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeCandle(%s): got %v, want ErrRecord containing %q", in, err, tt.want)
			}
		})
	}
}

// TestDecodeCandleCompatible: a reader ignores a key a later version adds and reads the candle as before, while
// every other check still applies (the strict decoder refuses the key).
func TestDecodeCandleCompatible(t *testing.T) {
	const good = `{"symbol":"JPM","interval":"5m","start":"2024-10-30 13:45:00","open":10,"high":12,"low":9,"close":11,"volume":5,"trade_count":7,"vwap":10.5,"bars":3,"final":true}`
	want, err := DecodeCandle([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(good, `"final":true}`, `"final":true,"session":"regular","x":{"y":[1,null]}}`, 1)
	if got, err := DecodeCandleCompatible([]byte(added)); err != nil || got != want {
		t.Errorf("DecodeCandleCompatible(%s): got %+v, %v; want %+v", added, got, err, want)
	}
	if _, err := DecodeCandle([]byte(added)); !errors.Is(err, ErrRecord) {
		t.Errorf("DecodeCandle(%s): got %v, want the unknown keys refused", added, err)
	}
	for _, bad := range []string{
		strings.Replace(added, `13:45:00`, `13:46:00`, 1),
		strings.Replace(added, `,"final":true`, ``, 1),
		added + `{}`,
	} {
		if _, err := DecodeCandleCompatible([]byte(bad)); !errors.Is(err, ErrRecord) {
			t.Errorf("DecodeCandleCompatible(%s): got %v, want ErrRecord", bad, err)
		}
	}
}
