package indexfn_test

import (
	"encoding/base64"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/indexfn"
)

// The index function's dead letters on enhanced.dlq carry the headers the contract describes
// (dlq-headers.schema.json), and the event fixture's records are what the contract says: the ones the
// function indexes validate against enhanced.schema.json, the one it dead-letters does not.
func TestDeadLettersAreTheContract(t *testing.T) {
	enhanced, err := docs.Schema(docs.EnhancedSchema)
	if err != nil {
		t.Fatal(err)
	}
	dlqHeaders, err := docs.Schema(docs.DLQHeadersSchema)
	if err != nil {
		t.Fatal(err)
	}
	srv := searchtest.NewServer(t, searchtest.Options{})
	kc := broker(t)
	h := indexfn.NewHandler(indexer(t, srv, naming("")), kafkaClient(t, kc), naming(""), "enhanced.dlq", quietLog())
	ev := fixture(t)
	counts, err := h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	dead := deadLetters(t, kc)
	if len(dead) == 0 || len(dead) != counts.DLQ {
		t.Fatalf("dead letters: got %d, want the %d counted (at least one)", len(dead), counts.DLQ)
	}
	deadValues := map[string]bool{}
	for _, d := range dead {
		deadValues[string(d.Value)] = true
		if err := docs.ValidateHeaders(dlqHeaders, headerMap(d)); err != nil {
			t.Errorf("dead letter %s: headers %v: %v", d.Value, headerMap(d), err)
		}
	}
	for part, recs := range ev.Records {
		for _, r := range recs {
			v, err := base64.StdEncoding.DecodeString(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			err = docs.ValidateJSON(enhanced, v)
			if deadValues[string(v)] && err == nil {
				t.Errorf("%s/%d: dead-lettered, yet valid by the contract: %s", part, r.Offset, v)
			}
			if !deadValues[string(v)] && err != nil {
				t.Errorf("%s/%d: indexed, yet not valid by the contract: %v", part, r.Offset, err)
			}
		}
	}
}

func headerMap(r *kgo.Record) map[string]string {
	m := make(map[string]string, len(r.Headers))
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}
