package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// TestLocalNoAuthKcat: with --no-auth, Debian's kcat (librdkafka) reads the enriched feed, and it equals the
// reference's published lines.
func TestLocalNoAuthKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run .ci/run, or apt-get install -y kcat")
	}
	r := startLocal(t, nil, "--no-auth", "--replay", fixtures.Path(t, fixtures.SeedRaw),
		"--prev-closes", fixtures.Path(t, fixtures.SeedPrevCloses), "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	if !strings.Contains(r.stdout.String(), "kcat -b "+r.addr+" -C -t enhanced -o beginning") {
		t.Errorf("no kcat command printed:\n%s", r.stdout)
	}
	ref := readLines(t, fixtures.Path(t, fixtures.SeedEnhanced))
	var lines []string
	waitFor(t, "kcat to read every enriched bar", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, "-b", r.addr, "-C", "-t", "enhanced", "-o", "beginning", "-e", "-q",
			"-f", `%k %s\n`).Output()
		if err != nil {
			t.Logf("kcat: %v", err)
			return false
		}
		lines = splitLines(string(out))
		return len(lines) >= len(ref)
	})
	if len(lines) != len(ref) {
		t.Fatalf("kcat read %d records, want %d: %q", len(lines), len(ref), lines)
	}
	byTime := map[string]bar.Enriched{}
	for _, l := range lines {
		key, value, _ := strings.Cut(l, " ")
		e, err := bar.DecodeEnriched([]byte(value))
		if err != nil {
			t.Fatalf("kcat line %q: %v", l, err)
		}
		if key != e.Symbol {
			t.Errorf("key %q, want %q", key, e.Symbol)
		}
		byTime[e.Time.String()] = e
	}
	for _, l := range ref {
		want, err := bar.DecodeEnriched([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := byTime[want.Time.String()]
		if !ok {
			t.Errorf("bar at %v missing", want.Time)
			continue
		}
		if got.Symbol != want.Symbol || got.Close != want.Close || got.Open != want.Open || got.High != want.High ||
			got.Low != want.Low || got.Volume != want.Volume || got.Change != want.Change || got.Indicator != want.Indicator {
			t.Errorf("bar at %v: got %+v, want %+v", want.Time, got, want)
		}
	}
}
