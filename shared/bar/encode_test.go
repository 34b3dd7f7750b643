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
	want := `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":-0.8784661217630548,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11"` + nullIndicators + `}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e.HasPrev = false
	e.Indicator = Unknown
	got = string(AppendEnriched(nil, &e))
	want = `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":null,"indicator":"Unknown","prevClose":null,"tradingDate":"2024-07-11"` + nullIndicators + `}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("not valid JSON: %s", got)
	}
}

// nullIndicators is how a bar with no indicator values ends: a symbol's first bar, or the handler before the
// indicator state is wired in.
const nullIndicators = `,"sma20":null,"sma50":null,"ema12":null,"ema26":null,"rsi14":null,"vwapSession":null,"volumeAlert":false,"maCross":null,"outOfSequence":false`

func TestAppendEnrichedIndicators(t *testing.T) {
	e := Enriched{Symbol: "JPM", Close: 224.835, Open: 224.76, Low: 224.74, High: 224.84, Volume: 69243,
		Time: time.Date(2024, 10, 30, 14, 45, 0, 0, time.UTC), Indicator: Unknown, TradingDate: Date{2024, 10, 30},
		Indicators: Indicators{SMA20: 224.67406999999997, SMA50: 224.86588799999993, EMA12: 224.73141512640683,
			EMA26: 224.73091295088173, RSI14: 53.952381789107676, VWAPSession: 224.30911316346516,
			HasSMA20: true, HasSMA50: true, HasEMA12: true, HasEMA26: true, HasRSI14: true, HasVWAPSession: true,
			VolumeAlert: true, MACross: CrossBullish}}
	prefix := `{"symbol":"JPM","close":224.835,"open":224.76,"low":224.74,"high":224.84,"volume":69243,"timestamp":"2024-10-30 14:45:00","%change":null,"indicator":"Unknown","prevClose":null,"tradingDate":"2024-10-30"`
	tests := []struct {
		name string
		edit func(in *Indicators)
		want string
	}{
		{"every value, a bullish cross, a volume alert", func(*Indicators) {},
			`,"sma20":224.67406999999997,"sma50":224.86588799999993,"ema12":224.73141512640683,"ema26":224.73091295088173,"rsi14":53.952381789107676,"vwapSession":224.30911316346516,"volumeAlert":true,"maCross":"bullish","outOfSequence":false}`},
		{"bearish, no alert, rsi14 0", func(in *Indicators) { in.MACross, in.VolumeAlert, in.RSI14 = CrossBearish, false, 0 },
			`,"sma20":224.67406999999997,"sma50":224.86588799999993,"ema12":224.73141512640683,"ema26":224.73091295088173,"rsi14":0,"vwapSession":224.30911316346516,"volumeAlert":false,"maCross":"bearish","outOfSequence":false}`},
		{"warming up: only ema12 and vwapSession", func(in *Indicators) {
			*in = Indicators{EMA12: 223.5, HasEMA12: true, VWAPSession: 1e-7, HasVWAPSession: true}
		}, `,"sma20":null,"sma50":null,"ema12":223.5,"ema26":null,"rsi14":null,"vwapSession":1e-7,"volumeAlert":false,"maCross":null,"outOfSequence":false}`},
		{"out of sequence", func(in *Indicators) { *in = Indicators{OutOfSequence: true} },
			`,"sma20":null,"sma50":null,"ema12":null,"ema26":null,"rsi14":null,"vwapSession":null,"volumeAlert":false,"maCross":null,"outOfSequence":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e
			tt.edit(&e.Indicators)
			got := AppendEnriched(nil, &e)
			if string(got) != prefix+tt.want {
				t.Errorf("got  %s\nwant %s", got, prefix+tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
			back, err := DecodeEnriched(got)
			if err != nil {
				t.Fatalf("DecodeEnriched: %v", err)
			}
			if back.Indicators != e.Indicators {
				t.Errorf("decoded indicators %+v, want %+v", back.Indicators, e.Indicators)
			}
		})
	}
}

func TestDecodeEnrichedIndicatorErrors(t *testing.T) {
	good := `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00","indicator":"Unknown"`
	for name, tail := range map[string]string{
		"maCross unknown":       `,"maCross":"sideways"}`,
		"maCross a number":      `,"maCross":1}`,
		"volumeAlert null":      `,"volumeAlert":null}`,
		"volumeAlert a string":  `,"volumeAlert":"true"}`,
		"outOfSequence 1":       `,"outOfSequence":1}`,
		"outOfSequence truthy":  `,"outOfSequence":tru}`,
		"sma20 a string":        `,"sma20":"1"}`,
		"rsi14 not finite":      `,"rsi14":1e999}`,
		"vwapSession malformed": `,"vwapSession":-}`,
	} {
		if _, err := DecodeEnriched([]byte(good + tail)); err == nil {
			t.Errorf("%s: %s: no error", name, good+tail)
		}
	}
	e, err := DecodeEnriched([]byte(good + `,"maCross":null,"volumeAlert":true,"outOfSequence":false,"sma50":12.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Indicators{VolumeAlert: true, SMA50: 12.5, HasSMA50: true}); e.Indicators != want {
		t.Errorf("got %+v, want %+v", e.Indicators, want)
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
	if e.Volume != 255 || e.Change != -0.8784661217630548 || !e.HasPrev || !e.PrevCloseAbsent || e.TradingDate != (Date{2024, 7, 11}) {
		t.Errorf("got %+v", e)
	}
	// written back, the previous close stays unknown rather than becoming 0
	if out := string(AppendEnriched(nil, &e)); strings.Contains(out, "prevClose") || !strings.Contains(out, `"%change":-0.8784661217630548`) {
		t.Errorf("re-encoded: %s", out)
	}
	const head = `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00","indicator":"Neutral",`
	for _, bad := range []string{
		head + `"%change":1.5,"prevClose":null}`, // a change against an unknown close
		head + `"%change":null,"prevClose":10}`,  // a known close and no change
		head + `"prevClose":10}`,                 // the same, %change absent
	} {
		if _, err := DecodeEnriched([]byte(bad)); err == nil || !strings.Contains(err.Error(), "one is null") {
			t.Errorf("DecodeEnriched(%s): error %v, want one naming prevClose and %%change", bad, err)
		}
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
