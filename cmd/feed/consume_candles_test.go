package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/topics"
)

// candleColumns are the TSV columns of candles: the candles record's fields in its order.
var candleColumns = []string{"symbol", "interval", "start", "open", "high", "low", "close", "volume", "trade_count", "vwap", "bars", "final"}

// produceCandles writes candle records to the candles topic as the service principal, as the enrich function
// does: key symbol, timestamp the candle start.
func produceCandles(t *testing.T, r *localRun, cs ...candles.Candle) {
	t.Helper()
	cl := r.serviceClient(t)
	defer cl.Close()
	for i := range cs {
		rec := &kgo.Record{Topic: topics.Candles, Key: []byte(cs[i].Symbol), Value: candles.AppendCandle(nil, &cs[i]), Timestamp: cs[i].Start}
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsumeCandlesAgainstLocal: `feed consume --topic candles` on `feed local --replay` of the JPM fixture, as
// the customer: --format tsv prints the candle columns with the JSON records' values, --from-time compares the
// candle start, --dedupe drops repeats by (symbol, interval, start) and prints corrections, and --kind is checked.
func TestConsumeCandlesAgainstLocal(t *testing.T) {
	bars := decodeBars(t, string(fixtures.Read(t, fixtures.JPMRaw)))
	last := bars[len(bars)-1].Time
	closed := 0 // the candles the replay's last bar closed: what the topic holds
	for k := range candlecheck.Aggregate(bars, []string{"5m", "15m", "1h"}) {
		iv, err := candles.ParseInterval(k.Interval)
		if err != nil {
			t.Fatal(err)
		}
		if !last.Before(k.Start.Add(iv.Duration() + candles.DefaultGrace)) {
			closed++
		}
	}
	r := startLocal(t, nil, "--replay", fixtures.Path(t, fixtures.JPMRaw), "--prev-closes", fixtures.Path(t, fixtures.JPMPrevCloses),
		"--kafka-addr", "127.0.0.1:0", "--speed", "0", "--batch-window", "20ms")
	n := strconv.Itoa(closed)
	code, jsonOut, stderr := consume(t, r, "--topic", "candles", "--from-beginning", "--max", n)
	if code != exitOK {
		t.Fatalf("json: exit %d; stderr:\n%s", code, stderr)
	}
	records := splitLines(jsonOut)
	starts := make([]time.Time, len(records))
	for i, rec := range records {
		c, err := candles.DecodeCandle([]byte(rec))
		if err != nil {
			t.Fatalf("record %d %s: %v", i+1, rec, err)
		}
		starts[i] = c.Start
	}

	t.Run("tsv", func(t *testing.T) {
		code, out, stderr := consume(t, r, "--topic", "candles", "--symbols", "JPM", "--from-beginning", "--format", "tsv", "--max", n)
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		rows := splitLines(out)
		if len(rows) != len(records)+1 || rows[0] != strings.Join(candleColumns, "\t") {
			t.Fatalf("%d rows, header %q: want %d and %q", len(rows), rows[0], len(records)+1, strings.Join(candleColumns, "\t"))
		}
		for i, rec := range records {
			if got, want := rows[i+1], tsvOfJSON(t, rec, candleColumns); got != want {
				t.Errorf("row %d: got %q, want %q", i+1, got, want)
			}
		}
	})

	t.Run("from-time", func(t *testing.T) {
		from := time.Date(2024, 10, 31, 14, 5, 0, 0, time.UTC) // the 15m candle of 14:00 comes after the 5m one of 14:05
		var want []string
		late := 0 // candles starting before T published after the first one starting at or after it
		for i, rec := range records {
			switch {
			case !starts[i].Before(from):
				want = append(want, rec)
			case len(want) > 0:
				late++
			}
		}
		if len(want) == 0 || late == 0 {
			t.Fatalf("%d candles from %v, %d older ones after them: want some of both", len(want), from, late)
		}
		for _, arg := range []string{"2024-10-31 10:05", "2024-10-31T14:05:00Z"} {
			code, out, stderr := consume(t, r, "--topic", "candles", "--from-time", arg, "--max", strconv.Itoa(len(want)))
			if code != exitOK || stderr != "" {
				t.Fatalf("%s: exit %d; stderr:\n%s", arg, code, stderr)
			}
			if got := splitLines(out); !slices.Equal(got, want) {
				t.Errorf("%s: got %d candles %q, want the %d starting at or after it", arg, len(got), got, len(want))
			}
		}
	})

	t.Run("dedupe", func(t *testing.T) {
		start := time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)
		v1 := candles.Candle{Symbol: "ZZDUP", Interval: "5m", Start: start, Open: 10, High: 10, Low: 10, Close: 10, Volume: 5, Bars: 1, Final: true}
		fix := v1
		fix.High, fix.Close, fix.Bars = 10.5, 10.5, 2
		other := v1 // same symbol and start, another interval: another candle
		other.Interval = "15m"
		produceCandles(t, r, v1, v1, other, fix, fix, other)
		str := func(cs ...candles.Candle) []string {
			var out []string
			for i := range cs {
				out = append(out, string(candles.AppendCandle(nil, &cs[i])))
			}
			return out
		}
		for _, tt := range []struct {
			args []string
			want []string
		}{
			{[]string{"--dedupe", "--max", "3"}, str(v1, other, fix)},
			{[]string{"--dedupe", "--format", "tsv", "--max", "3"}, []string{strings.Join(candleColumns, "\t"),
				"ZZDUP\t5m\t2025-06-12 14:00:00\t10\t10\t10\t10\t5\t\t\t1\ttrue",
				"ZZDUP\t15m\t2025-06-12 14:00:00\t10\t10\t10\t10\t5\t\t\t1\ttrue",
				"ZZDUP\t5m\t2025-06-12 14:00:00\t10\t10.5\t10\t10.5\t5\t\t\t2\ttrue"}},
			{[]string{"--max", "3"}, str(v1, v1, other)},
		} {
			t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
				code, out, stderr := consume(t, r, append([]string{"--topic", "candles", "--symbols", "ZZDUP", "--from-beginning"}, tt.args...)...)
				if code != exitOK || stderr != "" {
					t.Fatalf("exit %d; stderr:\n%s", code, stderr)
				}
				if got := splitLines(out); !slices.Equal(got, tt.want) {
					t.Errorf("got  %q\nwant %q", got, tt.want)
				}
			})
		}
	})

	code, _, stderr = consume(t, r, "--topic", "candles", "--kind", "candles", "--max", "1")
	if code != exitUsage || !strings.Contains(stderr, "--kind") {
		t.Errorf("--kind candles: exit %d, stderr %q; want a usage error naming --kind", code, stderr)
	}
}
