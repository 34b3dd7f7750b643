package candles_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

var allIntervals = []string{"5m", "15m", "1h"}

func config(t testing.TB, grace time.Duration, partial bool) candles.Config {
	t.Helper()
	ivs, err := candles.ParseIntervals("5m,15m,1h")
	if err != nil {
		t.Fatal(err)
	}
	cfg := candles.Config{Intervals: ivs, Grace: grace, Horizon: 24 * time.Hour, Partial: partial}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMatchesIndependentAggregation runs random partitions with corrections, late bars and a quiet symbol, and
// checks every record against an aggregation that groups the bars after the fact: the newest record of each
// candle equals the aggregate of all its bars; each record equals the aggregate of the bars read up to the bar
// that published it; a candle is first published on the first bar that brings the watermark to its end + grace
// (or on its own late bar, or at Close), and re-published only by a bar of its own that changed it.
func TestMatchesIndependentAggregation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		grace    time.Duration
		lateness int
		partial  bool
	}{
		{"in order, grace 1m", time.Minute, 0, false},
		{"corrections and late bars, grace 1m", time.Minute, 20, false},
		{"corrections and late bars, grace 0", 0, 20, false},
		{"very late bars, grace 3m", 3 * time.Minute, 150, false},
		{"partial", time.Minute, 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(8) {
				rng := rand.New(rand.NewPCG(seed, 15))
				bars := stream(rng, 3000, tc.lateness)
				checkAgainstIndependent(t, fmt.Sprintf("seed %d", seed), config(t, tc.grace, tc.partial), bars)
			}
		})
	}
}

func checkAgainstIndependent(t *testing.T, name string, cfg candles.Config, bars []bar.Raw) {
	t.Helper()
	p := candles.NewPartition(cfg)
	minutes := map[string]time.Duration{"5m": 5 * time.Minute, "15m": 15 * time.Minute, "1h": time.Hour}
	newest := map[key]candles.Candle{}
	var wm, prevWM time.Time // the watermark after and before the current line
	prefix := groups{}       // the bars read so far
	fails := 0
	check := func(i int, out []candles.Candle) {
		for _, c := range out {
			k := keyOf(&c)
			end := c.Start.Add(minutes[c.Interval])
			want := prefix.Reduce(k)
			want.Final = c.Final
			if !sameCandle(t, fmt.Sprintf("%s: after line %d (watermark %v)", name, i, wm), c, want) {
				fails++
			}
			ownBar := i < len(bars) && bars[i].Symbol == c.Symbol && !bars[i].Time.Before(c.Start) && bars[i].Time.Before(end)
			closedNow := !wm.Before(end.Add(cfg.Grace))
			switch {
			case !c.Final:
				if !cfg.Partial || !ownBar || closedNow {
					t.Errorf("%s: line %d: running candle %v not from its own bar of an open interval", name, i, k)
				}
			case i == len(bars): // Close
				if _, seen := newest[k]; seen {
					t.Errorf("%s: Close published %v again", name, k)
				}
			case !closedNow:
				t.Errorf("%s: line %d: %v final before the watermark %v reached its end + grace", name, i, k, wm)
			case ownBar:
				if prev, seen := newest[k]; seen && prev == c {
					t.Errorf("%s: line %d: %v re-published unchanged", name, i, k)
				}
			default:
				if _, seen := newest[k]; seen {
					t.Errorf("%s: line %d: %v re-published by another symbol's bar", name, i, k)
				}
				// the first publication: this line is the first to bring the watermark to end + grace
				if i > 0 && !prevWM.Before(end.Add(cfg.Grace)) {
					t.Errorf("%s: line %d: %v published late (watermark was already %v)", name, i, k, prevWM)
				}
			}
			if c.Final {
				newest[k] = c
			}
			if fails > 5 {
				t.FailNow()
			}
		}
	}
	for i := range bars {
		prevWM = wm
		if bars[i].Time.After(wm) {
			wm = bars[i].Time
		}
		prefix.Add(bars[i], allIntervals)
		check(i, p.Apply(&bars[i]))
	}
	check(len(bars), p.Close())
	want := independent(bars, allIntervals)
	if len(newest) != len(want) {
		t.Errorf("%s: %d candles published, the independent aggregation has %d", name, len(newest), len(want))
	}
	for k, w := range want {
		if got, ok := newest[k]; !ok {
			t.Errorf("%s: %v never published", name, k)
		} else {
			sameCandle(t, name+": newest record", got, w)
		}
	}
	if p.TooLate() != 0 {
		t.Errorf("%s: TooLate = %d, want 0 (horizon 24h)", name, p.TooLate())
	}
}

// TestSplitAndRestoreIsDeterministic: cutting the input anywhere, saving the state with AppendBinary and going
// on in a new Partition restored with DecodeBinary gives the same records and the same state bytes as one pass.
func TestSplitAndRestoreIsDeterministic(t *testing.T) {
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 99))
		bars := stream(rng, 2500, 30)
		cfg := config(t, time.Minute, seed%2 == 1)
		cfg.Horizon = time.Duration(5+rng.IntN(30)) * time.Minute // some bars too late
		one := candles.NewPartition(cfg)
		var want []byte
		for i := range bars {
			want = appendAll(want, one.Apply(&bars[i]))
		}
		want = appendAll(want, one.Close())
		wantState := one.AppendBinary(nil)

		p := candles.NewPartition(cfg)
		var got []byte
		for i := range bars {
			if rng.IntN(40) == 0 {
				state := p.AppendBinary([]byte("prefix"))
				p = candles.NewPartition(cfg)
				rest, err := p.DecodeBinary(append(state[len("prefix"):], "tail"...))
				if err != nil {
					t.Fatalf("seed %d line %d: decode: %v", seed, i, err)
				}
				if string(rest) != "tail" {
					t.Fatalf("seed %d: rest = %q, want the tail", seed, rest)
				}
				if again := p.AppendBinary(nil); !bytes.Equal(again, state[len("prefix"):]) {
					t.Fatalf("seed %d line %d: state changed through the codec", seed, i)
				}
			}
			got = appendAll(got, p.Apply(&bars[i]))
		}
		got = appendAll(got, p.Close())
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: split output differs from one pass (%d vs %d bytes)", seed, len(got), len(want))
		}
		if !bytes.Equal(p.AppendBinary(nil), wantState) {
			t.Fatalf("seed %d: split state differs from one pass", seed)
		}
		if one.TooLate() == 0 {
			t.Errorf("seed %d: no bar was too late: the horizon path is not exercised", seed)
		}
	}
}

func appendAll(dst []byte, cs []candles.Candle) []byte {
	for i := range cs {
		dst = candles.AppendCandle(dst, &cs[i])
		dst = append(dst, '\n')
	}
	return dst
}
