package bar

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/finfeed/finfeed/shared/fixtures"
)

// FuzzDecodeRaw: the decoder never panics, rejects only with an *InvalidError, and every accepted record
// re-encodes (AppendRaw) and decodes to the same value; its enriched form is valid for DecodeEnriched.
func FuzzDecodeRaw(f *testing.F) {
	f.Add([]byte(seedLine))
	f.Add([]byte(`{"symbol":"X","open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11T19:49:00.5+02:00","x":[{}]}`))
	f.Add([]byte(`{"symbol":"\ud83d\ude00","open":1e308,"high":1e308,"low":0,"close":5e-324,"volume":0,"timestamp":"2024-07-11 19:49:00"}`))
	f.Add([]byte(`{"open": NaN}`))
	for _, name := range []string{fixtures.SeedRaw, fixtures.JPMRaw} {
		sc := bufio.NewScanner(bytes.NewReader(fixtures.Read(f, name)))
		for i := 0; sc.Scan() && i < 20; i++ {
			f.Add(bytes.Clone(sc.Bytes()))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRaw(data)
		if err != nil {
			if _, ok := err.(*InvalidError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		enc := AppendRaw(nil, &r)
		r2, err := DecodeRaw(enc)
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
		e := Enriched{Symbol: r.Symbol, Close: r.Close, Open: r.Open, Low: r.Low, High: r.High, Volume: r.Volume, Time: r.Time,
			Indicator: Unknown, TradingDate: TradingDate(r.Time)}
		if _, err := DecodeEnriched(AppendEnriched(nil, &e)); err != nil {
			t.Fatalf("enriched form does not decode: %v", err)
		}
	})
}
