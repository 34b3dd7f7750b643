package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// dynaliteEnv points the SDK's default configuration at db, as the Lambda's environment would point it at AWS.
func dynaliteEnv(t *testing.T, db *dynalite.Server) {
	t.Helper()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": db.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
}

// benchPairs parses `name value` lines.
func benchPairs(t *testing.T, out string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("line %q is not `name value`", l)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		m[f[0]] = v
	}
	return m
}

// The whole-market bench on DynamoDB (dynalite): every bar enriched from the table's closes, requests counted.
func TestBenchMarketOnDynalite(t *testing.T) {
	db := dynalite.StartT(t)
	dynaliteEnv(t, db)
	code, out, errOut := runFeed(t, "", "bench", "--symbols", "500", "--minutes", "2", "--minute", "2s", "--bad-every", "0",
		"--prev-closes-table", "bench-closes", "--seed", "--dynamodb-latency", "1ms", "--no-progress")
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	got := benchPairs(t, out)
	// 500 symbols: 3 without a close (Unknown), 50 Bullish, 50 Bearish, 397 Neutral, in each of 2 minutes
	for name, want := range map[string]float64{"enriched_unknown": 6, "enriched_bullish": 100, "enriched_bearish": 100,
		"enriched_neutral": 794, "unexpected_enrichments": 0, "dlq_records": 0} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v\n%s", name, got[name], want, out)
		}
	}
	for _, name := range []string{"burst_latency_p50_ms", "burst_latency_p99_ms", "burst_latency_max_ms", "dynamodb_requests_first_minute"} {
		if got[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, got[name])
		}
	}
	// the table was read, and never more than once per bar: at most the 1,000 bars written
	if n := got["dynamodb_requests"]; n < 1 || n > 1000 {
		t.Errorf("dynamodb_requests = %v, want 1..1000", n)
	}
	if !strings.Contains(errOut, "wrote 497 previous closes to table bench-closes") {
		t.Errorf("stderr does not report the seeded closes:\n%s", errOut)
	}
}

// Without the closes in the table the bars come out Unknown, and the bench says so and fails.
func TestBenchFailsOnWrongEnrichment(t *testing.T) {
	db := dynalite.StartT(t)
	dynaliteEnv(t, db)
	if err := prevclose.CreateTable(context.Background(), db.Client(), "empty"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runFeed(t, "", "bench", "--symbols", "40", "--minutes", "1", "--minute", "1s", "--bad-every", "0",
		"--prev-closes-table", "empty", "--no-progress")
	if code != exitFailure || !strings.Contains(errOut, "39 enriched bars differ") {
		t.Errorf("exit %d, stderr %q; want %d and 39 bars that differ", code, errOut, exitFailure)
	}
	if got := benchPairs(t, out); got["enriched_unknown"] != 40 || got["dynamodb_requests"] < 1 {
		t.Errorf("got %v, want 40 Unknown bars and the requests counted", got)
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--bars", "0"},
		{"--symbols", "10", "--minutes", "0"},
		{"--seed"},
		{"--dynamodb-latency", "4ms"},
		{"--partitions", "0"},
	} {
		if code, _, _ := runFeed(t, "", append([]string{"bench"}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// feed local --prev-closes-table enriches from the DynamoDB table as the Lambda does: the same bytes as the
// contract gives with the same closes from a file.
func TestLocalReadsPrevClosesTable(t *testing.T) {
	db := dynalite.StartT(t)
	dynaliteEnv(t, db)
	raw := append(readLines(t, fixtures.Path(t, fixtures.SeedRaw)), readLines(t, fixtures.Path(t, fixtures.JPMRaw))...)
	closeLines := append(readLines(t, fixtures.Path(t, fixtures.JPMPrevCloses)), readLines(t, fixtures.Path(t, fixtures.SeedPrevCloses))[1:]...)
	closesCSV := writeFile(t, "closes.csv", closeLines)
	want := expected(t, closesCSV, raw)
	f, err := os.Open(closesCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	closes, err := prevclose.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	table, err := openPrevCloseTable(t.Context(), "local-closes", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := table.seed(t.Context(), closes); err != nil {
		t.Fatal(err)
	}

	const user, pass = "alice", "alice-secret-pw"
	r := startLocal(t, nil, "--replay", writeFile(t, "raw.ndjson", raw), "--prev-closes-table", "local-closes",
		"--kafka-addr", "127.0.0.1:0", "--customer-user", user, "--customer-password", pass, "--speed", "0", "--batch-window", "20ms")
	if !strings.Contains(r.stdout.String(), "previous closes: DynamoDB table local-closes, read as the Lambda reads it (endpoint "+db.Endpoint+")") {
		t.Errorf("feed local does not say where the closes come from:\n%s", r.stdout)
	}
	got := saramaRead(t, r.addr, user, pass, "enhanced", len(want))
	unknown := 0
	for _, m := range got {
		e, err := bar.DecodeEnriched([]byte(m.value))
		if err != nil {
			t.Fatalf("enhanced record %q: %v", m.value, err)
		}
		if w := want[barID(e.Symbol, e.Time)]; m.value != w {
			t.Errorf("got  %s\nwant %s", m.value, w)
		}
		if e.Indicator == bar.Unknown {
			unknown++
		}
	}
	// JPM's first day has no earlier close in the fixtures; every other bar has one
	wantUnknown := 0
	for _, w := range want {
		if strings.Contains(w, `"indicator":"Unknown"`) {
			wantUnknown++
		}
	}
	if len(got) != len(want) || unknown != wantUnknown || unknown >= len(want) {
		t.Errorf("got %d enriched bars (%d Unknown), want %d (%d Unknown)", len(got), unknown, len(want), wantUnknown)
	}
	if code, _, errOut := runFeed(t, "", "local", "--prev-closes", closesCSV, "--prev-closes-table", "x"); code != exitUsage || !strings.Contains(errOut, "not both") {
		t.Errorf("both sources: exit %d, stderr %q; want %d, not both", code, errOut, exitUsage)
	}
}
