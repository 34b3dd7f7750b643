package jsonbench

import (
	"fmt"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

// Synthetic returns n raw records as shared/enrichfn's BenchmarkEnrichBatch10k builds them (100 symbols, a
// realistic spread of prices, the reference producer's formatting, one record in 100 invalid: high below low)
// and the previous closes of their symbols.
func Synthetic(n int) ([][]byte, map[enrich.Lookup]float64) {
	start := time.Date(2024, 7, 11, 13, 30, 0, 0, time.UTC)
	closes := map[enrich.Lookup]float64{}
	for s := range 100 {
		closes[enrich.Lookup{Symbol: fmt.Sprintf("SYM%02d", s), Before: bar.TradingDate(start)}] = 50 + float64(s)*3.7
	}
	recs := make([][]byte, n)
	for i := range n {
		s := i % 100
		price := 50 + float64(s)*3.7 + float64(i%37)*0.013 - 0.2
		recs[i] = fmt.Appendf(nil, `{"open": %v, "high": %v, "low": %v, "close": %v, "volume": %v.0, "trade_count": %d.0, "vwap": %v, "timestamp": "%s", "symbol": "SYM%02d"}`,
			price, price+0.05, price-0.04, price+0.01, 100+i%900, 1+i%50, price+0.003, start.Add(time.Duration(i/100)*time.Minute).Format(bar.TimestampLayout), s)
		if i%100 == 99 {
			recs[i] = []byte(`{"open": 1.0, "high": 0.5, "low": 1.0, "close": 1.0, "volume": 1.0, "timestamp": "2024-07-11 13:30:00", "symbol": "BAD"}`)
		}
	}
	return recs, closes
}
