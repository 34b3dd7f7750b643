package indicators_test

import (
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/indicators"
)

// BenchmarkSeriesApply: one in-sequence bar applied to a warm series (every indicator present), the enrich hot
// path's added cost per record.
func BenchmarkSeriesApply(b *testing.B) {
	bars := randomBars(42, 4096)
	var s indicators.Series
	t0 := time.Date(2025, 6, 12, 13, 0, 0, 0, time.UTC)
	for i := range 100 {
		bars[i].Time = t0.Add(time.Duration(i) * time.Minute)
		s.Apply(&bars[i])
	}
	b.ReportAllocs()
	i := 100
	for b.Loop() {
		x := bars[i%len(bars)]
		x.Time = t0.Add(time.Duration(i) * time.Minute) // minute after minute, across days
		if v := s.Apply(&x); !v.HasSMA50 {
			b.Fatalf("bar %d not in sequence: %+v", i, v)
		}
		i++
	}
}
