package candles_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

// TestRecordsMatchTheContract: every record of random partitions (finals, re-published and partial candles,
// missing trade counts and vwaps, zero volumes) and of the bounds' extremes satisfies
// docs/schemas/candle.schema.json.
func TestRecordsMatchTheContract(t *testing.T) {
	s, err := docs.Schema(docs.CandleSchema)
	if err != nil {
		t.Fatal(err)
	}
	check := func(cs []candles.Candle) {
		for i := range cs {
			b := candles.AppendCandle(nil, &cs[i])
			if err := docs.ValidateJSON(s, b); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
	}
	for seed := range uint64(3) {
		p := candles.NewPartition(config(t, time.Minute, true))
		bars := stream(rand.New(rand.NewPCG(seed, 5)), 1500, 20)
		for i := range bars {
			check(p.Apply(&bars[i]))
		}
		check(p.Close())
	}
	// an hour of bars at the bounds: the most a candle can hold
	p := candles.NewPartition(candles.DefaultConfig())
	for m := range 60 {
		b := bar.Raw{Symbol: "BRK.A", Open: bar.MaxPrice, High: bar.MaxPrice, Low: bar.MinPrice, Close: bar.MinPrice,
			Volume: bar.MaxVolume, TradeCount: bar.MaxTradeCount, HasTradeCount: true, VWAP: bar.MaxPrice, HasVWAP: true,
			Time: time.Date(2024, 1, 2, 14, m, 0, 0, time.UTC)}
		if err := b.Validate(); err != nil {
			t.Fatal(err)
		}
		check(p.Apply(&b))
	}
	check(p.Close())
}
