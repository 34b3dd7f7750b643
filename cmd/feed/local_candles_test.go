package main

import (
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// TestLocalPublishesCandles: `feed local --replay` of the JPM fixture publishes on the candles topic, readable by
// the customer over SCRAM, one final record for every candle of every interval the last bar closed (end + grace
// reached), each equal to the after-the-fact aggregation, keyed by symbol, with the enhanced headers.
func TestLocalPublishesCandles(t *testing.T) {
	replay := fixtures.Path(t, fixtures.JPMRaw)
	in := string(fixtures.Read(t, fixtures.JPMRaw))
	bars := decodeBars(t, in)
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
	const user, pass = "alice", "alice-secret-pw"
	r := startLocal(t, nil, "--replay", replay, "--prev-closes", fixtures.Path(t, fixtures.JPMPrevCloses), "--kafka-addr", "127.0.0.1:0",
		"--customer-user", user, "--customer-password", pass, "--speed", "0", "--batch-window", "20ms")
	got := saramaRead(t, r.addr, user, pass, "candles", len(want))
	var values []string
	perInterval := map[string]int{}
	seen := map[candlecheck.Key]bool{}
	for _, m := range got {
		values = append(values, m.value)
		if m.key != "JPM" || m.headers["content-type"] != "application/json" || m.headers["schema-version"] != "1" {
			t.Errorf("candle record key %q headers %v: want JPM and the enhanced headers", m.key, m.headers)
		}
	}
	for _, c := range parseCandles(t, strings.Join(values, "\n")) {
		k := candlecheck.KeyOf(&c)
		if seen[k] {
			t.Errorf("%v published twice", k)
		}
		seen[k] = true
		perInterval[c.Interval]++
		if d := candlecheck.Diff(c, want[k]); d != "" {
			t.Errorf("%v:%s", k, d)
		}
	}
	if len(seen) != len(want) || perInterval["5m"] == 0 || perInterval["15m"] == 0 || perInterval["1h"] == 0 {
		t.Errorf("%d candles %v, want %d of every interval", len(seen), perInterval, len(want))
	}
}
