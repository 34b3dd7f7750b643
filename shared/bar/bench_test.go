package bar

import (
	"encoding/json"
	"testing"
)

// The JSON approach was chosen by these: the product's scanner against encoding/json decoding the same raw bar
// into a plain struct (which checks far less: no NaN/Inf text, no field-specific reasons, case-insensitive keys).
var benchLine = []byte(`{"open": 194.58, "high": 194.64, "low": 194.58, "close": 194.64, "volume": 255.0, "trade_count": 9.0, "vwap": 194.61, "timestamp": "2024-07-11 19:49:00", "symbol": "AMZN"}`)

func BenchmarkDecodeRaw(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRaw(benchLine); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	type rawJSON struct {
		Open       *float64 `json:"open"`
		High       *float64 `json:"high"`
		Low        *float64 `json:"low"`
		Close      *float64 `json:"close"`
		Volume     *float64 `json:"volume"`
		TradeCount *float64 `json:"trade_count"`
		VWAP       *float64 `json:"vwap"`
		Timestamp  *string  `json:"timestamp"`
		Symbol     *string  `json:"symbol"`
	}
	b.ReportAllocs()
	for b.Loop() {
		var r rawJSON
		if err := json.Unmarshal(benchLine, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := ParseTimestamp([]byte(*r.Timestamp)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEnriched(b *testing.B) {
	r, err := DecodeRaw(benchLine)
	if err != nil {
		b.Fatal(err)
	}
	e := Enriched{Symbol: r.Symbol, Close: r.Close, Open: r.Open, Low: r.Low, High: r.High, Volume: r.Volume, Time: r.Time,
		Change: -0.8784661217630548, Indicator: Neutral, PrevClose: 196.365, HasPrev: true, TradingDate: TradingDate(r.Time)}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEnriched(buf[:0], &e)
	}
}

func BenchmarkMarshalEncodingJSON(b *testing.B) {
	type out struct {
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
	}
	c, p := -0.8784661217630548, 196.365
	v := out{"AMZN", 194.64, 194.58, 194.58, 194.64, 255, "2024-07-11 19:49:00", &c, "Neutral", &p, "2024-07-11"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(&v); err != nil {
			b.Fatal(err)
		}
	}
}
