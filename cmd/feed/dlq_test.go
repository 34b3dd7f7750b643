package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// dlqReplay runs `feed dlq replay args...` against addr with no authentication.
func dlqReplay(t *testing.T, addr string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	for _, k := range []string{"KAFKA_BROKERS", "KAFKA_AUTH", "KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_SECRET_ARN", "KAFKA_TLS"} {
		t.Setenv(k, "")
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	code = run(ctx, append([]string{"dlq", "replay", "--brokers", addr}, args...), nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Dead letters go back to their source topic with their original key and value: dry run first, then only those
// matching, and a bar the enrich function still rejects comes back to raw.dlq from its new raw offset.
func TestDLQReplay(t *testing.T) {
	seed := readLines(t, fixtures.Path(t, fixtures.SeedRaw))
	bad := `{"symbol":"AMZN","open":194.5,"high":194.1,"low":194.5,"close":194.2,"volume":10,"timestamp":"2024-07-11 19:52:00"}`
	replay := writeFile(t, "replay.ndjson", append(append([]string{}, seed...), bad, "garbage"))
	r := startLocal(t, nil, "--no-auth", "--replay", replay, "--prev-closes", fixtures.Path(t, fixtures.SeedPrevCloses),
		"--kafka-addr", "127.0.0.1:0", "--speed", "0")
	var dlq []message
	waitFor(t, "two dead letters", func() bool {
		dlq = saramaReadAvailable(t, r.addr, "", "", "raw.dlq")
		return len(dlq) >= 2
	})
	rawBefore := len(saramaReadAvailable(t, r.addr, "", "", "raw"))
	if rawBefore != len(seed)+2 {
		t.Fatalf("raw holds %d records, want %d", rawBefore, len(seed)+2)
	}

	code, out, errOut := dlqReplay(t, r.addr, "--topic", "raw.dlq", "--dry-run")
	if code != exitOK || strings.Count(out, "would send raw.dlq/") != 2 || !strings.Contains(errOut, "read 2, matched 2, would send (dry run) 2, skipped 0") {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := len(saramaReadAvailable(t, r.addr, "", "", "raw")); n != rawBefore {
		t.Fatalf("a dry run wrote to raw: %d records, want %d", n, rawBefore)
	}

	code, _, errOut = dlqReplay(t, r.addr, "--topic", "raw.dlq", "--match", `nothing like this`)
	if code != exitOK || !strings.Contains(errOut, "read 2, matched 0, sent 0") {
		t.Fatalf("--match with no match: exit %d, stderr:\n%s", code, errOut)
	}

	code, _, errOut = dlqReplay(t, r.addr, "--topic", "raw.dlq", "--match", `high [0-9.]+ is below low`)
	if code != exitOK || !strings.Contains(errOut, "read 2, matched 1, sent 1, skipped 0") {
		t.Fatalf("--match: exit %d, stderr:\n%s", code, errOut)
	}
	var raw []message
	waitFor(t, "the re-driven bar on raw", func() bool {
		raw = saramaReadAvailable(t, r.addr, "", "", "raw")
		return len(raw) > rawBefore
	})
	found := 0
	for _, m := range raw {
		if m.value == bad && m.key == "AMZN" {
			found++
		}
	}
	if len(raw) != rawBefore+1 || found != 2 {
		t.Fatalf("raw after the re-drive: %d records (want %d), %d copies of the bad bar with key AMZN (want the original and the re-driven one)", len(raw), rawBefore+1, found)
	}
	// the enrich function rejects it again, from its new offset: a third dead letter with the same value
	waitFor(t, "the third dead letter", func() bool {
		dlq = saramaReadAvailable(t, r.addr, "", "", "raw.dlq")
		return len(dlq) >= 3
	})
	sources := map[string]bool{}
	for _, d := range dlq {
		sources[d.headers["source"]] = true
		if d.value == bad && !strings.Contains(d.headers["error"], "high 194.1 is below low 194.5") {
			t.Errorf("dead letter %s: error %q", d.headers["source"], d.headers["error"])
		}
	}
	if len(dlq) != 3 || len(sources) != 3 {
		t.Errorf("raw.dlq: %d dead letters from %d sources, want 3 from 3", len(dlq), len(sources))
	}

	// not a dead-letter topic: nothing has a source header, so nothing is sent
	code, out, errOut = dlqReplay(t, r.addr, "--topic", "enhanced", "--dry-run")
	if code != exitOK || !strings.Contains(errOut, "matched 3, would send (dry run) 0, skipped 3") || !strings.Contains(out, "is not topic/partition/offset") {
		t.Errorf("--topic enhanced: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// dead letters written before --from-time are left alone
	code, out, _ = dlqReplay(t, r.addr, "--topic", "raw.dlq", "--from-time", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--dry-run")
	if code != exitOK || !strings.Contains(out, "holds no dead letters in range") {
		t.Errorf("--from-time in the future: exit %d, stdout:\n%s", code, out)
	}
	if code, _, errOut := dlqReplay(t, r.addr, "--match", "("); code != exitUsage || !strings.Contains(errOut, "--topic: required") || !strings.Contains(errOut, "--match") {
		t.Errorf("bad usage: exit %d, stderr:\n%s", code, errOut)
	}
}
