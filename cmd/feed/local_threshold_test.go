package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// TestLocalThresholdFromEnvironment: feed local configures the enrich function as the Lambda is, so
// THRESHOLD_PCT=10 makes moves of 7% Neutral that the default threshold (5) calls Bullish or Bearish.
func TestLocalThresholdFromEnvironment(t *testing.T) {
	t.Setenv("THRESHOLD_PCT", "10")
	closes := writeFile(t, "closes.csv", []string{"symbol,date,close", "JPM,2024-10-29,100"})
	var raw []string
	for i, c := range []float64{107, 112, 93, 89, 101} {
		raw = append(raw, fmt.Sprintf(`{"open":%[1]g,"high":%[1]g,"low":%[1]g,"close":%[1]g,"volume":10,"timestamp":"2024-10-30 14:%02d:00","symbol":"JPM"}`, c, i))
	}
	want, atDefault := enrichAt(t, closes, raw, 10), enrichAt(t, closes, raw, enrich.DefaultThreshold)
	differ := 0
	for id, w := range want {
		if w != atDefault[id] {
			differ++
		}
	}
	if differ != 2 {
		t.Fatalf("%d bars are enriched differently at 10%% and 5%%, want 2 (the 7%% moves)", differ)
	}
	r := startLocal(t, nil, "--replay", writeFile(t, "raw.ndjson", raw), "--prev-closes", closes, "--kafka-addr", "127.0.0.1:0",
		"--speed", "0", "--batch-window", "10ms")
	if !strings.Contains(r.stdout.String(), "threshold 10%") {
		t.Errorf("banner does not show the threshold of 10%%:\n%s", r.stdout)
	}
	got := saramaRead(t, r.addr, defaultCustomerUser, defaultCustomerPassword, "enhanced", len(want))
	for _, m := range got {
		e, err := bar.DecodeEnriched([]byte(m.value))
		if err != nil {
			t.Fatalf("enhanced record %q: %v", m.value, err)
		}
		if id := barID(e.Symbol, e.Time); m.value != want[id] {
			t.Errorf("%s:\ngot  %s\nwant %s", id, m.value, want[id])
		}
	}
}

// TestLocalRejectsBadThreshold: a THRESHOLD_PCT the Lambda would refuse stops feed local too.
func TestLocalRejectsBadThreshold(t *testing.T) {
	t.Setenv("THRESHOLD_PCT", "ten")
	var stdout, stderr output
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	code := runBounded(t, ctx, []string{"local", "--kafka-addr", "127.0.0.1:0", "--speed", "0"}, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "THRESHOLD_PCT") {
		t.Errorf("got exit %d, stderr %q; want exit %d mentioning THRESHOLD_PCT", code, stderr.String(), exitFailure)
	}
}

// enrichAt enriches raw lines with the closes in closesCSV at threshold pct, keyed by symbol and timestamp.
func enrichAt(t *testing.T, closesCSV string, rawLines []string, pct float64) map[string]string {
	t.Helper()
	store, err := prevclose.LoadCSVFile(closesCSV)
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: pct}, Store: store}
	out := map[string]string{}
	state := fold.New() // the indicators, as feed enrich folds them
	for _, l := range rawLines {
		raw, err := bar.DecodeRaw([]byte(l))
		if err != nil {
			t.Fatalf("raw line %s: %v", l, err)
		}
		res := state.Apply(&raw)
		en, err := e.Enrich(context.Background(), &raw)
		if err != nil {
			t.Fatal(err)
		}
		en.Indicators = res.Indicators
		out[barID(raw.Symbol, raw.Time)] = string(bar.AppendEnriched(nil, &en))
	}
	return out
}
