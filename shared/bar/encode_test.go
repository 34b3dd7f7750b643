package bar

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, 1, -1, 255, 194.615, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.125, 5e-324, math.MaxFloat64, -0.8784661217630548}
	for range 20000 {
		vals = append(vals, math.Float64frombits(r.Uint64()), r.Float64()*1000, r.NormFloat64()*1e-7)
	}
	for _, f := range vals {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendFloat(nil, f); !bytes.Equal(got, want) {
			t.Fatalf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestAppendEnrichedKeyOrder(t *testing.T) {
	e := Enriched{Symbol: "AMZN", Close: 194.64, Open: 194.58, Low: 194.58, High: 194.64, Volume: 255,
		Time: time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC), Change: -0.8784661217630548, Indicator: Neutral,
		PrevClose: 196.365, HasPrev: true, TradingDate: Date{2024, 7, 11}}
	got := string(AppendEnriched(nil, &e))
	want := `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":-0.8784661217630548,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e.HasPrev = false
	e.Indicator = Unknown
	got = string(AppendEnriched(nil, &e))
	want = `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":null,"indicator":"Unknown","prevClose":null,"tradingDate":"2024-07-11"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("not valid JSON: %s", got)
	}
}

func TestEnrichedRoundTrip(t *testing.T) {
	for _, e := range []Enriched{
		{Symbol: "BRK.B", Close: 1.5, Open: 1, Low: 0.5, High: 2, Volume: 1e9, Time: time.Date(2024, 3, 10, 6, 59, 0, 0, time.UTC),
			Change: 5, Indicator: Bullish, PrevClose: 1.4285714285714286, HasPrev: true, TradingDate: Date{2024, 3, 10}},
		{Symbol: "X", Close: 2, Open: 2, Low: 2, High: 2, Time: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), Indicator: Unknown, TradingDate: Date{2024, 1, 1}},
	} {
		b := AppendEnriched(nil, &e)
		got, err := DecodeEnriched(b)
		if err != nil {
			t.Fatalf("DecodeEnriched(%s): %v", b, err)
		}
		if !got.Time.Equal(e.Time) {
			t.Errorf("time: got %v, want %v", got.Time, e.Time)
		}
		got.Time, e.Time = time.Time{}, time.Time{}
		if got != e {
			t.Errorf("got %+v\nwant %+v", got, e)
		}
	}
}

func TestDecodeEnrichedReferenceLine(t *testing.T) {
	// the reference's published form: volume as 255.0, no prevClose or tradingDate
	line := `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255.0,"timestamp":"2024-07-11 19:49:00","%change":-0.8784661217630548,"indicator":"Neutral"}`
	e, err := DecodeEnriched([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if e.Volume != 255 || e.Change != -0.8784661217630548 || !e.HasPrev || e.TradingDate != (Date{2024, 7, 11}) {
		t.Errorf("got %+v", e)
	}
	for _, bad := range []string{`{"symbol":"A"}`, `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00","indicator":"Sideways"}`, `[]`} {
		if _, err := DecodeEnriched([]byte(bad)); err == nil {
			t.Errorf("DecodeEnriched(%s): no error", bad)
		}
	}
}

func TestAppendRawRoundTrip(t *testing.T) {
	r := Raw{Symbol: "BTC/USD", Open: 1, High: 3, Low: 0.5, Close: 2, Volume: 12.5, TradeCount: 9, HasTradeCount: true,
		Time: time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)}
	b := AppendRaw(nil, &r)
	if !strings.HasPrefix(string(b), `{"open":1,"high":3,"low":0.5,"close":2,"volume":12.5,"trade_count":9,"vwap":null,"timestamp":"2024-07-11 19:49:00","symbol":"BTC/USD"}`) {
		t.Errorf("got %s", b)
	}
	got, err := DecodeRaw(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Errorf("got %+v\nwant %+v", got, r)
	}
}
