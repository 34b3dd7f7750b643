package synth_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/synth"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/indicators"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func TestDeterministic(t *testing.T) {
	a, b := synth.Default(), synth.Default()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two default sessions differ")
	}
	c := synth.Generate(synth.DefaultDate, synth.DefaultSeed+1, synth.DefaultSymbols)
	if reflect.DeepEqual(a.Bars, c.Bars) {
		t.Error("another seed gave the same bars")
	}
}

func TestBarsAreValidAndOrdered(t *testing.T) {
	s := synth.Default()
	if len(s.Bars) < 1000 {
		t.Fatalf("bars: got %d, want a full day of several symbols", len(s.Bars))
	}
	for i := range s.Bars {
		b := &s.Bars[i]
		if err := b.Validate(); err != nil {
			t.Fatalf("bar %d %s %v: %v", i, b.Symbol, b.Time, err)
		}
		if b.High < max(b.Open, b.Close) || b.Low > min(b.Open, b.Close) {
			t.Errorf("bar %d %s: open %v close %v outside low %v high %v", i, b.Symbol, b.Open, b.Close, b.Low, b.High)
		}
		if td := bar.TradingDate(b.Time); td != s.Date {
			t.Errorf("bar %d trading date: got %s, want %s", i, td, s.Date)
		}
		if i > 0 && b.Time.Before(s.Bars[i-1].Time) {
			t.Errorf("bar %d at %v after %v: want time order", i, b.Time, s.Bars[i-1].Time)
		}
		// the encoded form decodes back to the same bar
		got, err := bar.DecodeRaw(bar.AppendRaw(nil, b))
		if err != nil || !reflect.DeepEqual(got, *b) {
			t.Fatalf("bar %d round trip: got %+v, %v, want %+v", i, got, err, *b)
		}
	}
	first := map[string]bool{}
	for _, b := range s.Bars {
		if !b.Time.Equal(s.Bars[0].Time) {
			break
		}
		first[b.Symbol] = true
	}
	if len(first) != len(synth.DefaultSymbols) {
		t.Errorf("symbols in the first minute: got %d, want all %d", len(first), len(synth.DefaultSymbols))
	}
}

// TestEveryIndicator enriches the session with its own closes: every indicator shows, and the crossing symbols
// cross.
func TestEveryIndicator(t *testing.T) {
	s := synth.Default()
	store, err := prevclose.NewMemory(s.Closes...)
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	seen := map[string]map[bar.Indicator]int{}
	total := map[bar.Indicator]int{}
	for i := range s.Bars {
		en, err := e.Enrich(context.Background(), &s.Bars[i])
		if err != nil {
			t.Fatal(err)
		}
		if seen[en.Symbol] == nil {
			seen[en.Symbol] = map[bar.Indicator]int{}
		}
		seen[en.Symbol][en.Indicator]++
		total[en.Indicator]++
	}
	for _, ind := range []bar.Indicator{bar.Bullish, bar.Bearish, bar.Neutral, bar.Unknown} {
		if total[ind] == 0 {
			t.Errorf("%s bars: got 0, want some (all: %v)", ind, total)
		}
	}
	for sym, want := range map[string][]bar.Indicator{
		"NVDA": {bar.Bullish}, "TSLA": {bar.Bearish}, "FNFD": {bar.Unknown},
		"MSFT": {bar.Neutral, bar.Bullish}, "AMZN": {bar.Neutral, bar.Bearish},
	} {
		for _, ind := range want {
			if seen[sym][ind] == 0 {
				t.Errorf("%s: got %v, want some %s bars", sym, seen[sym], ind)
			}
		}
	}
}

// TestVolumeCurveAndGaps: heavy open and close, thin midday, and extended hours with minutes that do not trade.
func TestVolumeCurveAndGaps(t *testing.T) {
	s := synth.Default()
	ny := func(b bar.Raw) int { t := b.Time.In(bar.NewYork); return t.Hour()*60 + t.Minute() }
	var openVol, midVol, closeVol float64
	var openN, midN, closeN int
	minutes := map[string]map[int]bool{}
	for _, b := range s.Bars {
		m := ny(b)
		if minutes[b.Symbol] == nil {
			minutes[b.Symbol] = map[int]bool{}
		}
		minutes[b.Symbol][m] = true
		if b.Symbol != "AAPL" {
			continue
		}
		switch {
		case m >= 9*60+30 && m < 10*60:
			openVol += b.Volume
			openN++
		case m >= 12*60 && m < 13*60+30:
			midVol += b.Volume
			midN++
		case m >= 15*60+30 && m < 16*60:
			closeVol += b.Volume
			closeN++
		}
	}
	if openN == 0 || midN == 0 || closeN == 0 {
		t.Fatalf("AAPL regular-session minutes: open %d mid %d close %d", openN, midN, closeN)
	}
	o, mid, c := openVol/float64(openN), midVol/float64(midN), closeVol/float64(closeN)
	if o <= 1.5*mid || c <= 1.5*mid {
		t.Errorf("AAPL mean minute volume: open %.0f midday %.0f close %.0f, want a U shape", o, mid, c)
	}
	for sym, ms := range minutes {
		regular := 0
		for m := 9*60 + 30; m < 16*60; m++ {
			if ms[m] {
				regular++
			}
		}
		if regular != 390 {
			t.Errorf("%s: %d regular-session minutes, want 390", sym, regular)
		}
		pre, post := 0, 0
		for m := 9 * 60; m < 9*60+30; m++ {
			if ms[m] {
				pre++
			}
		}
		for m := 16 * 60; m < 20*60; m++ {
			if ms[m] {
				post++
			}
		}
		if pre == 0 || pre >= 30 || post == 0 || post >= 240 {
			t.Errorf("%s: %d of 30 pre-market and %d of 240 after-hours minutes trade, want some with gaps", sym, pre, post)
		}
	}
	if got := s.Bars[0].Time.In(bar.NewYork); got.Hour() != 9 || got.Minute() != 0 {
		t.Errorf("first bar at %v New York, want 09:00", got)
	}
	if d := s.Bars[len(s.Bars)-1].Time.Sub(s.Bars[0].Time); d > 11*time.Hour {
		t.Errorf("session spans %v, want at most 11h", d)
	}
}

// TestIndicatorsShowEarly: through indicators.Series, the session has an EMA crossover and a volume alert within
// its first hour (09:00-10:00 New York: a minute of `feed local` at its default speed), so the status line shows
// both almost at once.
func TestIndicatorsShowEarly(t *testing.T) {
	s := synth.Default()
	series := map[string]*indicators.Series{}
	end := time.Date(2025, 6, 12, 10, 0, 0, 0, bar.NewYork)
	var crosses, alerts []string
	for i := range s.Bars {
		b := &s.Bars[i]
		if !b.Time.Before(end) {
			break
		}
		if series[b.Symbol] == nil {
			series[b.Symbol] = new(indicators.Series)
		}
		v := series[b.Symbol].Apply(b)
		at := b.Symbol + " " + b.Time.In(bar.NewYork).Format("15:04")
		if v.MACross != "" {
			crosses = append(crosses, at+" "+v.MACross)
		}
		if v.VolumeAlert {
			alerts = append(alerts, at)
		}
		if v.OutOfSequence {
			t.Fatalf("%s: out of sequence in a generated session", at)
		}
	}
	if len(crosses) == 0 || len(alerts) == 0 {
		t.Fatalf("before 10:00 New York: crosses %v, volume alerts %v; want at least one of each", crosses, alerts)
	}
	t.Logf("before 10:00 New York: crosses %v; volume alerts %v", crosses, alerts)
}
