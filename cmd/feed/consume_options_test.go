package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/synth"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// sessionBars is `feed local`'s synthetic session as the enhanced topic holds it, per symbol in time order.
func sessionBars(t *testing.T) map[string][]bar.Enriched {
	t.Helper()
	s := synth.Default()
	store, err := prevclose.NewMemory(s.Closes...)
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	out := map[string][]bar.Enriched{}
	for i := range s.Bars {
		en, err := e.Enrich(t.Context(), &s.Bars[i])
		if err != nil {
			t.Fatal(err)
		}
		out[en.Symbol] = append(out[en.Symbol], en)
	}
	return out
}

// consume runs `feed consume` against r as the customer with args and returns its exit status and output.
func consume(t *testing.T, r *localRun, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	base := []string{"consume", "--brokers", r.addr, "--user", "customer", "--password", "customer-secret"}
	code := runBounded(t, ctx, append(base, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func decodeLines(t *testing.T, stdout string) []bar.Enriched {
	t.Helper()
	var out []bar.Enriched
	for _, l := range splitLines(stdout) {
		e, err := bar.DecodeEnriched([]byte(l))
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(bar.TimestampLayout) }

// TestConsumeGroupAgainstLocal: two runs in the customer's group print each bar once, and per symbol exactly
// the session's first bars (nothing skipped, nothing repeated); another group is refused with a clear error.
func TestConsumeGroupAgainstLocal(t *testing.T) {
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	session := sessionBars(t)
	var printed []bar.Enriched
	for run := range 2 {
		code, stdout, stderr := consume(t, r, "--group", "customer", "--from-beginning", "--max", "40")
		if code != exitOK {
			t.Fatalf("run %d: exit %d; stderr:\n%s", run+1, code, stderr)
		}
		got := decodeLines(t, stdout)
		if len(got) != 40 {
			t.Fatalf("run %d: got %d bars, want 40", run+1, len(got))
		}
		printed = append(printed, got...)
	}
	perSymbol := map[string][]string{}
	for _, e := range printed {
		perSymbol[e.Symbol] = append(perSymbol[e.Symbol], stamp(e.Time))
	}
	for sym, got := range perSymbol {
		var want []string
		for _, e := range session[sym][:min(len(got), len(session[sym]))] {
			want = append(want, stamp(e.Time))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the two runs printed %q, want the session's first %d bars %q", sym, got, len(got), want)
		}
	}

	code, stdout, stderr := consume(t, r, "--group", "finfeed-enrich", "--from-beginning", "--max", "1")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "consumer group refused") || !strings.Contains(stderr, "--group customer") {
		t.Errorf("another group: exit %d, stdout %q, stderr %q; want 1, nothing, and a refusal naming --group customer", code, stdout, stderr)
	}
}

// TestConsumeFromTimeAgainstLocal: --from-time in New York time or RFC 3339 prints a symbol's bars from that bar
// time on; it excludes --from-beginning.
func TestConsumeFromTimeAgainstLocal(t *testing.T) {
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	var want []string
	for _, e := range sessionBars(t)["NVDA"] {
		if !e.Time.Before(time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)) && len(want) < 5 {
			want = append(want, stamp(e.Time))
		}
	}
	if want[0] != "2025-06-12 14:00:00" {
		t.Fatalf("the session's first NVDA bar from 10:00 New York is %s, want 14:00 UTC", want[0])
	}
	for _, from := range []string{"2025-06-12 10:00", "2025-06-12 10:00:00", "2025-06-12T14:00:00Z", "2025-06-12T10:00:00-04:00"} {
		t.Run(from, func(t *testing.T) {
			code, stdout, stderr := consume(t, r, "--from-time", from, "--symbols", "NVDA", "--max", "5")
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			var got []string
			for _, e := range decodeLines(t, stdout) {
				got = append(got, stamp(e.Time))
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	for _, args := range [][]string{
		{"--from-time", "2025-06-12 10:00", "--from-beginning"},
		{"--from-time", "10:00"},
	} {
		code, stdout, stderr := consume(t, r, append(args, "--max", "1")...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "--from-time") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want a usage error about --from-time", args, code, stdout, stderr)
		}
	}
}

// barColumns are the TSV columns of enriched bars: the record's fields in contract order.
var barColumns = []string{"symbol", "timestamp", "tradingDate", "open", "high", "low", "close", "volume", "prevClose", "%change",
	"indicator", "sma20", "sma50", "ema12", "ema26", "rsi14", "vwapSession", "volumeAlert", "maCross", "outOfSequence"}

// tsvOfJSON is the TSV row a JSON record's fields make, read without the project's decoders: each column is the
// field's JSON text (a string unquoted), empty for null.
func tsvOfJSON(t *testing.T, record string, columns []string) string {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(record), &fields); err != nil {
		t.Fatalf("record %s: %v", record, err)
	}
	var row []string
	for _, c := range columns {
		v, ok := fields[c]
		if !ok {
			t.Fatalf("record %s has no field %q", record, c)
		}
		s := string(v)
		switch {
		case s == "null":
			s = ""
		case strings.HasPrefix(s, `"`):
			if err := json.Unmarshal(v, &s); err != nil {
				t.Fatal(err)
			}
		}
		row = append(row, s)
	}
	return strings.Join(row, "\t")
}

// TestConsumeTSVAgainstLocal: every TSV column is the JSON record's field, in contract order; null is empty.
func TestConsumeTSVAgainstLocal(t *testing.T) {
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	for _, sym := range []string{"FNFD", "NVDA"} { // FNFD has no previous close
		t.Run(sym, func(t *testing.T) {
			code, jsonOut, stderr := consume(t, r, "--symbols", sym, "--from-beginning", "--max", "3")
			if code != exitOK {
				t.Fatalf("json: exit %d; stderr:\n%s", code, stderr)
			}
			code, tsvOut, stderr := consume(t, r, "--symbols", sym, "--from-beginning", "--max", "3", "--format", "tsv")
			if code != exitOK {
				t.Fatalf("tsv: exit %d; stderr:\n%s", code, stderr)
			}
			rows := splitLines(tsvOut)
			records := splitLines(jsonOut)
			if len(rows) != 4 || rows[0] != strings.Join(barColumns, "\t") || len(records) != 3 {
				t.Fatalf("tsv %q for json %q: want the header and 3 rows", rows, records)
			}
			for i, rec := range records {
				if got, want := rows[i+1], tsvOfJSON(t, rec, barColumns); got != want {
					t.Errorf("row %d: got %q, want %q", i+1, got, want)
				}
			}
		})
	}
	code, _, stderr := consume(t, r, "--format", "csv", "--max", "1")
	if code != exitUsage || !strings.Contains(stderr, "--format") {
		t.Errorf("--format csv: exit %d, stderr %q; want a usage error", code, stderr)
	}
}

// produceEnhanced writes records to enhanced as the service principal (at-least-once repeats and corrections the
// pipeline would write).
func produceEnhanced(t *testing.T, r *localRun, values ...string) {
	t.Helper()
	cl := r.serviceClient(t)
	defer cl.Close()
	for _, v := range values {
		e, err := bar.DecodeEnriched([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		rec := &kgo.Record{Topic: "enhanced", Key: []byte(e.Symbol), Value: []byte(v), Timestamp: e.Time}
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// dupes are a bar, its at-least-once repeat, a correction, the correction's repeat and the next bar.
func dupes() (v1, fix, next string) {
	at := time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)
	e := bar.Enriched{Symbol: "ZZDUP", Open: 10, High: 10, Low: 10, Close: 10, Volume: 5, Time: at,
		Indicator: bar.Unknown, TradingDate: bar.TradingDate(at)}
	v1 = string(bar.AppendEnriched(nil, &e))
	e.Close, e.High = 10.5, 10.5
	fix = string(bar.AppendEnriched(nil, &e))
	e.Time = at.Add(time.Minute)
	next = string(bar.AppendEnriched(nil, &e))
	return v1, fix, next
}

// TestConsumeDedupeAgainstLocal: --dedupe drops byte-identical repeats and prints a correction.
func TestConsumeDedupeAgainstLocal(t *testing.T) {
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	v1, fix, next := dupes()
	produceEnhanced(t, r, v1, v1, fix, fix, next)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--dedupe"}, []string{v1, fix, next}},
		{[]string{"--dedupe", "--dedupe-window", "30m"}, []string{v1, fix, next}},
		{nil, []string{v1, v1, fix}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			code, stdout, stderr := consume(t, r, append(tt.args, "--symbols", "ZZDUP", "--from-beginning", "--max", "3")...)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if got := splitLines(stdout); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
