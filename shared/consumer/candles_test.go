package consumer_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/consumer"
	"github.com/finfeed/finfeed/shared/topics"
)

// candle is a final candle of symbol of interval starting at the UTC time hhmm of 2024-10-31, with close c.
func candle(t *testing.T, symbol, interval, hhmm string, c float64) *candles.Candle {
	t.Helper()
	at, err := time.Parse("2006-01-02 15:04", "2024-10-31 "+hhmm)
	if err != nil {
		t.Fatal(err)
	}
	return &candles.Candle{Symbol: symbol, Interval: interval, Start: at, Open: c, High: c + 1, Low: c - 1, Close: c,
		Volume: 1000, VWAP: c, HasVWAP: true, Bars: 5, Final: true}
}

func candleValue(c *candles.Candle) string { return string(candles.AppendCandle(nil, c)) }

// candleRec is a candles record of c as the enrich function writes it: key symbol, timestamp the candle start.
func candleRec(c *candles.Candle) *kgo.Record {
	return &kgo.Record{Topic: topics.Candles, Key: []byte(c.Symbol), Value: []byte(candleValue(c)), Timestamp: c.Start}
}

// TestCandles: on the candles topic (the kind follows from its name) --format tsv prints the candle columns,
// --from-time compares the candle start, --dedupe drops repeats by (symbol, interval, start) and prints
// corrections, --symbols keeps the symbols asked for, and a record that is not a candle is reported and skipped.
func TestCandles(t *testing.T) {
	b, svc := setup(t)
	v5 := candle(t, "JPM", "5m", "13:55", 224)
	fix5 := candle(t, "JPM", "5m", "13:55", 224.5) // a correction re-published
	h1 := candle(t, "JPM", "1h", "13:00", 223)     // before --from-time, published after a later candle
	q15 := candle(t, "JPM", "15m", "14:00", 225)
	m5 := candle(t, "JPM", "5m", "14:00", 225)
	nvda := candle(t, "NVDA", "5m", "14:00", 130)
	old := candle(t, "JPM", "5m", "13:45", 222)
	produceRecords(t, svc, candleRec(old), candleRec(v5), candleRec(h1), candleRec(v5), candleRec(fix5), candleRec(fix5),
		candleRec(m5), candleRec(q15), candleRec(m5), candleRec(nvda))
	produceRecords(t, svc, &kgo.Record{Topic: topics.Candles, Key: []byte("JPM"), Value: []byte(`{"symbol":"JPM","interval":"2m"}`), Timestamp: m5.Start})
	late := candle(t, "JPM", "5m", "14:05", 226)
	produceRecords(t, svc, candleRec(late))
	from, err := consumer.ParseTime("2024-10-31T13:55:00Z")
	if err != nil {
		t.Fatal(err)
	}
	tsv := func(cs ...*candles.Candle) []string {
		out := []string{consumer.CandleTSVHeader}
		for _, c := range cs {
			out = append(out, string(consumer.AppendCandleTSV(nil, c)))
		}
		return out
	}
	values := func(cs ...*candles.Candle) []string {
		var out []string
		for _, c := range cs {
			out = append(out, candleValue(c))
		}
		return out
	}
	tests := []struct {
		name     string
		cfg      consumer.Config
		want     []string
		anyOrder bool // several partitions
		bad      int
	}{
		{"tsv", consumer.Config{FromBeginning: true, Format: consumer.FormatTSV, Symbols: []string{"JPM"}, Max: 4},
			tsv(old, v5, h1, v5), false, 0},
		{"dedupe", consumer.Config{FromBeginning: true, Dedupe: true, Symbols: []string{"JPM"}, Max: 6},
			values(old, v5, h1, fix5, m5, q15), false, 0},
		{"from-time", consumer.Config{FromTime: from, Symbols: []string{"JPM"}, Max: 4},
			values(v5, v5, fix5, fix5), false, 0},
		{"from-time dedupe tsv", consumer.Config{FromTime: from, Dedupe: true, Format: consumer.FormatTSV, Max: 5},
			tsv(v5, fix5, m5, q15, nvda), true, 0},
		{"bad record", consumer.Config{FromTime: m5.Start, Dedupe: true, Symbols: []string{"JPM"}, Max: 3},
			values(m5, q15, late), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad []string
			tt.cfg.Kafka, tt.cfg.Topic = b.CustomerKafka(), topics.Candles
			tt.cfg.OnBadRecord = func(p int32, o int64, err error) { bad = append(bad, fmt.Sprintf("%d/%d: %v", p, o, err)) }
			got := run(t, tt.cfg)
			if tt.anyOrder && (len(got) == 0 || got[0] != tt.want[0] || !sameSet(got, tt.want)) ||
				!tt.anyOrder && strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if len(bad) != tt.bad || tt.bad > 0 && !strings.Contains(bad[0], "invalid candle: missing") {
				t.Errorf("reported %q, want %d bad record(s), a candle missing fields", bad, tt.bad)
			}
		})
	}
}

// TestCandlesReadAsBars: with --kind bar the candles topic is read as bars, as every topic was before candles:
// no candle decodes as an enriched bar, each is reported and skipped and nothing but the bar header is printed.
func TestCandlesReadAsBars(t *testing.T) {
	b, svc := setup(t)
	cs := []*candles.Candle{candle(t, "JPM", "5m", "13:55", 224), candle(t, "JPM", "15m", "13:45", 223)}
	produceRecords(t, svc, candleRec(cs[0]), candleRec(cs[1]))
	ctx, cancel := context.WithCancel(bounded(t))
	defer cancel()
	var bad []string
	var out bytes.Buffer
	n, err := consumer.Run(ctx, consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Candles, Kind: consumer.KindBar,
		FromBeginning: true, Format: consumer.FormatTSV,
		OnBadRecord: func(p int32, o int64, err error) {
			bad = append(bad, err.Error())
			if len(bad) == len(cs) {
				cancel()
			}
		}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || out.String() != consumer.TSVHeader+"\n" || len(bad) != len(cs) || !strings.Contains(bad[0], "timestamp: missing") {
		t.Errorf("printed %d: %q, reported %q; want only the bar header and each candle reported", n, out.String(), bad)
	}
	if ctx.Err() == nil {
		t.Error("Run returned before every candle was reported")
	}
	if err := (consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Candles, Kind: "candles"}).Validate(); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("kind candles: got %v, want a refusal naming the kind", err)
	}
}
