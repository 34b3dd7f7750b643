package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// candleRecord is a candles-topic record as a customer decodes it (null becomes a nil pointer).
type candleRecord struct {
	Symbol     string   `json:"symbol"`
	Interval   string   `json:"interval"`
	Start      string   `json:"start"`
	Open       float64  `json:"open"`
	High       float64  `json:"high"`
	Low        float64  `json:"low"`
	Close      float64  `json:"close"`
	Volume     float64  `json:"volume"`
	TradeCount *float64 `json:"trade_count"`
	VWAP       *float64 `json:"vwap"`
	Bars       int      `json:"bars"`
	Final      bool     `json:"final"`
}

// parseCandles decodes feed candles' output strictly (unknown fields are errors) into candles.
func parseCandles(t *testing.T, out string) []candles.Candle {
	t.Helper()
	var cs []candles.Candle
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var r candleRecord
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output line %d: %v: %s", i+1, err, line)
		}
		start, err := time.Parse(bar.TimestampLayout, r.Start)
		if err != nil {
			t.Fatalf("output line %d: start: %v", i+1, err)
		}
		c := candles.Candle{Symbol: r.Symbol, Interval: r.Interval, Start: start, Open: r.Open, High: r.High, Low: r.Low,
			Close: r.Close, Volume: r.Volume, Bars: r.Bars, Final: r.Final}
		if r.TradeCount != nil {
			c.TradeCount, c.HasTradeCount = *r.TradeCount, true
		}
		if r.VWAP != nil {
			c.VWAP, c.HasVWAP = *r.VWAP, true
		}
		cs = append(cs, c)
	}
	return cs
}

func decodeBars(t *testing.T, in string) []bar.Raw {
	t.Helper()
	var bars []bar.Raw
	sc := bufio.NewScanner(strings.NewReader(in))
	for sc.Scan() {
		if b, err := bar.DecodeRaw(sc.Bytes()); err == nil {
			bars = append(bars, b)
		}
	}
	return bars
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestCandlesMatchIndependentAggregation: `feed candles` on the JPM fixture and on 40,283 real FXY and INDA bars
// no test was written against prints exactly one final record per candle (the input is in order: nothing is
// re-published), equal to an aggregation that groups the bars after the fact.
func TestCandlesMatchIndependentAggregation(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		bars     int
	}{
		{"JPM", string(fixtures.Read(t, fixtures.JPMRaw)), 870},
		{"FXY and INDA", gunzip(t, fixtures.Read(t, fixtures.FXYINDARawGzip)), 40283},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runFeed(t, tc.in, "candles", "--interval", "5m,15m,1h")
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			bars := decodeBars(t, tc.in)
			if len(bars) != tc.bars {
				t.Fatalf("%d bars in the fixture, want %d", len(bars), tc.bars)
			}
			want := candlecheck.Aggregate(bars, []string{"5m", "15m", "1h"})
			got := parseCandles(t, out)
			if len(got) != len(want) {
				t.Errorf("%d records, the independent aggregation has %d candles", len(got), len(want))
			}
			seen := map[candlecheck.Key]bool{}
			perInterval := map[string]int{}
			bad := 0
			for _, c := range got {
				k := candlecheck.KeyOf(&c)
				if seen[k] {
					t.Errorf("%v printed twice", k)
				}
				seen[k] = true
				perInterval[c.Interval] += c.Bars
				if d := candlecheck.Diff(c, want[k]); d != "" && bad < 5 {
					bad++
					t.Errorf("%v:%s", k, d)
				}
			}
			for _, iv := range []string{"5m", "15m", "1h"} {
				if perInterval[iv] != len(bars) {
					t.Errorf("%s candles hold %d bars, want all %d", iv, perInterval[iv], len(bars))
				}
			}
		})
	}
}

// TestCandlesCorrectionsAndErrors: a correction and a late bar re-publish a final candle, a bar beyond the
// horizon and an invalid line are reported as `line N: reason` with exit 3, --partial prints running candles,
// and usage errors exit 2.
func TestCandlesCorrectionsAndErrors(t *testing.T) {
	line := func(ts string, close float64) string {
		return fmt.Sprintf(`{"open":%[2]v,"high":%[2]v,"low":%[2]v,"close":%[2]v,"volume":10,"trade_count":2,"vwap":null,"timestamp":"2024-10-30 %[1]s:00","symbol":"AAPL"}`, ts, close)
	}
	in := strings.Join([]string{
		line("10:01", 10), line("10:06", 11), // 10:00 is final at 10:06
		line("10:01", 9),    // a correction: re-published
		`{"symbol":"AAPL"}`, // line 4: invalid
		line("10:40", 12),   // closes 10:05; 10:00 (5m) frozen from 10:21 with --horizon 15m
		line("10:02", 8),    // line 6: too late for the 5m candle, still in 15m and 1h
		"",
	}, "\n")
	code, out, errOut := runFeed(t, in, "candles", "--interval", "5m,1h")
	if code != exitRejected {
		t.Errorf("exit %d, want %d", code, exitRejected)
	}
	wantErr := "line 4: invalid bar: open: missing\nline 6: too late: AAPL 2024-10-30 10:02:00 is beyond the horizon of a final candle and left out of it\n"
	if errOut != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, wantErr)
	}
	var got []string
	for _, c := range parseCandles(t, out) {
		got = append(got, fmt.Sprintf("%s %s %v %d %v", c.Interval, c.Start.Format("15:04"), c.Close, c.Bars, c.Final))
	}
	want := []string{"5m 10:00 10 1 true", "5m 10:00 9 1 true", "5m 10:05 11 1 true", "5m 10:40 12 1 true", "1h 10:00 12 4 true"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("records\n got %q\nwant %q", got, want)
	}

	code, out, _ = runFeed(t, line("10:01", 10)+"\n"+line("10:02", 11)+"\n", "candles", "--interval", "5m", "--partial")
	if code != exitOK || strings.Count(out, `"final":false`) != 2 || strings.Count(out, `"final":true`) != 1 {
		t.Errorf("--partial: exit %d, output\n%s", code, out)
	}
	for _, args := range [][]string{{"--interval", "2m"}, {"--grace", "-1m"}, {"--horizon", "0s"}, {"extra"}, {"--nope"}} {
		if code, _, errOut := runFeed(t, "", append([]string{"candles"}, args...)...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d with a message", args, code, errOut, exitUsage)
		}
	}
}
