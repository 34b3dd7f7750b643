// Package loadtest measures the local pipeline end to end: it pushes bars into `raw` through the embedded broker,
// local event-source mappings and the real enrich handler, either at a steady rate or as a market of per-minute
// bursts, times each bar until it is readable in `enhanced`, and checks every enriched bar.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/topics"
)

// Config is one run: a steady rate (Bars, Rate) or, when Symbols is set, a market of bursts (Symbols, Minutes).
type Config struct {
	Bars int // how many bars to push at Rate
	// Rate is bars per second; 0 pushes as fast as the producer takes them.
	Rate float64

	// Symbols and Minutes, when Symbols is set, replace Bars and Rate: for every simulated market minute one bar
	// per symbol is written, spread over Burst (as Alpaca sends a closed minute's bars within about a second),
	// and minutes start MinuteEvery apart (a market minute compressed to MinuteEvery of wall time).
	Symbols     int
	Minutes     int
	MinuteEvery time.Duration // default 3s
	Burst       time.Duration // default 1s

	// NoCloseEvery leaves one symbol in NoCloseEvery without a previous close (0: every symbol has one); see
	// Market.
	NoCloseEvery int
	// BadEvery makes every n-th bar invalid (0: none), so the dead-letter path is measured too.
	BadEvery int
	// BatchSize and BatchWindow configure the event-source mappings as the template would.
	BatchSize   int
	BatchWindow time.Duration
	// Partitions of each topic (default 4). Concurrency is how many execution environments run the enrich
	// handler at once, each with its own producer and previous-close cache, all in one consumer group (default:
	// one per partition, as the MSK event source scales).
	Partitions  int
	Concurrency int
	// NewStore makes the previous-close store of one execution environment; now is the run's clock, on which a
	// market minute lasts MinuteEvery, for the cache's lifetimes. Nil: the market's closes in memory behind a
	// prevclose.Cache. The store must hold Market.Closes of the run's market.
	NewStore func(now func() time.Time) (enrich.PrevCloses, error)
	// Requests, when set, reads a running count of the store's requests (DynamoDB), reported per minute.
	Requests func() int64
	// Progress, when set, is called about once a second while the run goes on.
	Progress func(Progress)
	// Timeout bounds the whole run.
	Timeout time.Duration
}

// Defaults of a run.
const (
	DefaultMinuteEvery = 3 * time.Second
	DefaultBurst       = time.Second
	DefaultPartitions  = 4
	// RateSymbols is how many symbols a steady-rate run cycles through (NewMarket(RateSymbols, ...) is its market).
	RateSymbols = 50
	// benchGroup is the enrich function's group: the only one the service principal may read raw with.
	benchGroup = topics.EnrichGroup
)

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Symbols > 0 {
		if c.Minutes <= 0 {
			errs = append(errs, fmt.Errorf("minutes must be positive, got %d", c.Minutes))
		}
		if c.MinuteEvery == 0 {
			c.MinuteEvery = DefaultMinuteEvery
		}
		if c.Burst == 0 {
			c.Burst = DefaultBurst
		}
		if c.MinuteEvery < 0 || c.Burst < 0 || c.Burst > c.MinuteEvery {
			errs = append(errs, fmt.Errorf("burst (%v) must fit in a minute (%v), both positive", c.Burst, c.MinuteEvery))
		}
		c.Bars = c.Symbols * max(c.Minutes, 0)
	} else if c.Symbols < 0 || c.Bars <= 0 {
		errs = append(errs, errors.New("bars (or symbols) must be positive"))
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate must be >= 0, got %v", c.Rate))
	}
	if c.BadEvery < 0 {
		errs = append(errs, fmt.Errorf("bad-every must be >= 0, got %d", c.BadEvery))
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Concurrency == 0 {
		c.Concurrency = c.Partitions
	}
	if c.Partitions < 1 || c.Partitions > 1000 || c.Concurrency < 1 || c.Concurrency > 1000 {
		errs = append(errs, fmt.Errorf("partitions (%d) and concurrency (%d) must be 1..1000", c.Partitions, c.Concurrency))
	}
	if c.Timeout == 0 {
		c.Timeout = 5*time.Minute + c.planned()
	}
	return c, errors.Join(errs...)
}

