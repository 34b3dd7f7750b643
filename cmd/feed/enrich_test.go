package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/reference"
)

func runFeed(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The done-when check: the reference's three lines, same values, the contract's field order (docs/feed.md), exit 0.
func TestEnrichSeedSample(t *testing.T) {
	code, out, errOut := runFeed(t, string(fixtures.Read(t, fixtures.SeedRaw)),
		"enrich", "--prev-closes", fixtures.Path(t, fixtures.SeedPrevCloses))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := strings.Split(strings.TrimSpace(string(fixtures.Read(t, fixtures.SeedEnhanced))), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		g, err := bar.DecodeEnriched([]byte(got[i]))
		if err != nil {
			t.Fatal(err)
		}
		// the reference's keys and values first, in its order; then ours, checked apart
		if err := reference.CheckPrefix([]byte(got[i]), []byte(want[i])); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		if g.PrevClose != 196.365 || !g.HasPrev || g.TradingDate != (bar.Date{Year: 2024, Month: 7, Day: 11}) {
			t.Errorf("line %d: prevClose %v (known %v), tradingDate %v, want 196.365 and 2024-07-11", i+1, g.PrevClose, g.HasPrev, g.TradingDate)
		}
		if g.OutOfSequence || g.HasSMA20 || g.HasEMA12 || g.HasRSI14 || g.VolumeAlert || g.MACross != "" {
			t.Errorf("line %d: indicators %+v, want the warm-up's nulls (three bars only)", i+1, g.Indicators)
		}
	}
}

// The JPM fixture: 2024-10-30 bars have no earlier close (Unknown), 2024-10-31 bars compare with 224.41.
func TestEnrichJPM(t *testing.T) {
	in := string(fixtures.Read(t, fixtures.JPMRaw))
	code, out, errOut := runFeed(t, in, "enrich", "--prev-closes", fixtures.Path(t, fixtures.JPMPrevCloses))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	inLines := strings.Split(strings.TrimSpace(in), "\n")
	outLines := strings.Split(strings.TrimSpace(out), "\n")
	if len(outLines) != len(inLines) {
		t.Fatalf("got %d output lines for %d input lines", len(outLines), len(inLines))
	}
	unknown, compared := 0, 0
	for i, l := range outLines {
		e, err := bar.DecodeEnriched([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		r, err := bar.DecodeRaw([]byte(inLines[i]))
		if err != nil {
			t.Fatal(err)
		}
		if !e.Time.Equal(r.Time) || e.Close != r.Close {
			t.Fatalf("line %d is not input line %d's bar", i+1, i+1)
		}
		switch e.TradingDate.String() {
		case "2024-10-30":
			unknown++
			if e.Indicator != bar.Unknown || e.HasPrev {
				t.Errorf("line %d: %s on 2024-10-30, want Unknown", i+1, e.Indicator)
			}
		case "2024-10-31":
			compared++
			if want := (r.Close - 224.41) / 224.41 * 100; !e.HasPrev || e.PrevClose != 224.41 || e.Change != want {
				t.Errorf("line %d: change %v prev %v, want %v against 224.41", i+1, e.Change, e.PrevClose, want)
			}
		default:
			t.Errorf("line %d: trading date %s", i+1, e.TradingDate)
		}
	}
	if unknown == 0 || compared == 0 {
		t.Errorf("got %d Unknown and %d compared bars, want both", unknown, compared)
	}
}

func TestEnrichRejectsLines(t *testing.T) {
	closes := filepath.Join(t.TempDir(), "closes.csv")
	if err := os.WriteFile(closes, []byte("symbol,date,close\nX,2024-07-10,100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := `{"symbol":"X","open":1,"high":106,"low":1,"close":105,"volume":1,"timestamp":"2024-07-11 19:49:00"}`
	in := strings.Join([]string{
		good,
		`{"symbol":"X","open":1}`,
		``,
		`garbage`,
		strings.Replace(good, `"close":105`, `"close":94`, 1),
		`{"symbol":"X","open":1,"high":0.5,"low":1,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
	}, "\n") // no final newline
	code, out, errOut := runFeed(t, in, "enrich", "--prev-closes", closes)
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	wantErr := []string{"line 2: invalid bar: high: missing", "line 4: invalid bar: not a JSON object", "line 6: invalid bar: high 0.5 is below low 1"}
	gotErr := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(gotErr) != len(wantErr) {
		t.Fatalf("stderr:\n%s\nwant %d messages", errOut, len(wantErr))
	}
	for i := range wantErr {
		if gotErr[i] != wantErr[i] {
			t.Errorf("stderr line %d: got %q, want %q", i+1, gotErr[i], wantErr[i])
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"indicator":"Bullish"`) || !strings.Contains(lines[1], `"indicator":"Bearish"`) {
		t.Errorf("stdout:\n%s\nwant the Bullish and Bearish bars in order", out)
	}
	// a higher threshold turns both Neutral
	_, out, _ = runFeed(t, in, "enrich", "--prev-closes", closes, "--threshold", "10")
	if strings.Count(out, `"indicator":"Neutral"`) != 2 {
		t.Errorf("--threshold 10:\n%s", out)
	}
}

func TestEnrichUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.csv")
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("symbol,date,close\nX,not-a-date,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", []string{"enrich"}, "--prev-closes is required"},
		{"unknown flag", []string{"enrich", "--prevcloses", "x"}, "flag provided but not defined"},
		{"unreadable file", []string{"enrich", "--prev-closes", missing}, "open prev-close file"},
		{"malformed file", []string{"enrich", "--prev-closes", bad}, "line 2"},
		{"bad threshold", []string{"enrich", "--prev-closes", bad, "--threshold", "0"}, "--threshold"},
		{"stray argument", []string{"enrich", "--prev-closes", bad, "extra"}, "unexpected arguments"},
		{"unknown command", []string{"enrichh"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runFeed(t, "", tt.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, tt.want)
			}
		})
	}
}

func TestEnrichLongLine(t *testing.T) {
	closes := filepath.Join(t.TempDir(), "closes.csv")
	if err := os.WriteFile(closes, []byte("symbol,date,close\nX,2024-07-10,100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := `{"pad":"` + strings.Repeat("x", 300<<10) + `","symbol":"X","open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:49:00"}`
	code, out, errOut := runFeed(t, long+"\n"+long+"\n", "enrich", "--prev-closes", closes)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("exit %d, %d output lines, stderr %q", code, strings.Count(out, "\n"), errOut)
	}
}

// Adversarial input: only strict JSON reaches stdout, every rejected line is reported, exit status 3.
func TestEnrichAdversarialInput(t *testing.T) {
	closes := filepath.Join(t.TempDir(), "closes.csv")
	csv := "symbol,date,close\nBRK.B,2024-02-28,410.5\nBRK.A,2024-02-28,615000\nX,2024-02-28,100\nX,2024-03-08,100\nX,2024-11-01,100\n"
	if err := os.WriteFile(closes, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	bar := func(sym, ts, price string) string {
		return `{"symbol":"` + sym + `","open":` + price + `,"high":` + price + `,"low":` + price + `,"close":` + price + `,"volume":100,"timestamp":"` + ts + `"}`
	}
	lines := []struct {
		in          string
		reject      string // the reason's text, "" when the line is published
		tradingDate string
	}{
		{bar("BRK.B", "2024-02-29 14:30:00", "412.25"), "", "2024-02-29"}, // leap day
		{bar("BRK.A", "2024-02-29 14:30:00", "700000"), "", "2024-02-29"},
		{bar("X", "2024-02-29 14:30:00", "1e307"), "1e+307 is above 1e+07", ""},
		{bar("X", "2024-02-29 14:30:00", "0.00001"), "1e-05 is below 0.0001", ""},
		{bar("X", "2024-03-10 04:30:00", "101"), "", "2024-03-09"}, // 23:30 EST the evening before the spring-forward switch
		{bar("X", "2024-03-10 07:30:00", "101"), "", "2024-03-10"}, // 03:30 EDT, just after it
		{bar("X", "2024-11-03 03:30:00", "101"), "", "2024-11-02"}, // 23:30 EDT before the fall-back switch
		{bar("X", "2024-11-03 06:30:00", "101"), "", "2024-11-03"}, // 01:30 EST, after it
		{strings.Replace(bar("X", "2024-02-29 14:30:00", "101"), `"close":101`, `"close":"101"`, 1), "close: not a number", ""},
		{bar("X", "2024-02-29 14:30:00", "101") + `xyz`, "malformed JSON", ""},
		{bar("X", "2024-02-29 14:30:00", "101") + "\r", "", "2024-02-29"},                                                                                // CRLF line ending
		{strings.Replace(bar("X", "2024-02-29 14:30:00", "101"), `{`, `{"exchange":"V","conditions":["@","T"],"n":{"x":[1e400]},`, 1), "", "2024-02-29"}, // ignored, so never parsed as a float
		{strings.Replace(bar("X", "2024-02-29 14:30:00", "101"), `{`, `{"exchange":"V","conditions":["@","T"],"meta":{"x":[1,null]},`, 1), "", "2024-02-29"},
		{bar("BRK B", "2024-02-29 14:30:00", "101"), "symbol: \"BRK B\" has a character", ""},
		{strings.Replace(bar("X", "2024-02-29 14:30:00", "101"), `"volume":100`, `"volume":1e12`, 1), "volume: 1e+12 is above 1e+11", ""},
	}
	var in strings.Builder
	for _, l := range lines {
		in.WriteString(l.in + "\n")
	}
	code, out, errOut := runFeed(t, in.String(), "enrich", "--prev-closes", closes)
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	errLines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	o, e := 0, 0
	for i, l := range lines {
		if l.reject != "" {
			if e >= len(errLines) || !strings.HasPrefix(errLines[e], fmt.Sprintf("line %d: ", i+1)) || !strings.Contains(errLines[e], l.reject) {
				t.Errorf("line %d: want a report containing %q, stderr:\n%s", i+1, l.reject, errOut)
			}
			e++
			continue
		}
		if o >= len(outLines) {
			t.Fatalf("line %d: no output; stdout:\n%s", i+1, out)
		}
		got := outLines[o]
		o++
		if !json.Valid([]byte(got)) {
			t.Errorf("line %d: output is not JSON: %s", i+1, got)
		}
		en, err := bardecode(got)
		if err != nil {
			t.Errorf("line %d: %v: %s", i+1, err, got)
			continue
		}
		if en.TradingDate.String() != l.tradingDate || en.Indicator == "Unknown" {
			t.Errorf("line %d: trading date %s indicator %s, want %s with a previous close: %s", i+1, en.TradingDate, en.Indicator, l.tradingDate, got)
		}
	}
	if o != len(outLines) || e != len(errLines) {
		t.Errorf("got %d output and %d error lines, want %d and %d:\n%s\n%s", len(outLines), len(errLines), o, e, out, errOut)
	}
}

func bardecode(line string) (bar.Enriched, error) { return bar.DecodeEnriched([]byte(line)) }
