package loadtest

import (
	"context"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func TestRunCountsEveryBar(t *testing.T) {
	res, err := Run(context.Background(), Config{Bars: 600, Rate: 0, BadEvery: 100, BatchSize: 100, Timeout: 2 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 594 || res.DLQ != 6 {
		t.Errorf("got %d enriched and %d dead letters, want 594 and 6", res.Records, res.DLQ)
	}
	if !(res.P50 > 0 && res.P50 <= res.P99 && res.P99 <= res.Max) || res.Throughput <= 0 {
		t.Errorf("inconsistent measures: %+v", res)
	}
	names := []string{"throughput_records_per_s", "latency_p50_ms", "latency_p99_ms", "latency_max_ms", "dlq_records"}
	for i, p := range res.Pairs() {
		if p[0] != names[i] || p[1] == "" {
			t.Errorf("pair %d: %v, want name %s", i, p, names[i])
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{{Bars: 0}, {Bars: 10, Rate: -1}} {
		if _, err := Run(context.Background(), c, nil); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestPercentile(t *testing.T) {
	for _, tt := range []struct {
		n    int
		p    float64
		want int
	}{{100, 0.5, 49}, {100, 0.99, 98}, {1, 0.99, 0}, {10, 1, 9}, {3, 0.5, 1}} {
		if got := percentile(tt.n, tt.p); got != tt.want {
			t.Errorf("percentile(%d, %v) = %d, want %d", tt.n, tt.p, got, tt.want)
		}
	}
}

func TestRunMarketBursts(t *testing.T) {
	var progress []Progress
	res, err := Run(context.Background(), Config{
		Symbols: 200, Minutes: 2, MinuteEvery: 500 * time.Millisecond, Burst: 200 * time.Millisecond, BatchSize: 100, NoCloseEvery: 200,
		Partitions: 2, Progress: func(p Progress) { progress = append(progress, p) }, Timeout: 2 * time.Minute,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// per minute: 1 of 200 symbols without a close, 20 Bullish, 20 Bearish, the rest Neutral
	want := map[bar.Indicator]int{bar.Unknown: 2, bar.Bullish: 40, bar.Bearish: 40, bar.Neutral: 318}
	if res.Records != 400 || res.Bursts != 2 || res.Unexpected != 0 || !maps.Equal(res.Indicators, want) {
		t.Errorf("got %d records in %d bursts, %d unexpected, indicators %v; want 400 in 2, 0, %v",
			res.Records, res.Bursts, res.Unexpected, res.Indicators, want)
	}
	if !(res.P50 > 0 && res.P50 <= res.P99 && res.P99 <= res.Max && res.ColdMax > 0 && res.ColdMax <= res.Max) {
		t.Errorf("inconsistent measures: %+v", res)
	}
	names := map[string]bool{}
	for _, p := range res.Pairs() {
		names[p[0]] = true
	}
	for _, n := range []string{"burst_latency_p50_ms", "burst_latency_p99_ms", "burst_latency_max_ms", "unexpected_enrichments"} {
		if !names[n] {
			t.Errorf("no %s in %v", n, res.Pairs())
		}
	}
	if names["dynamodb_requests"] {
		t.Errorf("dynamodb_requests printed without a request counter")
	}
	for _, p := range progress {
		if p.Minutes != 2 || p.Want != 400 || p.Written > 400 {
			t.Errorf("progress %+v, want 2 minutes and 400 bars", p)
		}
	}
}

// A store with other closes than the market's makes every bar with a close unexpected.
func TestRunCountsUnexpectedEnrichments(t *testing.T) {
	m := NewMarket(40, DefaultNoCloseEvery)
	var closes []prevclose.Close
	for _, c := range m.Closes() {
		c.Close *= 2
		closes = append(closes, c)
	}
	mem, err := prevclose.NewMemory(closes...)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	res, err := Run(context.Background(), Config{
		Symbols: 40, Minutes: 1, MinuteEvery: 200 * time.Millisecond, Burst: 100 * time.Millisecond, Partitions: 1, NoCloseEvery: DefaultNoCloseEvery,
		NewStore: func(func() time.Time) (enrich.PrevCloses, error) { return mem, nil },
		Requests: func() int64 { return calls.Add(1) }, Timeout: 2 * time.Minute,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unexpected != 39 {
		t.Errorf("got %d unexpected enrichments, want 39 (every symbol with a close)", res.Unexpected)
	}
	if !res.Counted {
		t.Errorf("requests not counted: %+v", res)
	}
}

func TestSymbolNamesAreDistinctAndValid(t *testing.T) {
	m := NewMarket(20000, 0)
	seen := map[string]bool{}
	for _, s := range m.Symbols() {
		if seen[s] || bar.ValidateSymbol(s) != nil {
			t.Fatalf("symbol %q repeated or invalid", s)
		}
		seen[s] = true
	}
	if m.Symbols()[0] != "AAAA" || m.Symbols()[27] != "AABB" {
		t.Errorf("got %s and %s, want AAAA and AABB", m.Symbols()[0], m.Symbols()[27])
	}
	for i := range 20000 {
		for k := range 3 {
			b := m.Bar(i, k)
			if err := b.Validate(); err != nil {
				t.Fatalf("bar %d/%d: %v", i, k, err)
			}
		}
	}
}

func TestMarketLeavesOneSymbolInNWithoutAClose(t *testing.T) {
	for _, tt := range []struct{ every, want int }{{0, 400}, {200, 398}, {20, 380}, {5, 380}} {
		if got := len(NewMarket(400, tt.every).Closes()); got != tt.want {
			t.Errorf("NewMarket(400, %d): %d closes, want %d", tt.every, got, tt.want)
		}
	}
}

func TestProgressETA(t *testing.T) {
	start := time.Now().Add(-10 * time.Second)
	burst := &run{cfg: Config{Symbols: 100, Minutes: 10, MinuteEvery: 3 * time.Second, Burst: time.Second}}
	if p := burst.progress(start, 400, 300, 1000, 4, 50); p.ETA < 17*time.Second || p.ETA > 19*time.Second || p.Minutes != 10 {
		t.Errorf("while writing: %+v, want about 18 s left (the plan: 9 minutes of 3 s + 1 s, 10 s gone)", p)
	}
	done := &run{cfg: Config{Bars: 1000}}
	if p := done.progress(start, 1000, 500, 1000, 0, 100); p.ETA != 5*time.Second {
		t.Errorf("after writing: ETA %v, want 5s (500 left at 100 a second)", p.ETA)
	}
	if p := done.progress(start, 1000, 500, 1000, 0, 0); p.ETA != 0 {
		t.Errorf("nothing moved: ETA %v, want 0 (unknown)", p.ETA)
	}
}
