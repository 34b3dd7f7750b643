package indexfn_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/indexfn"
)

// A panic while one record is processed sends that record to enhanced.dlq with the panic as its reason (the
// stack goes to the log), and the rest of the batch is indexed.
func TestHandlePanicInOneRecord(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	kc := broker(t)
	var logs bytes.Buffer
	h := indexfn.NewHandler(indexer(t, srv, naming("")), kafkaClient(t, kc), naming(""), "enhanced.dlq",
		slog.New(slog.NewJSONHandler(&logs, nil)))
	h.SetFault(func(in *events.KafkaRecord) {
		if in.Offset == 11 {
			var s []int
			_ = s[in.Offset] // a runtime error: index out of range
		}
	})
	ev := barEvent(0, 10,
		testBar{"AAPL", "2025-01-02 14:30:00", 243.10},
		testBar{"MSFT", "2025-01-02 14:30:00", 421.50},
		testBar{"NVDA", "2025-01-02 14:30:00", 138.31})
	got, err := h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	if want := (indexfn.Counts{Records: 3, Indexed: 2, DLQ: 1, Invalid: 1, Panics: 1}); got != want {
		t.Errorf("counts: got %+v, want %+v", got, want)
	}
	docs := srv.Docs("bars-2025.01")
	if len(docs) != 2 || docs["AAPL|2025-01-02 14:30:00"] == nil || docs["NVDA|2025-01-02 14:30:00"] == nil {
		t.Errorf("indexed %v, want AAPL and NVDA", keys(docs))
	}
	dead := deadLetters(t, kc)
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(dead))
	}
	d := dead[0]
	original, _ := base64.StdEncoding.DecodeString(ev.Records["enhanced-0"][1].Value)
	if want := "panic: runtime error: index out of range [11] with length 0"; header(d, "error") != want ||
		header(d, "source") != "enhanced/0/11" || string(d.Key) != "MSFT" || !bytes.Equal(d.Value, original) {
		t.Errorf("dead letter: key %q value %q error %q source %q; want MSFT's original record and %q",
			d.Key, d.Value, header(d, "error"), header(d, "source"), want)
	}
	var stacks int
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if s, _ := m["stack"].(string); strings.Contains(s, "panic_test.go") && m["source"] == "enhanced/0/11" {
			stacks++
		}
	}
	if stacks != 1 {
		t.Errorf("got %d log lines with the panic's stack, want 1:\n%s", stacks, logs.String())
	}
}
