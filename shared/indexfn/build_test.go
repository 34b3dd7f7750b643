package indexfn_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/indexfn"
)

// buildEvent is the fixture plus a partition whose name sorts between the fixture's ("enhanced-10" after
// "enhanced-1"), holding a record that is not base64 and a good bar.
func buildEvent(t *testing.T) events.KafkaEvent {
	t.Helper()
	ev := fixture(t)
	extra := barEvent(10, 7, testBar{"MSFT", "2024-07-11 19:49:00", 452.1}).Records["enhanced-10"]
	bad := extra[0]
	bad.Offset = 6
	bad.Value = "not base64!"
	ev.Records["enhanced-10"] = append([]events.KafkaRecord{bad}, extra...)
	return ev
}

// Build needs neither OpenSearch nor Kafka (the handler has neither) and puts documents and dead letters in
// the walk's order: partitions by name, records by offset.
func TestBuild(t *testing.T) {
	h := indexfn.NewHandler(nil, nil, naming(""), "enhanced.dlq", quietLog())
	b := h.Build(buildEvent(t))
	want := indexfn.Counts{Records: 8, DLQ: 2, Invalid: 2}
	if b.Counts != want {
		t.Errorf("Counts: got %+v, want %+v", b.Counts, want)
	}
	if len(b.From) != len(b.Docs) || len(b.Values) != len(b.Docs) {
		t.Errorf("got %d documents, %d sources, %d values, want as many of each", len(b.Docs), len(b.From), len(b.Values))
	}
	var ids []string
	for i, d := range b.Docs {
		ids = append(ids, d.Index+"/"+d.ID)
		symbol, _, _ := strings.Cut(d.ID, "|")
		if i < len(b.Values) && !strings.HasPrefix(string(b.Values[i]), `{"symbol":"`+symbol+`"`) {
			t.Errorf("document %s: value %q, want that bar's record", d.ID, b.Values[i])
		}
		if i < len(b.From) && b.From[i].Topic != "enhanced" {
			t.Errorf("document %s: from topic %q, want enhanced", d.ID, b.From[i].Topic)
		}
	}
	wantIDs := []string{
		"bars-2024.07/AMZN|2024-07-11 19:49:00", "bars-2024.07/AMZN|2024-07-11 19:50:00", "bars-2024.07/NVDA|2024-07-11 19:49:00",
		"bars-2024.07/AAPL|2024-07-11 19:49:00", "bars-2024.07/TSLA|2024-07-11 13:31:00", "bars-2024.07/MSFT|2024-07-11 19:49:00",
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("documents: got %v, want %v", ids, wantIDs)
	}
	var dead []string
	for _, r := range b.Dead {
		dead = append(dead, r.Topic+" "+string(r.Key)+" "+header(r, "source")+" "+header(r, "error"))
	}
	wantDead := []string{
		"enhanced.dlq AAPL enhanced/1/2209 invalid bar: close: not a number",
		"enhanced.dlq MSFT enhanced/10/6 value: invalid base64: illegal base64 data at input byte 3",
	}
	if len(dead) != len(wantDead) || !strings.HasPrefix(dead[0], wantDead[0]) || dead[1] != wantDead[1] {
		t.Errorf("dead letters: got %q, want %q", dead, wantDead)
	}
	if len(b.Dead) == 2 && string(b.Dead[1].Value) != "not base64!" {
		t.Errorf("undecodable record's dead letter: got value %q, want the record's text", b.Dead[1].Value)
	}
	if len(b.Rejects) != 2 || !strings.HasPrefix(b.Rejects[1], "enhanced/10/6: value: invalid base64") {
		t.Errorf("rejects for the log: got %q", b.Rejects)
	}
}

// The same event builds byte-identical documents and dead letters whatever the map order of its partitions,
// so a retried batch overwrites the same documents and repeats the same dead letters.
func TestBuildDeterministic(t *testing.T) {
	h := indexfn.NewHandler(nil, nil, naming(""), "enhanced.dlq", quietLog())
	ev := buildEvent(t)
	var first [][]byte
	for run := range 5 {
		b := h.Build(ev)
		var got [][]byte
		for _, d := range b.Docs {
			got = append(got, []byte(d.Index+"|"+d.ID+"|"+string(d.Source)))
		}
		for _, r := range b.Dead {
			got = append(got, deadBytes(r))
		}
		if run == 0 {
			first = got
			if len(first) != 8 {
				t.Fatalf("first run: got %d documents and dead letters, want 8", len(first))
			}
			continue
		}
		if len(got) != len(first) {
			t.Fatalf("run %d: got %d outputs, first run %d", run, len(got), len(first))
		}
		for i := range got {
			if !bytes.Equal(got[i], first[i]) {
				t.Fatalf("run %d output %d: %s, first run %s", run, i, got[i], first[i])
			}
		}
	}
}

func deadBytes(r *kgo.Record) []byte {
	out := []byte(r.Topic + "|" + string(r.Key) + "|" + string(r.Value))
	for _, h := range r.Headers {
		out = append(out, "|"+h.Key+"="+string(h.Value)...)
	}
	return out
}
