package loadtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/topics"
)

// sent is when a bar was written and in which burst.
type sent struct {
	at     time.Time
	minute int
}

// tally is what the reader has seen.
type tally struct {
	lat        []time.Duration
	coldMax    time.Duration
	unexpected int
	duplicates int
	indicators map[bar.Indicator]int
	dlq        int
	last       time.Time
}

// measure writes the bars, reads them back enriched and computes the result.
func (r *run) measure(ctx context.Context) (Result, error) {
	cfg := r.cfg
	bad := 0
	if cfg.BadEvery > 0 {
		bad = cfg.Bars / cfg.BadEvery
	}
	want := cfg.Bars - bad
	var (
		pending           sync.Map // "SYMBOL|timestamp" -> sent
		written, enriched atomic.Int64
		minute            atomic.Int64
	)
	t := tally{lat: make([]time.Duration, 0, want), indicators: map[bar.Indicator]int{}}
	readDone := make(chan error, 1)
	go func() { readDone <- r.read(ctx, &pending, &t, &enriched, want, bad) }()

	start := time.Now()
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress != nil {
		progressWG.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			last, lastAt := 0, start
			for {
				select {
				case <-progressDone:
					return
				case now := <-tick.C:
					n := int(enriched.Load())
					rate := float64(n-last) / now.Sub(lastAt).Seconds() // enriched bars a second, over the last tick
					last, lastAt = n, now
					cfg.Progress(r.progress(start, int(written.Load()), n, want, int(minute.Load()), rate))
				}
			}
		})
	}
	defer func() { close(progressDone); progressWG.Wait() }()

	requests := func() int64 { return 0 }
	if cfg.Requests != nil {
		requests = cfg.Requests
	}
	req0 := requests()
	var reqAt []int64 // store requests counted when each burst started
	var produceErr atomic.Value
	write := func(i, k, g int) {
		raw := r.market.Bar(i, k)
		value := bar.AppendRaw(nil, &raw)
		if cfg.BadEvery > 0 && g%cfg.BadEvery == cfg.BadEvery-1 {
			value = []byte(`{"symbol":"` + raw.Symbol + `","close":"not a number"}`)
		} else {
			pending.Store(raw.Symbol+"|"+raw.Time.Format(bar.TimestampLayout), sent{at: time.Now(), minute: k})
		}
		r.in.Produce(ctx, &kgo.Record{Topic: topics.Raw, Key: []byte(raw.Symbol), Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				produceErr.CompareAndSwap(nil, err)
			}
		})
		written.Add(1)
	}
	if cfg.Symbols > 0 {
		for k := range cfg.Minutes {
			burstStart := start.Add(time.Duration(k) * cfg.MinuteEvery)
			if !sleepUntil(ctx, burstStart) {
				break
			}
			minute.Store(int64(k + 1))
			reqAt = append(reqAt, requests())
			for i := range cfg.Symbols {
				// bar i of the burst is due i/Symbols of the way through it; sleep only in steps of 2 ms or more
				if at := burstStart.Add(time.Duration(int64(cfg.Burst) * int64(i) / int64(cfg.Symbols))); time.Until(at) > 2*time.Millisecond {
					sleepUntil(ctx, at)
				}
				write(i, k, k*cfg.Symbols+i)
			}
		}
	} else {
		for g := range cfg.Bars {
			if cfg.Rate > 0 {
				sleepUntil(ctx, start.Add(time.Duration(float64(g)/cfg.Rate*float64(time.Second))))
			}
			write(g%RateSymbols, g/RateSymbols, g)
		}
	}
	if err := r.in.Flush(ctx); err != nil {
		return Result{}, fmt.Errorf("produce: %w", err)
	}
	if err, _ := produceErr.Load().(error); err != nil {
		return Result{}, fmt.Errorf("produce: %w", err)
	}
	if err := <-readDone; err != nil {
		return Result{}, err
	}
	reqEnd := requests()

	slices.Sort(t.lat)
	res := Result{
		Records: len(t.lat), DLQ: t.dlq, Elapsed: t.last.Sub(start), Bursts: len(reqAt), ColdMax: t.coldMax,
		Unexpected: t.unexpected, Duplicates: t.duplicates, Indicators: t.indicators,
	}
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Records) / res.Elapsed.Seconds()
	}
	if len(t.lat) > 0 {
		res.P50 = t.lat[percentile(len(t.lat), 0.50)]
		res.P99 = t.lat[percentile(len(t.lat), 0.99)]
		res.Max = t.lat[len(t.lat)-1]
	}
	if cfg.Requests != nil {
		res.Counted = true
		res.Requests = reqEnd - req0
		if len(reqAt) > 0 {
			reqAt = append(reqAt, reqEnd)
			res.FirstMinuteRequests = reqAt[1] - reqAt[0]
			if warm := len(reqAt) - 2; warm > 0 {
				res.WarmRequestsPerMinute = float64(reqEnd-reqAt[1]) / float64(warm)
			}
		}
	}
	return res, nil
}

