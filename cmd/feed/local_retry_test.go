package main

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// TestLocalRetriesFailedBatches: the first invocations fail after the handler already wrote its output (the
// worst case: a Lambda that times out after producing). The mapping retries them; every bar still arrives, and
// the duplicates are byte-identical, so consumers can collapse them.
func TestLocalRetriesFailedBatches(t *testing.T) {
	raw := readLines(t, fixtures.Path(t, fixtures.JPMRaw))
	closes := fixtures.Path(t, fixtures.JPMPrevCloses)
	want := expected(t, closes, raw)
	const failures = 3
	var calls atomic.Int64
	o := localOptions{
		replay: fixtures.Path(t, fixtures.JPMRaw), prevCloses: closes, kafkaAddr: "127.0.0.1:0",
		customerUser: "alice", customerPassword: "pw", speed: 0, batchSize: 50, batchWindow: 10 * time.Millisecond,
		wrapHandler: func(next esm.Handler) esm.Handler {
			return func(ctx context.Context, ev events.KafkaEvent) error {
				err := next(ctx, ev)
				if calls.Add(1) <= failures {
					return errors.Join(err, errors.New("injected failure after the batch was written"))
				}
				return err
			}
		},
	}
	r := startLocal(t, &o)

	// enhanced holds every bar plus the duplicates of the failed batches; read until all distinct ones arrived
	var got []message
	waitFor(t, "every bar after the retries", func() bool {
		got = saramaReadAvailable(t, r.addr, "alice", "pw", "enhanced")
		return distinct(got) >= len(want)
	})
	seen := map[string]int{}
	for _, m := range got {
		e, err := bar.DecodeEnriched([]byte(m.value))
		if err != nil {
			t.Fatal(err)
		}
		id := barID(e.Symbol, e.Time)
		seen[id]++
		if m.value != want[id] {
			t.Errorf("%s:\ngot  %s\nwant %s", id, m.value, want[id])
		}
	}
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("%s lost", id)
		}
	}
	if dups := len(got) - len(want); dups <= 0 {
		t.Errorf("duplicates: got %d, want some (the failed batches were written before failing)", dups)
	}
	if code := r.stop(); code != exitOK {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", code, r.stderr)
	}
	m := regexp.MustCompile(`stopped: .*retries (\d+)`).FindStringSubmatch(r.stdout.String())
	if m == nil {
		t.Fatalf("no final status line:\n%s", r.stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n != failures {
		t.Errorf("retries reported: got %d, want %d", n, failures)
	}
}

func distinct(ms []message) int {
	d := map[string]bool{}
	for _, m := range ms {
		d[m.value] = true
	}
	return len(d)
}
