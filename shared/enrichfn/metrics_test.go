package enrichfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/enrichfn"
)

// emfLine is one EMF line as CloudWatch reads it.
type emfLine struct {
	values map[string]any
	names  []string // the metrics the line declares
}

// emfLines parses every line of out as EMF and checks its declaration: namespace, the FunctionName dimension,
// and a value for every declared metric.
func emfLines(t *testing.T, out string) []emfLine {
	t.Helper()
	var lines []emfLine
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		var meta struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		raw, _ := json.Marshal(m["_aws"])
		if err := json.Unmarshal(raw, &meta); err != nil || len(meta.CloudWatchMetrics) != 1 || meta.Timestamp == 0 {
			t.Fatalf("metrics line %q: no EMF declaration (%v)", line, err)
		}
		d := meta.CloudWatchMetrics[0]
		if d.Namespace != enrichfn.Namespace || len(d.Dimensions) != 1 || !slices.Equal(d.Dimensions[0], []string{"FunctionName"}) || m["FunctionName"] != "finfeed-dev-enrich" {
			t.Errorf("metrics line %q: namespace %q dimensions %v", line, d.Namespace, d.Dimensions)
		}
		l := emfLine{values: m}
		for _, md := range d.Metrics {
			if _, ok := m[md.Name].(float64); !ok || md.Unit == "" {
				t.Errorf("metric %s (unit %q) declared without a number: %v", md.Name, md.Unit, m[md.Name])
			}
			l.names = append(l.names, md.Name)
		}
		lines = append(lines, l)
	}
	return lines
}

// at is a raw record written to Kafka at the given time (its Kafka timestamp).
func at(partition, offset int64, key, value string, written time.Time) events.KafkaRecord {
	r := rawRecord(partition, offset, key, value)
	r.Timestamp = events.MilliSecondsEpochTime{Time: written}
	return r
}

// Each batch writes one EMF line: the counts it already has, the age of the newest and oldest bar written, how
// long its oldest record waited in raw, and the calendar's gates.
func TestHandleEmitsOneMetricsLinePerBatch(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), seedStore(t))
	var out bytes.Buffer
	h.EmitMetrics(&out, "finfeed-dev-enrich")
	now := time.Date(2024, 7, 11, 19, 51, 30, 0, time.UTC) // 15:51:30 in New York, a Thursday: in session
	h.SetClock(func() time.Time { return now })
	nvda := `{"open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:50:00","symbol":"NVDA"}`
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-0": {at(0, 1, "AMZN", goodBar, now.Add(-145*time.Second)), at(0, 2, "AMZN", "not json", now.Add(-20*time.Second))},
		"raw-1": {at(1, 1, "NVDA", nvda, now.Add(-85*time.Second))},
	}}
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	lines := emfLines(t, out.String())
	if len(lines) != 1 {
		t.Fatalf("got %d metrics lines for one batch, want 1:\n%s", len(lines), out.String())
	}
	want := map[string]float64{
		"Records": 3, "Enhanced": 2, "DLQ": 1, "Unknown": 1, "Panics": 0,
		"NewestBarAge": 90,  // NVDA's bar started 19:50:00
		"OldestBarAge": 150, // AMZN's 19:49:00
		"SourceLag":    145, // the oldest record was written 145 s ago
		"InSession":    1, "ClosesDue": 1,
	}
	got := lines[0]
	for name, v := range want {
		if got.values[name] != v {
			t.Errorf("%s: got %v, want %v", name, got.values[name], v)
		}
	}
	if len(got.names) != len(want) {
		t.Errorf("declared %v, want %d metrics", got.names, len(want))
	}

	// a failed batch is retried: no counts (they would count twice), but its lag, which grows while it fails
	out.Reset()
	down := newHandler(t, producer(t, c), downStore{})
	down.EmitMetrics(&out, "finfeed-dev-enrich")
	down.SetClock(func() time.Time { return now.Add(10 * time.Minute) })
	if _, err := down.Handle(context.Background(), ev); err == nil {
		t.Fatal("the store is down, but the batch succeeded")
	}
	lines = emfLines(t, out.String())
	if len(lines) != 1 {
		t.Fatalf("got %d metrics lines for a failed batch, want 1", len(lines))
	}
	if !slices.Equal(lines[0].names, []string{"SourceLag", "InSession", "ClosesDue"}) || lines[0].values["SourceLag"] != 745.0 {
		t.Errorf("failed batch: declared %v, SourceLag %v; want only SourceLag (745), InSession, ClosesDue", lines[0].names, lines[0].values["SourceLag"])
	}
}

// InSession and ClosesDue follow the exchange calendar: ClosesDue from 09:35 New York to the close, early closes
// and holidays included.
func TestMetricsGatesFollowTheCalendar(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name               string
		at                 time.Time
		session, closesDue float64
	}{
		{"before the open", time.Date(2024, 7, 11, 9, 29, 59, 0, ny), 0, 0},
		{"the open", time.Date(2024, 7, 11, 9, 30, 0, 0, ny), 1, 0},
		{"09:34:59", time.Date(2024, 7, 11, 9, 34, 59, 0, ny), 1, 0},
		{"09:35", time.Date(2024, 7, 11, 9, 35, 0, 0, ny), 1, 1},
		{"15:59", time.Date(2024, 7, 11, 15, 59, 0, 0, ny), 1, 1},
		{"the close", time.Date(2024, 7, 11, 16, 0, 0, 0, ny), 0, 0},
		{"Independence Day", time.Date(2024, 7, 4, 12, 0, 0, 0, ny), 0, 0},
		{"Saturday", time.Date(2024, 7, 13, 12, 0, 0, 0, ny), 0, 0},
		{"early close, 12:59", time.Date(2024, 11, 29, 12, 59, 0, 0, ny), 1, 1},
		{"early close, 13:00", time.Date(2024, 11, 29, 13, 0, 0, 0, ny), 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := broker(t)
			h := newHandler(t, producer(t, c), seedStore(t))
			var out bytes.Buffer
			h.EmitMetrics(&out, "finfeed-dev-enrich")
			h.SetClock(func() time.Time { return tt.at })
			ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
				"raw-0": {at(0, 1, "AMZN", goodBar, tt.at)},
			}}
			if _, err := h.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			lines := emfLines(t, out.String())
			if len(lines) != 1 {
				t.Fatalf("got %d lines", len(lines))
			}
			if s, d := lines[0].values["InSession"], lines[0].values["ClosesDue"]; s != tt.session || d != tt.closesDue {
				t.Errorf("InSession %v ClosesDue %v, want %v %v", s, d, tt.session, tt.closesDue)
			}
		})
	}
}
