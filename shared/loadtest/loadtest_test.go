package loadtest

import (
	"context"
	"testing"
	"time"
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
