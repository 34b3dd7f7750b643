// Package loadtest measures the local pipeline end to end: it pushes bars into `raw` at a set rate through the
// embedded broker, the local event-source mapping and the real enrich handler, and times each bar until it is
// readable in `enhanced`.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/broker"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/esm"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// Config is one run.
type Config struct {
	Bars int // how many bars to push
	// Rate is bars per second; 0 pushes as fast as the producer takes them.
	Rate float64
	// BadEvery makes every n-th bar invalid (0: none), so the dead-letter path is measured too.
	BadEvery int
	// BatchSize and BatchWindow configure the event-source mapping as the template would.
	BatchSize   int
	BatchWindow time.Duration
	// Timeout bounds the whole run.
	Timeout time.Duration
}

// Result is what a run measured.
type Result struct {
	Records    int           // enriched bars read back
	DLQ        int           // records in raw.dlq
	Elapsed    time.Duration // first produce to last enriched bar read
	Throughput float64       // records per second over Elapsed
	P50, P99   time.Duration
	Max        time.Duration
}

// Pairs are the result as `name value` lines, in a fixed order.
func (r Result) Pairs() [][2]string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }
	return [][2]string{
		{"throughput_records_per_s", fmt.Sprintf("%.0f", r.Throughput)},
		{"latency_p50_ms", ms(r.P50)},
		{"latency_p99_ms", ms(r.P99)},
		{"latency_max_ms", ms(r.Max)},
		{"dlq_records", fmt.Sprint(r.DLQ)},
	}
}

const symbols = 50

// Run starts the stack in this process, pushes the bars, and measures.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (Result, error) {
	if cfg.Bars <= 0 {
		return Result{}, errors.New("bars must be positive")
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return Result{}, fmt.Errorf("rate must be >= 0, got %v", cfg.Rate)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5*time.Minute + time.Duration(float64(cfg.Bars)/math.Max(cfg.Rate, 1)*float64(time.Second))
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	b, err := broker.Start(ctx, broker.Config{})
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	svc := b.ServiceKafka()

	// the enrich stage, exactly as feed local and Lambda run it
	store, err := prevclose.NewMemory(closes()...)
	if err != nil {
		return Result{}, err
	}
	out, err := kafka.NewClient(ctx, svc, kafka.Deps{}, kgo.ProducerLinger(0))
	if err != nil {
		return Result{}, err
	}
	defer out.Close()
	h := enrichfn.NewHandler(&enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: prevclose.NewCache(store, prevclose.CacheOptions{})},
		out, broker.TopicEnhanced, broker.TopicRawDLQ, log)
	mapping, err := esm.New(ctx, svc, esm.Config{Topic: broker.TopicRaw, Group: "finfeed-bench", BatchSize: cfg.BatchSize, BatchWindow: cfg.BatchWindow},
		func(ctx context.Context, ev events.KafkaEvent) error { _, err := h.Handle(ctx, ev); return err }, log)
	if err != nil {
		return Result{}, err
	}
	runCtx, stopMapping := context.WithCancel(ctx)
	mappingDone := make(chan error, 1)
	go func() { mappingDone <- mapping.Run(runCtx) }()
	defer func() { stopMapping(); <-mappingDone }()

	// the customer's side: read enhanced and raw.dlq
	reader, err := kafka.NewClient(ctx, svc, kafka.Deps{}, kgo.ConsumeTopics(broker.TopicEnhanced, broker.TopicRawDLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return Result{}, err
	}
	defer reader.Close()

	bad := 0
	if cfg.BadEvery > 0 {
		bad = cfg.Bars / cfg.BadEvery
	}
	want := cfg.Bars - bad
	var sent sync.Map // "SYMBOL|timestamp" -> time.Time of the produce call
	lat := make([]time.Duration, 0, want)
	var dlq atomic.Int64
	var last time.Time
	readDone := make(chan error, 1)
	go func() {
		for len(lat) < want || int(dlq.Load()) < bad {
			fs := reader.PollFetches(ctx)
			if ctx.Err() != nil {
				readDone <- fmt.Errorf("read %d of %d enriched bars and %d of %d dead letters before the timeout", len(lat), want, dlq.Load(), bad)
				return
			}
			now := time.Now()
			var ferr error
			fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
			if ferr != nil {
				readDone <- ferr
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				if r.Topic == broker.TopicRawDLQ {
					dlq.Add(1)
					return
				}
				e, err := bar.DecodeEnriched(r.Value)
				if err != nil {
					return
				}
				if t0, ok := sent.Load(e.Symbol + "|" + e.Time.Format(bar.TimestampLayout)); ok {
					lat = append(lat, now.Sub(t0.(time.Time)))
					last = now
				}
			})
		}
		readDone <- nil
	}()

	in, err := kafka.NewClient(ctx, svc, kafka.Deps{}, kgo.ProducerLinger(0))
	if err != nil {
		return Result{}, err
	}
	defer in.Close()
	start := time.Now()
	var produceErr atomic.Value
	day := time.Date(2024, 7, 11, 8, 0, 0, 0, time.UTC)
	for i := range cfg.Bars {
		if cfg.Rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		sym := fmt.Sprintf("SYM%02d", i%symbols)
		ts := day.Add(time.Duration(i/symbols) * time.Minute)
		price := 100 + float64(i%symbols) + float64(i%7)*0.25
		r := bar.Raw{Symbol: sym, Open: price, High: price + 0.5, Low: price - 0.5, Close: price + 0.1, Volume: float64(100 + i%1000), Time: ts}
		value := bar.AppendRaw(nil, &r)
		if cfg.BadEvery > 0 && i%cfg.BadEvery == cfg.BadEvery-1 {
			value = []byte(`{"symbol":"` + sym + `","close":"not a number"}`)
		} else {
			sent.Store(sym+"|"+ts.Format(bar.TimestampLayout), time.Now())
		}
		in.Produce(ctx, &kgo.Record{Topic: broker.TopicRaw, Key: []byte(sym), Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				produceErr.CompareAndSwap(nil, err)
			}
		})
	}
	if err := in.Flush(ctx); err != nil {
		return Result{}, fmt.Errorf("produce: %w", err)
	}
	if err, _ := produceErr.Load().(error); err != nil {
		return Result{}, fmt.Errorf("produce: %w", err)
	}
	if err := <-readDone; err != nil {
		return Result{}, err
	}
	slices.Sort(lat)
	res := Result{Records: len(lat), DLQ: int(dlq.Load()), Elapsed: last.Sub(start)}
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Records) / res.Elapsed.Seconds()
	}
	if len(lat) > 0 {
		res.P50 = lat[percentile(len(lat), 0.50)]
		res.P99 = lat[percentile(len(lat), 0.99)]
		res.Max = lat[len(lat)-1]
	}
	return res, nil
}

// percentile is the nearest-rank index of p in n sorted values.
func percentile(n int, p float64) int {
	i := int(math.Ceil(p*float64(n))) - 1
	return min(max(i, 0), n-1)
}

// closes are previous closes for the bench symbols.
func closes() []prevclose.Close {
	var cs []prevclose.Close
	for s := range symbols {
		cs = append(cs, prevclose.Close{Symbol: fmt.Sprintf("SYM%02d", s), Date: bar.Date{Year: 2024, Month: 7, Day: 10}, Close: 100 + float64(s)})
	}
	return cs
}
