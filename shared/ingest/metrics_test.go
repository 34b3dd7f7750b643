package ingest_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/ingest"
)

// Each EMF line carries every counter's increase, the buffer depth and the calendar's InSession, all declared
// as metrics under the one dimension Service, so CloudWatch turns them into the data points the template's
// alarms read.
func TestWriteEMF(t *testing.T) {
	m := ingest.Metrics{Service: "finfeed-prod-ingester"}
	m.Produced.Add(5)
	m.Lost.Add(1)
	m.Buffered.Store(7)
	line := func(now time.Time) map[string]any {
		t.Helper()
		var buf bytes.Buffer
		if err := m.WriteEMF(&buf, now); err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", buf.Bytes(), err)
		}
		return v
	}
	open := time.Date(2024, time.July, 11, 10, 0, 0, 0, bar.NewYork)
	first := line(open)
	if first["Produced"] != 5.0 || first["Lost"] != 1.0 || first["BufferDepth"] != 7.0 || first["InSession"] != 1.0 {
		t.Errorf("first line: %v", first)
	}
	meta := first["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if dims, _ := json.Marshal(meta["Dimensions"]); first["Service"] != "finfeed-prod-ingester" || string(dims) != `[["Service"]]` {
		t.Errorf("dimensions %s, Service %v: want [[\"Service\"]] and finfeed-prod-ingester", dims, first["Service"])
	}
	declared := map[string]bool{}
	for _, d := range meta["Metrics"].([]any) {
		declared[d.(map[string]any)["Name"].(string)] = true
	}
	for _, name := range []string{"Produced", "Lost", "BackfillErrors", "BufferDepth", "InSession", "StaleReconnects"} {
		if !declared[name] {
			t.Errorf("metric %s is not declared: %v", name, declared)
		}
	}
	m.Produced.Add(2)
	holiday := line(time.Date(2024, time.July, 4, 10, 0, 0, 0, bar.NewYork))
	if holiday["Produced"] != 2.0 || holiday["Lost"] != 0.0 || holiday["InSession"] != 0.0 {
		t.Errorf("second line (Independence Day): want the increase since the first and InSession 0: %v", holiday)
	}
}

// A line with no Service value would be a metric stream no alarm reads: WriteEMF refuses it and writes nothing.
func TestWriteEMFWantsAService(t *testing.T) {
	var m ingest.Metrics
	m.Produced.Add(1)
	var buf bytes.Buffer
	if err := m.WriteEMF(&buf, time.Now()); err == nil || buf.Len() != 0 {
		t.Errorf("no Service: error %v, wrote %q; want an error and nothing written", err, buf.String())
	}
}