// read consumes enhanced and raw.dlq until every expected bar and dead letter has arrived, timing and checking
// each enriched bar.
func (r *run) read(ctx context.Context, pending *sync.Map, t *tally, enriched *atomic.Int64, want, bad int) error {
	rules := enrich.Rules{Threshold: enrich.DefaultThreshold}
	for len(t.lat) < want || t.dlq < bad {
		fs := r.reader.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %d of %d enriched bars and %d of %d dead letters before the timeout", len(t.lat), want, t.dlq, bad)
		}
		now := time.Now()
		var ferr error
		fs.EachError(func(topic string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", topic, p, err) })
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Topic == topics.RawDLQ {
				t.dlq++
				return
			}
			e, err := bar.DecodeEnriched(rec.Value)
			if err != nil {
				t.unexpected++
				return
			}
			v, ok := pending.LoadAndDelete(e.Symbol + "|" + e.Time.Format(bar.TimestampLayout))
			if !ok {
				t.duplicates++
				return
			}
			s := v.(sent)
			d := now.Sub(s.at)
			t.lat = append(t.lat, d)
			if s.minute == 0 {
				t.coldMax = max(t.coldMax, d)
			}
			t.last = now
			t.indicators[e.Indicator]++
			if !r.asExpected(rules, &e, s.minute) {
				t.unexpected++
			}
		})
		enriched.Store(int64(len(t.lat)))
	}
	return nil
}

// asExpected checks an enriched bar against the enrich rules applied to the bar written and the market's close.
func (r *run) asExpected(rules enrich.Rules, e *bar.Enriched, minute int) bool {
	i, pc, ok, known := r.market.expected(e.Symbol)
	if !known {
		return false
	}
	raw := r.market.Bar(i, minute)
	w := rules.Apply(&raw, pc, ok)
	return e.Indicator == w.Indicator && e.HasPrev == w.HasPrev && e.PrevClose == w.PrevClose && e.Change == w.Change &&
		e.Close == w.Close && e.Time.Equal(w.Time) && e.TradingDate == w.TradingDate
}

// progress estimates the time left from the writing plan, or once writing is done from the recent rate of
// enriched bars (0 when nothing moved: unknown).
func (r *run) progress(start time.Time, written, enriched, want, minute int, rate float64) Progress {
	p := Progress{Written: written, Enriched: enriched, Want: want, Minute: minute, Elapsed: time.Since(start)}
	if r.cfg.Symbols > 0 {
		p.Minutes = r.cfg.Minutes
	}
	if left := r.cfg.planned() - p.Elapsed; left > 0 {
		p.ETA = left
	} else if rate > 0 && enriched < want {
		p.ETA = time.Duration(float64(want-enriched) / rate * float64(time.Second))
	}
	return p
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
