package enrich_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func TestIndicatorBoundaries(t *testing.T) {
	r := enrich.Rules{Threshold: 5}
	tests := []struct {
		change float64
		want   bar.Indicator
	}{
		{5, bar.Bullish},
		{math.Nextafter(5, 0), bar.Neutral},
		{5.0000001, bar.Bullish},
		{-5, bar.Bearish},
		{math.Nextafter(-5, 0), bar.Neutral},
		{-5.0000001, bar.Bearish},
		{0, bar.Neutral},
		{4.99, bar.Neutral},
		{-4.99, bar.Neutral},
		{100, bar.Bullish},
		{-99.9, bar.Bearish},
	}
	for _, tt := range tests {
		if got := r.Indicator(tt.change); got != tt.want {
			t.Errorf("Indicator(%v) = %s, want %s", tt.change, got, tt.want)
		}
	}
	if got := (enrich.Rules{Threshold: 1}).Indicator(-1); got != bar.Bearish {
		t.Errorf("threshold 1: Indicator(-1) = %s, want Bearish", got)
	}
}

func TestApply(t *testing.T) {
	ts := time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)
	raw := func(close float64) *bar.Raw {
		return &bar.Raw{Symbol: "X", Open: close, High: close, Low: close, Close: close, Volume: 1, Time: ts}
	}
	r := enrich.Rules{Threshold: 5}
	tests := []struct {
		name      string
		close     float64
		prev      float64
		ok        bool
		threshold float64
		want      bar.Indicator
	}{
		{"up exactly 5%", 21, 20, true, 5, bar.Bullish},
		{"down exactly 5%", 19, 20, true, 5, bar.Bearish},
		{"up 4.9%", 20.98, 20, true, 5, bar.Neutral},
		{"down 4.9%", 19.02, 20, true, 5, bar.Neutral},
		{"flat", 20, 20, true, 5, bar.Neutral},
		{"threshold 2: up 4.9% is Bullish", 20.98, 20, true, 2, bar.Bullish},
		{"no previous close", 20, 0, false, 5, bar.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.Threshold = tt.threshold
			e := r.Apply(raw(tt.close), tt.prev, tt.ok)
			if e.Indicator != tt.want {
				t.Errorf("indicator: got %s (change %v), want %s", e.Indicator, e.Change, tt.want)
			}
			if !tt.ok {
				if e.HasPrev || e.Change != 0 || e.PrevClose != 0 {
					t.Errorf("no previous close: got HasPrev=%v Change=%v PrevClose=%v, want none", e.HasPrev, e.Change, e.PrevClose)
				}
				return
			}
			if want := (tt.close - tt.prev) / tt.prev * 100; e.Change != want || e.PrevClose != tt.prev {
				t.Errorf("change: got %v (prev %v), want %v (prev %v)", e.Change, e.PrevClose, want, tt.prev)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	for _, th := range []float64{0, -5, math.NaN(), math.Inf(1)} {
		if err := (enrich.Rules{Threshold: th}).Validate(); err == nil {
			t.Errorf("threshold %v: no error", th)
		}
	}
	if err := (enrich.Rules{Threshold: 0.5}).Validate(); err != nil {
		t.Errorf("threshold 0.5: %v", err)
	}
}

// The reference's published output, reproduced value for value from its raw input and previous close.
func TestReferenceSeedSample(t *testing.T) {
	store, err := prevclose.LoadCSVFile(fixtures.Path(t, fixtures.SeedPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	raws := lines(t, fixtures.SeedRaw)
	wants := lines(t, fixtures.SeedEnhanced)
	if len(raws) != len(wants) || len(raws) == 0 {
		t.Fatalf("got %d raw lines and %d reference lines", len(raws), len(wants))
	}
	refKeys := []string{"symbol", "close", "open", "low", "high", "volume", "timestamp", "%change", "indicator"}
	for i := range raws {
		r, err := bar.DecodeRaw(raws[i])
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		en, err := e.Enrich(context.Background(), &r)
		if err != nil {
			t.Fatal(err)
		}
		out := bar.AppendEnriched(nil, &en)
		gotKeys, gotVals := keysAndValues(t, out)
		wantKeys, wantVals := keysAndValues(t, wants[i])
		for k, key := range refKeys {
			if gotKeys[k] != key || wantKeys[k] != key {
				t.Fatalf("line %d: key %d: got %q (reference %q), want %q", i+1, k, gotKeys[k], wantKeys[k], key)
			}
			g, w := gotVals[key], wantVals[key]
			if gf, ok := g.(json.Number); ok {
				gv, _ := gf.Float64()
				wv, _ := w.(json.Number).Float64()
				if gv != wv {
					t.Errorf("line %d: %s: got %v, want %v", i+1, key, g, w)
				}
			} else if g != w {
				t.Errorf("line %d: %s: got %v, want %v", i+1, key, g, w)
			}
		}
		if gotKeys[9] != "prevClose" || gotKeys[10] != "tradingDate" || gotVals["tradingDate"] != "2024-07-11" {
			t.Errorf("line %d: our extra keys: %v %v", i+1, gotKeys[9:], gotVals)
		}
	}
}

// A Monday compares with Friday; a holiday has no close, so the day after compares with the day before it.
func TestPreviousTradingDay(t *testing.T) {
	store, err := prevclose.NewMemory(
		prevclose.Close{Symbol: "X", Date: bar.Date{Year: 2024, Month: 7, Day: 3}, Close: 100}, // Wed; Thu 4th is a holiday
		prevclose.Close{Symbol: "X", Date: bar.Date{Year: 2024, Month: 7, Day: 5}, Close: 110}, // Fri
		prevclose.Close{Symbol: "X", Date: bar.Date{Year: 2024, Month: 7, Day: 8}, Close: 120}, // Mon
	)
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: 5}, Store: store}
	tests := []struct {
		name string
		utc  time.Time
		want float64
	}{
		{"Friday after the holiday looks back to Wednesday", time.Date(2024, 7, 5, 14, 30, 0, 0, time.UTC), 100},
		{"Saturday morning UTC is still Friday in New York", time.Date(2024, 7, 6, 0, 30, 0, 0, time.UTC), 100},
		{"Monday looks back to Friday", time.Date(2024, 7, 8, 13, 30, 0, 0, time.UTC), 110},
		{"Monday pre-market", time.Date(2024, 7, 8, 8, 0, 0, 0, time.UTC), 110},
		{"Tuesday after-hours looks back to Monday", time.Date(2024, 7, 9, 23, 30, 0, 0, time.UTC), 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bar.Raw{Symbol: "X", Open: 1, High: 1, Low: 1, Close: 1, Time: tt.utc}
			en, err := e.Enrich(context.Background(), &r)
			if err != nil {
				t.Fatal(err)
			}
			if !en.HasPrev || en.PrevClose != tt.want {
				t.Errorf("got prevClose %v (has %v), want %v", en.PrevClose, en.HasPrev, tt.want)
			}
			// the batch path: resolve first, then enrich, same answer
			closes, err := e.Resolve(context.Background(), []enrich.Lookup{enrich.LookupOf(&r), {Symbol: "Y", Before: bar.TradingDate(tt.utc)}})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := e.EnrichResolved(&r, closes); err != nil || got != en {
				t.Errorf("EnrichResolved: got %+v, %v; Enrich %+v", got, err, en)
			}
			if y, err := e.EnrichResolved(&bar.Raw{Symbol: "Y", Open: 1, High: 1, Low: 1, Close: 1, Time: tt.utc}, closes); err != nil || y.HasPrev || y.Indicator != bar.Unknown {
				t.Errorf("unknown symbol: got %+v, %v; want Unknown", y, err)
			}
		})
	}
	r := bar.Raw{Symbol: "X", Open: 1, High: 1, Low: 1, Close: 1, Time: time.Date(2024, 7, 3, 14, 0, 0, 0, time.UTC)}
	if en, err := e.Enrich(context.Background(), &r); err != nil || en.Indicator != bar.Unknown || en.HasPrev {
		t.Errorf("first day: got %+v, %v; want Unknown", en, err)
	}
}

type failingStore struct{ err error }

func (f failingStore) PrevClose(context.Context, string, bar.Date) (float64, bool, error) {
	return 0, false, f.err
}

func (f failingStore) PrevCloses(context.Context, []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	return nil, f.err
}

func TestEnrichStoreFault(t *testing.T) {
	boom := errors.New("connection refused")
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: 5}, Store: failingStore{boom}}
	r := bar.Raw{Symbol: "X", Close: 1, High: 1, Time: time.Date(2024, 7, 3, 14, 0, 0, 0, time.UTC)}
	_, err := e.Enrich(context.Background(), &r)
	if !errors.Is(err, enrich.ErrLookup) || !errors.Is(err, boom) {
		t.Errorf("got %v, want ErrLookup wrapping the store error", err)
	}
	if _, err := e.Resolve(context.Background(), []enrich.Lookup{enrich.LookupOf(&r)}); !errors.Is(err, enrich.ErrLookup) || !errors.Is(err, boom) {
		t.Errorf("Resolve: got %v, want ErrLookup wrapping the store error", err)
	}
}

func lines(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(fixtures.Path(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	return out
}

// keysAndValues returns an object's keys in order and its values (numbers as json.Number).
func keysAndValues(t *testing.T, b []byte) ([]string, map[string]any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	vals := map[string]any{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		vals[k.(string)] = v
	}
	return keys, vals
}
