package enrichfn_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// headerMap is a record's headers as name to value (the last value of a repeated name).
func headerMap(r *kgo.Record) map[string]string {
	m := make(map[string]string, len(r.Headers))
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// What the handler writes to a real broker is in the customer contract (docs/schemas): every enhanced value of
// the event fixture and the JPM session (previous close unknown on 2024-10-30, known on 2024-10-31) validates
// against enhanced.schema.json and its headers against enhanced-headers.schema.json, and every dead letter's
// headers against dlq-headers.schema.json.
func TestHandleOutputIsTheContract(t *testing.T) {
	enhancedSchema, err := docs.Schema(docs.EnhancedSchema)
	if err != nil {
		t.Fatal(err)
	}
	enhancedHeaders, err := docs.Schema(docs.EnhancedHeadersSchema)
	if err != nil {
		t.Fatal(err)
	}
	dlqHeaders, err := docs.Schema(docs.DLQHeadersSchema)
	if err != nil {
		t.Fatal(err)
	}
	store := seedStore(t)
	jpm, err := os.Open(fixtures.Path(t, fixtures.JPMPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	defer jpm.Close()
	closes, err := prevclose.ReadCSV(jpm)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), closes); err != nil {
		t.Fatal(err)
	}

	ev := fixture(t) // three reference AMZN bars and one with high below low
	var recs []events.KafkaRecord
	for i, line := range strings.Split(strings.TrimSpace(string(fixtures.Read(t, fixtures.JPMRaw))), "\n") {
		recs = append(recs, rawRecord(1, int64(i), "JPM", line))
	}
	bad := rawRecord(1, int64(len(recs)), "", `{"symbol":"JPM"}`, map[string]events.JSONNumberBytes{"trace": []byte("abc")})
	ev.Records["raw-1"] = append(recs, bad)

	c := broker(t)
	h := newHandler(t, producer(t, c), store)
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Unknown == 0 || counts.Unknown == counts.Enhanced || counts.DLQ != 2 {
		t.Fatalf("counts %+v: want Unknown and known closes, and two dead letters", counts)
	}
	out := consume(t, c, counts.Enhanced+counts.DLQ, "enhanced", "raw.dlq")
	var unknown, known int
	for _, r := range byTopic(out, "enhanced") {
		if err := docs.ValidateJSON(enhancedSchema, r.Value); err != nil {
			t.Errorf("enhanced %s/%d: %s: %v", r.Key, r.Offset, r.Value, err)
		}
		if err := docs.ValidateHeaders(enhancedHeaders, headerMap(r)); err != nil {
			t.Errorf("enhanced %s/%d: headers %v: %v", r.Key, r.Offset, headerMap(r), err)
		}
		e, err := bar.DecodeEnriched(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if e.HasPrev {
			known++
		} else {
			unknown++
		}
	}
	if unknown != counts.Unknown || known != counts.Enhanced-counts.Unknown {
		t.Errorf("read %d Unknown and %d known enhanced records, want %d and %d", unknown, known, counts.Unknown, counts.Enhanced-counts.Unknown)
	}
	dlq := byTopic(out, "raw.dlq")
	if len(dlq) != 2 {
		t.Fatalf("got %d dead letters, want 2", len(dlq))
	}
	for _, r := range dlq {
		if err := docs.ValidateHeaders(dlqHeaders, headerMap(r)); err != nil {
			t.Errorf("dead letter %s: headers %v: %v", r.Value, headerMap(r), err)
		}
	}
}

// The schema-version header the handler writes is the version the published schemas carry.
func TestSchemaVersionIsTheSchemas(t *testing.T) {
	for _, name := range []string{docs.EnhancedSchema, docs.EnhancedHeadersSchema} {
		b, err := fs.ReadFile(docs.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Version string `json:"x-schema-version"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Version != enrichfn.SchemaVersion {
			t.Errorf("%s: x-schema-version %q, want the handler's %q", name, s.Version, enrichfn.SchemaVersion)
		}
	}
}
