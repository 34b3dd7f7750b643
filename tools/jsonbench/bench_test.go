package jsonbench

import (
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

// The benchmarks run every codec on the same records in one run, one sub-benchmark per codec
// (benchstat -col /codec compares them), and report CPU time beside wall-clock time (see cpuTime).

// benchRaw is one record of the reference producer's formatting, as bar's own benchmarks use.
var benchRaw = []byte(`{"open": 194.58, "high": 194.64, "low": 194.58, "close": 194.64, "volume": 255.0, "trade_count": 9.0, "vwap": 194.61, "timestamp": "2024-07-11 19:49:00", "symbol": "AMZN"}`)

func BenchmarkDecodeRaw(b *testing.B) {
	for _, c := range Codecs() {
		b.Run("codec="+c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				if _, err := c.DecodeRaw(benchRaw); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, 0)
		})
	}
}

func BenchmarkAppendEnriched(b *testing.B) {
	r, err := bar.DecodeRaw(benchRaw)
	if err != nil {
		b.Fatal(err)
	}
	e := rules.Apply(&r, 196.365, true)
	for _, c := range Codecs() {
		b.Run("codec="+c.Name(), func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				if buf, err = c.AppendEnriched(buf[:0], &e); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, 0)
		})
	}
}

// benchEnrich is the hot path end to end (decode raw, previous close, rules, encode enriched) over recs, into a
// reused output buffer; it reports ns/record and cpu-ns/record.
func benchEnrich(b *testing.B, recs [][]byte, closes map[enrich.Lookup]float64, wantRejected int) {
	for _, c := range Codecs() {
		b.Run("codec="+c.Name(), func(b *testing.B) {
			var out []byte
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				var rejected int
				var err error
				if out, rejected, err = Enrich(c, rules, closes, recs, out[:0]); err != nil || rejected != wantRejected {
					b.Fatalf("rejected %d, err %v; want %d rejected", rejected, err, wantRejected)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			reportCPU(b, start, len(recs))
		})
	}
}

// BenchmarkEnrichJPM: the JPM fixture's 870 real bars (one day without a previous close, one with).
func BenchmarkEnrichJPM(b *testing.B) {
	recs, closes := jpm(b)
	benchEnrich(b, recs, closes, 0)
}

// BenchmarkEnrich10k: the synthetic 10,000-record batch of shared/enrichfn's benchmarks (1% invalid).
func BenchmarkEnrich10k(b *testing.B) {
	recs, closes := Synthetic(10_000)
	benchEnrich(b, recs, closes, 100)
}
