package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/indexfn"
)

// TestLocalIndexesIntoOpenSearch: with --opensearch-url the index function runs on enhanced through its own
// mapping, and every enriched bar becomes one document (the strict fake checks the protocol and mapping).
func TestLocalIndexesIntoOpenSearch(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	raw := readLines(t, fixtures.Path(t, fixtures.JPMRaw))[:40]
	closes := fixtures.Path(t, fixtures.JPMPrevCloses)
	want := expected(t, closes, raw)
	r := startLocal(t, nil, "--opensearch-url", srv.URL, "--replay", writeFile(t, "raw.ndjson", raw),
		"--prev-closes", closes, "--kafka-addr", "127.0.0.1:0", "--speed", "0", "--batch-window", "10ms")
	if !strings.Contains(r.stdout.String(), "index: the Lambda's handler on enhanced into "+srv.URL) {
		t.Errorf("indexer not announced:\n%s", r.stdout)
	}
	waitFor(t, "every bar indexed", func() bool { return srv.Count() >= len(want) })
	ids := map[string]bool{}
	for _, idx := range srv.Indexes() {
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
	if srv.Count() != len(want) {
		t.Errorf("documents: got %d, want %d", srv.Count(), len(want))
	}
	if code := r.stop(); code != exitOK {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", code, r.stderr)
	}
	if m := regexp.MustCompile(`stopped: .*indexed (\d+), enhanced.dlq 0`).FindStringSubmatch(r.stdout.String()); m == nil || m[1] != "40" {
		t.Errorf("final status: got %q, want indexed 40, enhanced.dlq 0:\n%s", m, r.stdout)
	}
}
