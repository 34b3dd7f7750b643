package indicators_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/indicators"
)

// tolerance is the contract's: values agree with an independent implementation to a relative 1e-9.
const tolerance = 1e-9

// randomBars is a reproducible random stream of one symbol's bars: a random walk of closes (with stretches that
// trend, so the EMAs cross), volumes with spikes, vwap present or null, gaps across New York dates, and, mixed in,
// corrections of the latest bar (same time, other values) and late bars (older than the latest).
func randomBars(seed uint64, count int) []bar.Raw {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t := time.Date(2024, 3, 8, 20, 0, 0, 0, time.UTC) // a Friday evening: the weekend and the DST change follow
	price, drift := 100.0, 0.0
	var out []bar.Raw
	for len(out) < count {
		if rng.IntN(40) == 0 {
			drift = (rng.Float64() - 0.5) * 0.6
		}
		switch r := rng.IntN(100); {
		case r < 70:
			t = t.Add(time.Minute)
		case r < 90:
			t = t.Add(time.Duration(2+rng.IntN(30)) * time.Minute)
		default:
			t = t.Add(time.Duration(1+rng.IntN(40)) * time.Hour)
		}
		price = math.Max(1, price+drift+(rng.Float64()-0.5)*2)
		out = append(out, randomBar(rng, t, price))
		switch r := rng.IntN(100); {
		case r < 8: // Alpaca's updatedBars: the latest bar again, other values
			out = append(out, randomBar(rng, t, price*(1+(rng.Float64()-0.5)*0.01)))
		case r < 14: // a late or backfilled bar
			out = append(out, randomBar(rng, t.Add(-time.Duration(1+rng.IntN(300))*time.Minute), price))
		}
	}
	return out
}

func randomBar(rng *rand.Rand, t time.Time, close float64) bar.Raw {
	b := bar.Raw{Symbol: "RAND", Open: close, High: close * 1.001, Low: close * 0.999, Close: close, Time: t}
	switch r := rng.IntN(100); {
	case r < 3:
		b.Volume = 0
	case r < 10:
		b.Volume = float64(5000 + rng.IntN(50000)) // a spike
	default:
		b.Volume = float64(100 + rng.IntN(2000))
	}
	if rng.IntN(4) > 0 {
		b.VWAP, b.HasVWAP = close*(1+(rng.Float64()-0.5)*0.001), true
		b.TradeCount, b.HasTradeCount = float64(1+rng.IntN(50)), true
	}
	return b
}

// diff describes how got differs from want beyond the tolerance, or is "".
func diff(got, want indicators.Values) string {
	var out string
	num := func(name string, g, w float64, hg, hw bool) {
		switch {
		case hg != hw:
			out += fmt.Sprintf(" %s: got present=%v, want present=%v;", name, hg, hw)
		case hg && !close(g, w):
			out += fmt.Sprintf(" %s: got %v, want %v;", name, g, w)
		}
	}
	num("sma20", got.SMA20, want.SMA20, got.HasSMA20, want.HasSMA20)
	num("sma50", got.SMA50, want.SMA50, got.HasSMA50, want.HasSMA50)
	num("ema12", got.EMA12, want.EMA12, got.HasEMA12, want.HasEMA12)
	num("ema26", got.EMA26, want.EMA26, got.HasEMA26, want.HasEMA26)
	num("rsi14", got.RSI14, want.RSI14, got.HasRSI14, want.HasRSI14)
	num("vwapSession", got.VWAPSession, want.VWAPSession, got.HasVWAPSession, want.HasVWAPSession)
	if got.VolumeAlert != want.VolumeAlert {
		out += fmt.Sprintf(" volumeAlert: got %v, want %v;", got.VolumeAlert, want.VolumeAlert)
	}
	if got.MACross != want.MACross {
		out += fmt.Sprintf(" maCross: got %q, want %q;", got.MACross, want.MACross)
	}
	if got.OutOfSequence != want.OutOfSequence {
		out += fmt.Sprintf(" outOfSequence: got %v, want %v;", got.OutOfSequence, want.OutOfSequence)
	}
	return out
}

func close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return false
	}
	return math.Abs(a-b) <= tolerance*math.Max(math.Abs(a), math.Abs(b))
}

// TestSeriesMatchesReference: random streams with corrections and late bars mixed in give, bar for bar, the
// values of the independent implementation (reference_test.go).
func TestSeriesMatchesReference(t *testing.T) {
	var crosses, alerts, late, corrections int
	for seed := range uint64(20) {
		var s indicators.Series
		var ref naive
		for i, b := range randomBars(seed, 400) {
			if k := len(ref.bars); k > 0 && b.Time.Equal(ref.bars[k-1].Time) {
				corrections++
			}
			got, want := s.Apply(&b), ref.apply(b)
			if d := diff(got, want); d != "" {
				t.Fatalf("seed %d, bar %d (%s close %v):%s", seed, i, b.Time.Format(time.DateTime), b.Close, d)
			}
			if got.MACross != "" {
				crosses++
			}
			if got.VolumeAlert {
				alerts++
			}
			if got.OutOfSequence {
				late++
			}
		}
	}
	// the streams exercise every rule (else this test could pass without checking them)
	if crosses == 0 || alerts == 0 || late == 0 || corrections == 0 {
		t.Fatalf("streams too tame: %d crosses, %d volume alerts, %d late bars, %d corrections", crosses, alerts, late, corrections)
	}
	t.Logf("%d crosses, %d volume alerts, %d late bars, %d corrections", crosses, alerts, late, corrections)
}

