package main

import (
	"encoding/json"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/indexfn"
)

// TestLocalIndexesIntoOpenSearch: with --opensearch-url the index function runs on enhanced and on candles
// through their own mappings: every enriched bar becomes one document of the bars alias, and every final candle
// the replay closes one document SYMBOL|interval|start of the candles alias with the after-the-fact aggregation's
// close (the strict fake checks the protocol and both mappings).
func TestLocalIndexesIntoOpenSearch(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	raw := readLines(t, fixtures.Path(t, fixtures.JPMRaw))[:40]
	closes := fixtures.Path(t, fixtures.JPMPrevCloses)
	want := expected(t, closes, raw)
	bars := decodeBars(t, strings.Join(raw, "\n"))
	last := bars[len(bars)-1].Time
	wantCandles := map[string]float64{} // id -> close
	for k, c := range candlecheck.Aggregate(bars, []string{"5m", "15m", "1h"}) {
		iv, err := candles.ParseInterval(k.Interval)
		if err != nil {
			t.Fatal(err)
		}
		if !last.Before(k.Start.Add(iv.Duration() + candles.DefaultGrace)) {
			wantCandles[c.Key()] = c.Close
		}
	}
	if len(wantCandles) == 0 {
		t.Fatal("the replay closes no candle: the test would check nothing")
	}
	count := func(alias string) int {
		n := 0
		for _, idx := range srv.Alias(alias) {
			n += len(srv.Docs(idx))
		}
		return n
	}
	r := startLocal(t, nil, "--opensearch-url", srv.URL, "--replay", writeFile(t, "raw.ndjson", raw),
		"--prev-closes", closes, "--kafka-addr", "127.0.0.1:0", "--speed", "0", "--batch-window", "10ms")
	if !strings.Contains(r.stdout.String(), "index: the Lambda's handler on enhanced into "+srv.URL) {
		t.Errorf("indexer not announced:\n%s", r.stdout)
	}
	waitFor(t, "every bar and candle indexed", func() bool { return count("bars") >= len(want) && count("candles") >= len(wantCandles) })
	ids := map[string]bool{}
	for _, idx := range srv.Alias("bars") {
		for id := range srv.Docs(idx) {
			ids[id] = true
		}
	}
	for _, v := range want {
		e, err := bar.DecodeEnriched([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		if id := indexfn.DocID(&e); !ids[id] {
			t.Errorf("document %s missing", id)
		}
	}
	if got := count("bars"); got != len(want) {
		t.Errorf("bar documents: got %d, want %d", got, len(want))
	}
	gotCandles := map[string]float64{}
	for _, idx := range srv.Alias("candles") {
		for id, src := range srv.Docs(idx) {
			var d struct {
				Close float64 `json:"close"`
				Final bool    `json:"final"`
			}
			if err := json.Unmarshal(src, &d); err != nil || !d.Final {
				t.Errorf("candle %s = %s: want a final candle (%v)", id, src, err)
			}
			gotCandles[id] = d.Close
		}
	}
	if !maps.Equal(gotCandles, wantCandles) {
		t.Errorf("candle documents (id -> close): got %v, want %v", gotCandles, wantCandles)
	}
	if srv.Count() != len(want)+len(wantCandles) {
		t.Errorf("documents: got %d, want %d bars and %d candles", srv.Count(), len(want), len(wantCandles))
	}
	if code := r.stop(); code != exitOK {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", code, r.stderr)
	}
	if m := regexp.MustCompile(`stopped: .*indexed (\d+), enhanced.dlq 0`).FindStringSubmatch(r.stdout.String()); m == nil || m[1] != "40" {
		t.Errorf("final status: got %q, want indexed 40, enhanced.dlq 0:\n%s", m, r.stdout)
	}
}
