package main

import (
	"bytes"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestBenchPrintsPairs(t *testing.T) {
	code, out, errOut := runFeed(t, "", "bench", "--bars", "400", "--rate", "0", "--bad-every", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	names := []string{"throughput_records_per_s", "latency_p50_ms", "latency_p99_ms", "latency_max_ms", "dlq_records"}
	if len(lines) != len(names) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(names), out)
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != names[i] {
			t.Fatalf("line %d: %q, want %s VALUE", i+1, l, names[i])
		}
		if _, err := strconv.ParseFloat(f[1], 64); err != nil {
			t.Errorf("line %d: value %q is not a number", i+1, f[1])
		}
	}
	if lines[4] != "dlq_records 8" {
		t.Errorf("got %q, want dlq_records 8", lines[4])
	}
	if code, _, _ := runFeed(t, "", "bench", "--bars", "0"); code != 2 {
		t.Errorf("--bars 0: exit %d, want 2", code)
	}
}

// A sweep runs the market once per symbol count, prefixes each run's lines with the count, and plots them.
func TestBenchSweepPlots(t *testing.T) {
	png := filepath.Join(t.TempDir(), "burst.png")
	code, out, errOut := runFeed(t, "", "bench", "--sweep", "40,80", "--minutes", "1", "--minute", "500ms", "--burst", "200ms",
		"--partitions", "1", "--bad-every", "0", "--no-progress", "--plot", png)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"40 enriched_unknown 1\n", "80 enriched_unknown 1\n", "40 unexpected_enrichments 0\n", "80 burst_latency_max_ms "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := image.Decode(bytes.NewReader(b)); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG: %v", png, err)
	}
	if code, _, _ := runFeed(t, "", "bench", "--plot", png); code != exitUsage {
		t.Errorf("--plot without --sweep: exit %d, want %d", code, exitUsage)
	}
}