// planned is how long writing the bars should take.
func (c Config) planned() time.Duration {
	if c.Symbols > 0 {
		return time.Duration(max(c.Minutes-1, 0))*c.MinuteEvery + c.Burst
	}
	if c.Rate > 0 {
		return time.Duration(float64(c.Bars) / c.Rate * float64(time.Second))
	}
	return 0
}

// Progress is how far a run is.
type Progress struct {
	Written, Enriched, Want int // bars written to raw, enriched bars read back, bars expected in enhanced
	Minute, Minutes         int // the burst being written (1-based; 0 for a steady-rate run)
	Elapsed                 time.Duration
	ETA                     time.Duration // estimated time left; 0 when unknown
}

// Result is what a run measured.
type Result struct {
	Records    int           // enriched bars read back (duplicates from retries not counted)
	DLQ        int           // records in raw.dlq
	Elapsed    time.Duration // first produce to last enriched bar read
	Throughput float64       // records per second over Elapsed
	P50, P99   time.Duration // latency from the produce call to readable in enhanced, over every bar
	Max        time.Duration

	Bursts  int           // simulated minutes written (0 for a steady-rate run)
	ColdMax time.Duration // the slowest bar of the first burst (cold caches)
	// Unexpected counts enriched bars that differ from what the enrich rules give with the market's closes.
	Unexpected int
	Duplicates int // enriched bars read more than once (redelivered batches)
	Indicators map[bar.Indicator]int

	// Store requests during the run, when Config.Requests is set: in all, in the first minute (cold), and per
	// later minute on average (warm).
	Counted               bool
	Requests              int64
	FirstMinuteRequests   int64
	WarmRequestsPerMinute float64
}

// Pairs are the result as `name value` lines, in a fixed order: the steady-rate lines first, then a burst run's
// and the store's.
func (r Result) Pairs() [][2]string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }
	p := [][2]string{
		{"throughput_records_per_s", fmt.Sprintf("%.0f", r.Throughput)},
		{"latency_p50_ms", ms(r.P50)},
		{"latency_p99_ms", ms(r.P99)},
		{"latency_max_ms", ms(r.Max)},
		{"dlq_records", fmt.Sprint(r.DLQ)},
	}
	if r.Bursts > 0 {
		p = append(p,
			[2]string{"burst_latency_p50_ms", ms(r.P50)},
			[2]string{"burst_latency_p99_ms", ms(r.P99)},
			[2]string{"burst_latency_max_ms", ms(r.Max)},
			[2]string{"burst_cold_max_ms", ms(r.ColdMax)},
			[2]string{"enriched_bullish", fmt.Sprint(r.Indicators[bar.Bullish])},
			[2]string{"enriched_bearish", fmt.Sprint(r.Indicators[bar.Bearish])},
			[2]string{"enriched_neutral", fmt.Sprint(r.Indicators[bar.Neutral])},
			[2]string{"enriched_unknown", fmt.Sprint(r.Indicators[bar.Unknown])},
			[2]string{"unexpected_enrichments", fmt.Sprint(r.Unexpected)},
		)
	}
	if r.Counted {
		p = append(p, [2]string{"dynamodb_requests", fmt.Sprint(r.Requests)})
		if r.Bursts > 0 {
			p = append(p,
				[2]string{"dynamodb_requests_first_minute", fmt.Sprint(r.FirstMinuteRequests)},
				[2]string{"dynamodb_requests_per_warm_minute", fmt.Sprintf("%.1f", r.WarmRequestsPerMinute)},
			)
		}
	}
	return p
}

// Run starts the stack in this process, pushes the bars, and measures.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r, err := newRun(ctx, cfg, log)
	if err != nil {
		return Result{}, err
	}
	defer r.close()
	return r.measure(ctx)
}

// percentile is the nearest-rank index of p in n sorted values.
func percentile(n int, p float64) int {
	i := int(math.Ceil(p*float64(n))) - 1
	return min(max(i, 0), n-1)
}
