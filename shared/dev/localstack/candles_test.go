package localstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/topics"
)

// TestStackPublishesCandles: the JPM fixture replayed into raw comes out of the local stack's enrich function as
// final candles of every interval on the candles topic: every candle whose end + grace the last bar reached, and
// only those, each equal to an aggregation that groups the bars after the fact.
func TestStackPublishesCandles(t *testing.T) {
	s, err := Start(t.Context(), Config{PrevClosesFile: closesFile(t), BatchWindow: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runStack(t, s)
	w, err := s.Client(t.Context(), kgo.DefaultProduceTopic(topics.Raw))
	if err != nil {
		t.Fatal(err)
	}
	var bars []bar.Raw
	var recs []*kgo.Record
	sc := bufio.NewScanner(bytes.NewReader(fixtures.Read(t, fixtures.JPMRaw)))
	for sc.Scan() {
		b, err := bar.DecodeRaw(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		bars = append(bars, b)
		recs = append(recs, &kgo.Record{Key: []byte(b.Symbol), Value: bytes.Clone(sc.Bytes())})
	}
	if err := w.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	last := bars[len(bars)-1].Time
	want := map[candlecheck.Key]candles.Candle{}
	for k, c := range candlecheck.Aggregate(bars, []string{"5m", "15m", "1h"}) {
		iv, err := candles.ParseInterval(k.Interval)
		if err != nil {
			t.Fatal(err)
		}
		if !last.Before(k.Start.Add(iv.Duration() + candles.DefaultGrace)) {
			want[k] = c
		}
	}
	r, err := s.OperatorClient(t.Context(), kgo.ConsumeTopics(topics.Candles), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := map[candlecheck.Key]candles.Candle{}
	perInterval := map[string]int{}
	deadline := time.Now().Add(2 * time.Minute)
	for len(got) < len(want) && time.Now().Before(deadline) {
		ctx, cancel := contextWithDeadline(t, 2*time.Second)
		fs := r.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(rec *kgo.Record) {
			c := parseCandle(t, rec.Value)
			k := candlecheck.KeyOf(&c)
			if _, seen := got[k]; !seen {
				perInterval[c.Interval]++
			}
			got[k] = c
			if !c.Final {
				t.Errorf("%v published with final false (partial candles are off)", k)
			}
		})
	}
	if len(got) != len(want) {
		t.Fatalf("%d candles on %s, want %d (every interval the last bar %v closed)", len(got), topics.Candles, len(want), last)
	}
	for k, w := range want {
		if d := candlecheck.Diff(got[k], w); d != "" {
			t.Fatalf("%v:%s", k, d)
		}
	}
	t.Logf("%d final candles (%v) for %d bars", len(got), perInterval, len(bars))
	for _, iv := range []string{"5m", "15m", "1h"} {
		if perInterval[iv] == 0 {
			t.Errorf("no %s candles", iv)
		}
	}
}

// runStack runs s until the test ends.
func runStack(t *testing.T, s *Stack) {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done; s.Close() })
}

func contextWithDeadline(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

// parseCandle decodes a candles record strictly.
func parseCandle(t *testing.T, v []byte) candles.Candle {
	t.Helper()
	var r struct {
		Symbol, Interval, Start string
		Open, High, Low, Close  float64
		Volume                  float64
		TradeCount              *float64 `json:"trade_count"`
		VWAP                    *float64 `json:"vwap"`
		Bars                    int
		Final                   bool
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("candle %s: %v", v, err)
	}
	start, err := time.Parse(bar.TimestampLayout, r.Start)
	if err != nil {
		t.Fatalf("candle %s: %v", v, err)
	}
	c := candles.Candle{Symbol: r.Symbol, Interval: r.Interval, Start: start, Open: r.Open, High: r.High, Low: r.Low,
		Close: r.Close, Volume: r.Volume, Bars: r.Bars, Final: r.Final}
	if r.TradeCount != nil {
		c.TradeCount, c.HasTradeCount = *r.TradeCount, true
	}
	if r.VWAP != nil {
		c.VWAP, c.HasVWAP = *r.VWAP, true
	}
	return c
}