// TestSeriesJPM: the real JPM fixture (870 bars over two days, extended hours) matches the reference bar for bar.
func TestSeriesJPM(t *testing.T) {
	bars := readRaw(t, fixtures.Read(t, fixtures.JPMRaw))
	want := referenceAll(bars)
	var s indicators.Series
	for i := range bars {
		got := s.Apply(&bars[i])
		if d := diff(got, want[i]); d != "" {
			t.Fatalf("bar %d (%s):%s", i, bars[i].Time.Format(time.DateTime), d)
		}
	}
	// hand-checked points: the first SMA20 is the mean of the first 20 closes, the session VWAP of the first bar
	// of a day is its own price (the fixture has no vwap, so its close)
	var sum float64
	for _, b := range bars[:20] {
		sum += b.Close
	}
	var s2 indicators.Series
	for i := range bars[:19] {
		if v := s2.Apply(&bars[i]); v.HasSMA20 || v.VWAPSession != bars[i].Close && i == 0 {
			t.Fatalf("bar %d: %+v", i, v)
		}
	}
	if v := s2.Apply(&bars[19]); !v.HasSMA20 || v.SMA20 != sum/20 {
		t.Errorf("sma20 of bar 20: got %v (present %v), want %v", v.SMA20, v.HasSMA20, sum/20)
	}
}

func readRaw(t testing.TB, data []byte) []bar.Raw {
	t.Helper()
	var out []bar.Raw
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		b, err := bar.DecodeRaw(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		out = append(out, b)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOrderRules states the three order rules on a short series.
func TestOrderRules(t *testing.T) {
	at := func(min int, close, volume float64) *bar.Raw {
		return &bar.Raw{Symbol: "X", Open: close, High: close, Low: close, Close: close, Volume: volume,
			Time: time.Date(2024, 7, 11, 14, min, 0, 0, time.UTC)}
	}
	var s indicators.Series
	for i := range 19 {
		s.Apply(at(i, 10, 100))
	}
	v := s.Apply(at(19, 30, 100)) // bar 20: sma20 = (19·10 + 30)/20 = 11
	if !v.HasSMA20 || v.SMA20 != 11 {
		t.Fatalf("bar 20: sma20 %v present %v, want 11", v.SMA20, v.HasSMA20)
	}
	v = s.Apply(at(19, 50, 100)) // its correction: computed without the replaced bar
	if !v.HasSMA20 || v.SMA20 != 12 {
		t.Fatalf("correction of bar 20: sma20 %v, want 12", v.SMA20)
	}
	v = s.Apply(at(5, 1000, 1e6)) // a late bar
	if v != (indicators.Values{OutOfSequence: true}) {
		t.Fatalf("late bar: got %+v, want only outOfSequence", v)
	}
	v = s.Apply(at(20, 10, 300)) // bar 21 sees the corrected bar 20 and not the late bar; volume 300 = 3 × 100
	if want := (19*10.0 + 50 - 10 + 10) / 20; v.SMA20 != want || !v.VolumeAlert {
		t.Fatalf("bar 21: sma20 %v (want %v), volumeAlert %v (want true)", v.SMA20, want, v.VolumeAlert)
	}
}

// TestCrossAndRSIEdges: a fall then a rise gives a bullish cross and then a bearish one; a series that only rises
// has rsi14 100.
func TestCrossAndRSIEdges(t *testing.T) {
	var s indicators.Series
	var got []string
	closes := make([]float64, 0, 120)
	for i := range 40 {
		closes = append(closes, 100-float64(i)*0.5)
	}
	for i := range 40 {
		closes = append(closes, 80+float64(i))
	}
	for i := range 40 {
		closes = append(closes, 120-float64(i))
	}
	for i, c := range closes {
		v := s.Apply(&bar.Raw{Symbol: "X", Close: c, High: c, Low: c, Open: c, Volume: 1, Time: time.Unix(int64(i)*60, 0).UTC()})
		if v.MACross != "" {
			got = append(got, v.MACross)
		}
	}
	if fmt.Sprint(got) != "[bullish bearish]" {
		t.Errorf("crosses: got %v, want [bullish bearish]", got)
	}
	var up indicators.Series
	var v indicators.Values
	for i := range 15 {
		c := 10 + float64(i)
		v = up.Apply(&bar.Raw{Symbol: "X", Close: c, High: c, Low: c, Open: c, Volume: 1, Time: time.Unix(int64(i)*60, 0).UTC()})
	}
	if !v.HasRSI14 || v.RSI14 != 100 {
		t.Errorf("rsi14 of a rising series: got %v (present %v), want 100", v.RSI14, v.HasRSI14)
	}
}
