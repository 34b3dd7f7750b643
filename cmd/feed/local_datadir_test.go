package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/synth"
	"github.com/finfeed/finfeed/shared/topics"
)

// TestLocalDataDirRestart: a second run on the same --data-dir still has the first run's records, and its
// enrich group resumes from the committed offsets: nothing is enriched twice. The second run's JPM bars carry
// indicators that continue the first run's (sma50 over bars of both runs), from the state checkpointed in the
// data dir.
func TestLocalDataDirRestart(t *testing.T) {
	dir := t.TempDir()
	closes := fixtures.Path(t, fixtures.JPMPrevCloses)
	jpm := readLines(t, fixtures.Path(t, fixtures.JPMRaw))
	first := append(readLines(t, fixtures.Path(t, fixtures.SeedRaw)), jpm[:40]...)
	second := jpm[40:70]
	args := func(replay string) []string {
		return []string{"--data-dir", dir, "--replay", replay, "--prev-closes", closes, "--kafka-addr", "127.0.0.1:0",
			"--customer-user", "alice", "--customer-password", "pw", "--speed", "0", "--batch-window", "10ms"}
	}

	r := startLocal(t, nil, args(writeFile(t, "first.ndjson", first))...)
	saramaRead(t, r.addr, "alice", "pw", "enhanced", len(first))
	if code := r.stop(); code != exitOK {
		t.Fatalf("first run exit: got %d, want 0; stderr:\n%s", code, r.stderr)
	}
	if ckpts, _ := filepath.Glob(filepath.Join(dir, "enrich-state", "raw", "*", "*.ckpt")); len(ckpts) == 0 {
		t.Errorf("no state checkpoint under %s after the first run", filepath.Join(dir, "enrich-state"))
	}

	r = startLocal(t, nil, args(writeFile(t, "second.ndjson", second))...)
	all := append(append([]string{}, first...), second...)
	want := expected(t, closes, all)
	got := saramaRead(t, r.addr, "alice", "pw", "enhanced", len(all))
	seen := map[string]int{}
	for _, m := range got {
		seen[m.value]++
	}
	for id, v := range want {
		if seen[v] != 1 {
			t.Errorf("%s: in enhanced %d times, want once", id, seen[v])
		}
	}
	if last := want[jpmID(t, second[len(second)-1])]; !strings.Contains(last, `"sma50":2`) {
		t.Errorf("the second run's last bar has no sma50 over both runs' bars: %s", last)
	}
	saramaRead(t, r.addr, r.serviceUser, r.servicePass, "raw", len(all))

	cl := r.serviceClient(t)
	defer cl.Close()
	var committed int64
	waitFor(t, "the second run's commits", func() bool {
		offs, err := kadm.NewClient(cl).FetchOffsets(t.Context(), topics.EnrichGroup)
		if err != nil {
			t.Fatal(err)
		}
		committed = 0
		offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
		return committed >= int64(len(all))
	})
	if committed != int64(len(all)) {
		t.Errorf("committed offsets of %s: got %d, want %d", topics.EnrichGroup, committed, len(all))
	}
	if !strings.Contains(r.stdout.String(), "data dir "+dir) {
		t.Errorf("data dir not announced:\n%s", r.stdout)
	}
}

// TestLocalDataDirResumesSyntheticSession: the built-in session is deterministic, so a restart continues it
// instead of writing it again.
func TestLocalDataDirResumesSyntheticSession(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--kafka-addr", "127.0.0.1:0", "--speed", "0"}
	r := startLocal(t, nil, args...)
	waitFor(t, "the session to be written", func() bool { return strings.Contains(r.stdout.String(), "done, ") })
	if code := r.stop(); code != exitOK {
		t.Fatalf("first run exit: got %d, want 0; stderr:\n%s", code, r.stderr)
	}
	r = startLocal(t, nil, args...)
	if out := r.stdout.String(); !strings.Contains(out, ", 0 records to raw") || !strings.Contains(out, "continuing after the ") {
		t.Errorf("second run does not continue the session:\n%s", out)
	}
}

// TestLocalDataDirResumeWritesEachSessionBarOnce: a run stopped in the middle of the synthetic session, while
// another producer (the ingester) also wrote to raw, is continued so that raw ends up with every bar of the
// session exactly once: what raw holds is not all the session's, so its record count is not where to resume.
func TestLocalDataDirResumeWritesEachSessionBarOnce(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--kafka-addr", "127.0.0.1:0", "--customer-user", "alice", "--customer-password", "pw"}
	// a market minute per second: the session takes minutes, so this run is stopped long before it is done
	r := startLocal(t, nil, append(args, "--speed", "60")...)
	cl := r.serviceClient(t)
	var ingested []*kgo.Record
	for i := range 20 {
		ingested = append(ingested, &kgo.Record{Topic: "raw", Key: []byte("ZZING"),
			Value: fmt.Appendf(nil, `{"open":1,"high":1,"low":1,"close":1,"volume":%d,"timestamp":"2025-06-12 14:00:00","symbol":"ZZING"}`, i+1)})
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := cl.ProduceSync(ctx, ingested...).FirstErr(); err != nil {
		t.Fatalf("ingest into raw: %v", err)
	}
	cl.Close()
	if code := r.stop(); code != exitOK {
		t.Fatalf("first run exit: got %d, want 0; stderr:\n%s", code, r.stderr)
	}
	if strings.Contains(r.stdout.String(), "done, ") {
		t.Fatalf("the first run finished the session; it had to be stopped before:\n%s", r.stdout)
	}

	r = startLocal(t, nil, append(args, "--speed", "0")...)
	waitFor(t, "the session to be written", func() bool { return strings.Contains(r.stdout.String(), "done, ") })
	count := map[string]int{}
	for _, m := range saramaReadAvailable(t, r.addr, r.serviceUser, r.servicePass, "raw") {
		count[m.value]++
	}
	session := synth.Default()
	for i := range session.Bars {
		if v := string(bar.AppendRaw(nil, &session.Bars[i])); count[v] != 1 {
			t.Errorf("session bar %s: in raw %d times, want once", v, count[v])
		}
	}
	for _, rec := range ingested {
		if count[string(rec.Value)] != 1 {
			t.Errorf("ingested bar %s: in raw %d times, want once", rec.Value, count[string(rec.Value)])
		}
	}
}

func jpmID(t *testing.T, line string) string {
	t.Helper()
	raw, err := bar.DecodeRaw([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return barID(raw.Symbol, raw.Time)
}
