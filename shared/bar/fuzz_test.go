package bar_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"testing"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// FuzzDecodeRaw: the decoder never panics, rejects only with an *InvalidError, and every accepted record
// re-encodes (AppendRaw) and decodes to the same value. Every accepted bar, enriched against previous closes the
// store can hold (the extremes, the bar's own close ±5 %, and one drawn from the input), is strict JSON that the
// enriched decoder and the customer's JSON Schema (docs/schemas/enhanced.schema.json) accept, with a finite %change.
func FuzzDecodeRaw(f *testing.F) {
	f.Add([]byte(`{"open": 194.58, "high": 194.64, "low": 194.58, "close": 194.64, "volume": 255.0, "trade_count": 9.0, "vwap": 194.61, "timestamp": "2024-07-11 19:49:00", "symbol": "AMZN"}`))
	f.Add([]byte(`{"symbol":"X","open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11T19:49:00.5+02:00","x":[{}]}`))
	f.Add([]byte(`{"symbol":"\ud83d\ude00","open":1e308,"high":1e308,"low":0,"close":5e-324,"volume":0,"timestamp":"2024-07-11 19:49:00"}`))
	f.Add([]byte(`{"symbol":"BRK.A","open":0.0001,"high":1e7,"low":0.0001,"close":1e7,"volume":1e11,"trade_count":1e9,"vwap":1e7,"timestamp":"2024-02-29 04:30:00"}`))
	f.Add([]byte(`{"symbol":"X","open":0.0001,"high":0.0001,"low":0.0001,"close":0.0001,"volume":0,"timestamp":"2024-11-03 05:59:59.999999999"}`))
	f.Add([]byte(`{"open": NaN}`))
	for _, name := range []string{fixtures.SeedRaw, fixtures.JPMRaw} {
		sc := bufio.NewScanner(bytes.NewReader(fixtures.Read(f, name)))
		for i := 0; sc.Scan() && i < 20; i++ {
			f.Add(bytes.Clone(sc.Bytes()))
		}
	}
	rules := enrich.Rules{Threshold: enrich.DefaultThreshold}
	schema, err := docs.Schema(docs.EnhancedSchema)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bar.DecodeRaw(data)
		if err != nil {
			if _, ok := err.(*bar.InvalidError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		enc := bar.AppendRaw(nil, &r)
		r2, err := bar.DecodeRaw(enc)
		if err != nil {
			t.Fatalf("re-decode of %s (from %q): %v", enc, data, err)
		}
		if !r2.Time.Equal(r.Time) {
			t.Fatalf("time changed: %v -> %v", r.Time, r2.Time)
		}
		r.Time = r2.Time
		if r2 != r {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
		h := fnv.New64a()
		h.Write(data)
		drawn := math.Float64frombits(binary.LittleEndian.Uint64(h.Sum(nil)))
		td := bar.TradingDate(r.Time)
		for _, pc := range []float64{bar.MinPrice, bar.MaxPrice, math.Nextafter(bar.MinPrice, 1), r.Close, r.Close * 1.05, r.Close / 1.05, drawn, math.Abs(math.Mod(drawn, 1000))} {
			ok := (prevclose.Close{Symbol: r.Symbol, Date: td, Close: pc}).Validate() == nil // only what a store can hold
			en, err := rules.Checked(&r, td, pc, ok)
			if err != nil {
				t.Fatalf("previous close %v: %v", pc, err)
			}
			out := bar.AppendEnriched(nil, &en)
			if !json.Valid(out) {
				t.Fatalf("previous close %v: not JSON: %s", pc, out)
			}
			if err := docs.ValidateJSON(schema, out); err != nil {
				t.Fatalf("previous close %v: %s: %v", pc, out, err)
			}
			back, err := bar.DecodeEnriched(out)
			if err != nil {
				t.Fatalf("previous close %v: %s: %v", pc, out, err)
			}
			if back.HasPrev != ok || (ok && (math.IsInf(back.Change, 0) || math.IsNaN(back.Change))) {
				t.Fatalf("previous close %v (storable %v): %s", pc, ok, out)
			}
		}
	})
}
