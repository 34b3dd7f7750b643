package enrichfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
)

// A panic while one record is processed (decoding or enriching it) sends that record to raw.dlq with the panic
// as its reason, the stack goes to the log, and the rest of the batch is written as usual.
func TestHandlePanicInOneRecord(t *testing.T) {
	c := broker(t)
	var logs bytes.Buffer
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: seedStore(t)}
	h := enrichfn.NewHandler(e, noHistoryState(t), producer(t, c), "enhanced", "raw.dlq", slog.New(slog.NewJSONHandler(&logs, nil)))
	h.SetFault(func(stage string, in *events.KafkaRecord) {
		switch {
		case stage == "decode" && in.Partition == 1 && in.Offset == 8:
			panic("boom in decode")
		case stage == "enrich" && in.Partition == 0 && in.Offset == 3:
			var m map[string]int
			m["x"]++ // a runtime error: assignment to entry in nil map
		}
	})
	nvda := `{"open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"NVDA"}`
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-1": {rawRecord(1, 7, "AMZN", goodBar), rawRecord(1, 8, "AMZN", goodBar), rawRecord(1, 9, "NVDA", nvda)},
		"raw-0": {rawRecord(0, 3, "NVDA", nvda)},
	}}
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	if want := (enrichfn.Counts{Records: 4, Enhanced: 2, DLQ: 2, Neutral: 1, Unknown: 1, Panics: 2}); counts != want {
		t.Errorf("counts: got %+v, want %+v", counts, want)
	}
	recs := consume(t, c, 4, "enhanced", "raw.dlq")
	enhanced, dlq := byTopic(recs, "enhanced"), byTopic(recs, "raw.dlq")
	if len(enhanced) != 2 {
		t.Fatalf("got %d enhanced records, want 2", len(enhanced))
	}
	want := map[string]struct{ reason, value string }{
		"raw/1/8": {"panic: boom in decode", goodBar},
		"raw/0/3": {"panic: assignment to entry in nil map", nvda},
	}
	if len(dlq) != len(want) {
		t.Fatalf("got %d dead letters, want %d", len(dlq), len(want))
	}
	for _, r := range dlq {
		src := header(r, "source")
		w, ok := want[src]
		if !ok {
			t.Errorf("dead letter from %s, want only %v", src, want)
			continue
		}
		if got := header(r, "error"); got != w.reason {
			t.Errorf("%s: reason %q, want %q", src, got, w.reason)
		}
		if string(r.Value) != w.value || string(r.Key) == "" {
			t.Errorf("%s: key %q value %q, want the original (%q)", src, r.Key, r.Value, w.value)
		}
	}
	// the stack is in the log, once per panic, and names where it happened
	var stacks int
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if s, _ := m["stack"].(string); s != "" {
			stacks++
			if !strings.Contains(s, "panic_test.go") || m["source"] == nil {
				t.Errorf("panic log line without the stack of the fault or the record's source: %v", m)
			}
		}
	}
	if stacks != 2 {
		t.Errorf("got %d log lines with a stack, want 2:\n%s", stacks, logs.String())
	}
}

// A batch whose records all panic writes only their dead letters, and succeeds.
func TestHandleEveryRecordPanics(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), seedStore(t))
	h.SetFault(func(string, *events.KafkaRecord) { panic(errors.New("broken")) })
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-0": {rawRecord(0, 1, "AMZN", goodBar), rawRecord(0, 2, "AMZN", goodBar)},
	}}
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	if counts.DLQ != 2 || counts.Enhanced != 0 || counts.Panics != 2 {
		t.Errorf("counts %+v, want 2 dead letters from 2 panics", counts)
	}
	for _, r := range consume(t, c, 2, "enhanced", "raw.dlq") {
		if r.Topic != "raw.dlq" || header(r, "error") != "panic: broken" {
			t.Errorf("%s %s: error %q", r.Topic, header(r, "source"), header(r, "error"))
		}
	}
}
