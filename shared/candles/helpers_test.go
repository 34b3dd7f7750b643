package candles_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
)

// stream draws a partition's raw bars: a few symbols trading on most minutes (one rarely: a quiet symbol),
// minutes where nobody trades, sub-minute stamps, corrections of earlier bars (same symbol and time, other
// values) and late bars up to lateness minutes behind the watermark, repeats of recent records, optional trade counts and vwaps, zero
// volumes.
func stream(rng *rand.Rand, n int, lateness int) []bar.Raw {
	syms := []string{"AAPL", "BRK.B", "JPM", "QUIET"}
	t := time.Date(2024, 10, 30, 13, 27, 0, 0, time.UTC).Add(time.Duration(rng.IntN(600)) * time.Minute)
	seen := map[string][]time.Time{}
	var out []bar.Raw
	for len(out) < n {
		switch r := rng.Float64(); {
		case r < 0.08:
			t = t.Add(time.Duration(2+rng.IntN(40)) * time.Minute) // nobody trades for a while
		case r < 0.1:
			t = t.Add(time.Duration(rng.IntN(5)) * time.Second) // a sub-minute stamp
		default:
			t = t.Add(time.Minute)
		}
		for _, sym := range syms {
			if (sym == "QUIET" && rng.IntN(90) != 0) || rng.IntN(5) == 0 {
				continue
			}
			out = append(out, randomBar(rng, sym, t))
			seen[sym] = append(seen[sym], t)
		}
		if lateness > 0 && rng.IntN(4) == 0 {
			sym := syms[rng.IntN(3)]
			back := t.Add(-time.Duration(1+rng.IntN(lateness)) * time.Minute)
			if ts := seen[sym]; len(ts) > 0 && rng.IntN(2) == 0 {
				back = ts[len(ts)-1-rng.IntN(min(len(ts), 3))] // a correction of a recent bar
			}
			if !back.After(t) {
				out = append(out, randomBar(rng, sym, back))
			}
		}
		if rng.IntN(30) == 0 && len(out) > 0 {
			out = append(out, out[len(out)-1-rng.IntN(min(len(out), 10))]) // a repeat of a recent record
		}
	}
	return out[:n]
}

func randomBar(rng *rand.Rand, sym string, t time.Time) bar.Raw {
	base := 50 + 400*rng.Float64()
	o, c := base*(1+0.01*rng.NormFloat64()), base*(1+0.01*rng.NormFloat64())
	hi, lo := max(o, c)*(1+0.002*rng.Float64()), min(o, c)*(1-0.002*rng.Float64())
	b := bar.Raw{Symbol: sym, Open: round(o), High: round(hi), Low: round(lo), Close: round(c), Time: t}
	b.High, b.Low = max(b.High, b.Open, b.Close), min(b.Low, b.Open, b.Close)
	if rng.IntN(15) != 0 {
		b.Volume = float64(1 + rng.IntN(300000))
	}
	if rng.IntN(3) != 0 {
		b.TradeCount, b.HasTradeCount = float64(rng.IntN(5000)), true
	}
	if rng.IntN(3) != 0 {
		b.VWAP, b.HasVWAP = round(b.Low+(b.High-b.Low)*rng.Float64()), true
	}
	return b
}

func round(f float64) float64 { return math.Round(f*10000) / 10000 }

// key names a candle: symbol|interval|start.
type key = candlecheck.Key

func keyOf(c *candles.Candle) key { return candlecheck.KeyOf(c) }

type groups = candlecheck.Groups

func independent(bars []bar.Raw, intervals []string) map[key]candles.Candle {
	return candlecheck.Aggregate(bars, intervals)
}

// sameCandle reports whether got matches want: counts and flags exactly, values to 1e-9 (relative).
func sameCandle(t *testing.T, where string, got, want candles.Candle) bool {
	t.Helper()
	if d := candlecheck.Diff(got, want); d != "" {
		t.Errorf("%s:%s", where, d)
		return false
	}
	return true
}
