package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
)

// noHistory is the replay source of a partition whose first record is the test's first: nothing before it.
type noHistory struct{}

func (noHistory) Replay(context.Context, string, int32, int64, int64, func(int64, time.Time, []byte)) error {
	return nil
}

// TestEnrichIsTheHandler: `feed enrich` and the enrich function's handler give the same bytes, indicators
// included, for the JPM fixture (its lines one partition of raw, in random batches of 1 to 300 records, the
// state kept in memory between them as a warm container keeps it). shared/enrichfn's TestStateProperty covers
// retries, cold containers and replays from Kafka against the same fold.
func TestEnrichIsTheHandler(t *testing.T) {
	lines := readLines(t, fixtures.Path(t, fixtures.JPMRaw))
	code, out, errOut := runFeed(t, strings.Join(lines, "\n")+"\n", "enrich", "--prev-closes", fixtures.Path(t, fixtures.JPMPrevCloses))
	if code != exitOK {
		t.Fatalf("feed enrich: exit %d, stderr %q", code, errOut)
	}
	want := strings.Split(strings.TrimSuffix(out, "\n"), "\n")

	closes, err := prevclose.LoadCSVFile(fixtures.Path(t, fixtures.JPMPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	st, err := enrichfn.NewState(state.NewMemory(), noHistory{}, state.DefaultCheckpointEvery, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := enrichfn.NewHandler(&enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: closes},
		st, nil, "enhanced", "raw.dlq", slog.New(slog.DiscardHandler))
	rng := rand.New(rand.NewPCG(14, 0))
	var got []string
	for off := 0; off < len(lines); {
		n := min(1+rng.IntN(300), len(lines)-off)
		recs := make([]events.KafkaRecord, n)
		for i := range n {
			recs[i] = events.KafkaRecord{Topic: "raw", Partition: 0, Offset: int64(off + i),
				Key: base64.StdEncoding.EncodeToString([]byte("JPM")), Value: base64.StdEncoding.EncodeToString([]byte(lines[off+i]))}
		}
		b, err := h.Build(context.Background(), events.KafkaEvent{Records: map[string][]events.KafkaRecord{"raw-0": recs}})
		if err != nil {
			t.Fatal(err)
		}
		h.Commit(context.Background(), &b)
		for _, r := range b.Records {
			got = append(got, string(r.Value))
		}
		off += n
	}
	if s := st.Stats(); s.Cold != 1 || s.Warm == 0 {
		t.Errorf("state: %+v, want one cold start (the first batch) and warm batches after it", s)
	}
	if len(got) != len(want) {
		t.Fatalf("handler wrote %d records, feed enrich %d lines", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d:\nhandler     %s\nfeed enrich %s", i, got[i], want[i])
		}
	}
}
