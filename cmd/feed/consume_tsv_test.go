package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// TestConsumeTSVJPM: the JPM fixture's 870 bars, published by `feed local --replay` and read with
// `feed consume --format tsv`, are row for row the values of `feed enrich`'s JSON records of the same bars, every
// indicator column included; the fixture has values and nulls in most of them.
func TestConsumeTSVJPM(t *testing.T) {
	in := string(fixtures.Read(t, fixtures.JPMRaw))
	closes := fixtures.Path(t, fixtures.JPMPrevCloses)
	code, out, errOut := runFeed(t, in, "enrich", "--prev-closes", closes)
	if code != exitOK || errOut != "" {
		t.Fatalf("feed enrich: exit %d, stderr %q", code, errOut)
	}
	records := splitLines(out)
	r := startLocal(t, nil, "--replay", fixtures.Path(t, fixtures.JPMRaw), "--prev-closes", closes, "--kafka-addr", "127.0.0.1:0",
		"--speed", "0", "--batch-window", "20ms")
	code, tsvOut, stderr := consume(t, r, "--symbols", "JPM", "--from-beginning", "--dedupe", "--format", "tsv", "--max", strconv.Itoa(len(records)))
	if code != exitOK || stderr != "" {
		t.Fatalf("feed consume: exit %d; stderr:\n%s", code, stderr)
	}
	rows := splitLines(tsvOut)
	if len(records) != 870 || len(rows) != len(records)+1 || rows[0] != strings.Join(barColumns, "\t") {
		t.Fatalf("%d records, %d rows with header %q: want 870 and the header %q", len(records), len(rows), rows[0], strings.Join(barColumns, "\t"))
	}
	set := make([]int, len(barColumns)) // per column: rows with a value
	for i, rec := range records {
		want := tsvOfJSON(t, rec, barColumns)
		if rows[i+1] != want {
			t.Errorf("row %d: got  %q\nwant %q", i+1, rows[i+1], want)
			continue
		}
		for c, v := range strings.Split(want, "\t") {
			if v != "" && v != "false" {
				set[c]++
			}
		}
	}
	// the fixture has no late bar (outOfSequence) and no day without volume (vwapSession null): those nulls are
	// checked by the consumer package's tests
	for c, n := range set {
		switch barColumns[c] {
		case "prevClose", "%change", "sma20", "sma50", "ema12", "ema26", "rsi14", "volumeAlert", "maCross":
			if n == 0 || n == len(records) {
				t.Errorf("column %s: set on %d of %d rows, want values and nulls (or false) in the fixture", barColumns[c], n, len(records))
			}
		}
	}
}
