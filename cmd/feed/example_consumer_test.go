package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/repo"

	"github.com/finfeed/finfeed/shared/bar"
)

// moduleRoot is the repository root.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// exampleLine is the line docs/examples/consumer prints for e.
func exampleLine(e *bar.Enriched, correction bool) string {
	prev, change := "n/a", "n/a"
	if e.HasPrev {
		prev = strconv.FormatFloat(e.PrevClose, 'f', -1, 64)
		change = fmt.Sprintf("%+.2f%%", e.Change)
	}
	l := fmt.Sprintf("%s %s close=%s prevClose=%s change=%s %s", e.Symbol, stamp(e.Time),
		strconv.FormatFloat(e.Close, 'f', -1, 64), prev, change, e.Indicator)
	if correction {
		l += " (correction)"
	}
	return l
}

// TestExampleConsumerAgainstLocal builds the customer's example consumer and runs it against feed local as the
// customer: it prints every bar of the session once, drops a repeat, prints a correction, and a second run in
// its group continues with what came after.
func TestExampleConsumerAgainstLocal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "consumer")
	ctx, cancel := context.WithTimeout(t.Context(), 5*waitLimit) // a cold build on a shared machine
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./docs/examples/consumer")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./docs/examples/consumer: %v\n%s", err, out)
	}

	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	v1, fix, next := dupes()
	produceEnhanced(t, r, v1, v1, fix, fix, next)
	var want []string
	for _, bars := range sessionBars(t) {
		for i := range bars {
			want = append(want, exampleLine(&bars[i], false))
		}
	}
	for i, v := range []string{v1, fix, next} {
		e, err := bar.DecodeEnriched([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, exampleLine(&e, i == 1))
	}

	runExample := func(t *testing.T, max int, password string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), "FINFEED_BROKERS="+r.addr, "FINFEED_USER=customer", "FINFEED_PASSWORD="+password,
			"FINFEED_TLS=false", "FINFEED_MAX="+strconv.Itoa(max))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	stdout, stderr, err := runExample(t, len(want), "customer-secret")
	if err != nil {
		t.Fatalf("example consumer: %v; stderr:\n%s", err, stderr)
	}
	got := splitLines(stdout)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		for _, l := range got {
			if _, ok := slices.BinarySearch(want, l); !ok {
				t.Errorf("printed, not expected: %q", l)
			}
		}
		for _, l := range want {
			if _, ok := slices.BinarySearch(got, l); !ok {
				t.Errorf("expected, not printed: %q", l)
			}
		}
		t.Fatalf("printed %d lines, want %d", len(got), len(want))
	}

	later := bar.Enriched{Symbol: "ZZDUP", Open: 11, High: 11, Low: 11, Close: 11, Volume: 1,
		Time: time.Date(2025, 6, 12, 14, 5, 0, 0, time.UTC), Indicator: bar.Unknown}
	later.TradingDate = bar.TradingDate(later.Time)
	produceEnhanced(t, r, string(bar.AppendEnriched(nil, &later)))
	stdout, stderr, err = runExample(t, 1, "customer-secret")
	if err != nil {
		t.Fatalf("second run: %v; stderr:\n%s", err, stderr)
	}
	if got, want := strings.TrimSpace(stdout), exampleLine(&later, false); got != want {
		t.Errorf("second run in the group: got %q, want only the new bar %q", got, want)
	}

	stdout, stderr, err = runExample(t, 1, "Wr0ng-P4ss")
	if err == nil || stdout != "" || !strings.Contains(stderr, "wrong brokers, user or password") || strings.Contains(stderr, "Wr0ng-P4ss") {
		t.Errorf("wrong password: err %v, stdout %q, stderr %q; want a failure naming the login, without the password", err, stdout, stderr)
	}
}
