package consumer_test

import (
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/consumer"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; empty: an error
	}{
		{"2024-10-31T13:30:00Z", "2024-10-31T13:30:00Z"},
		{"2024-10-31T09:30:00-04:00", "2024-10-31T13:30:00Z"},
		{"2024-10-31 09:30", "2024-10-31T13:30:00Z"},    // EDT, UTC-4
		{"2024-10-31 09:30:15", "2024-10-31T13:30:15Z"}, // with seconds
		{"2024-12-02 09:30", "2024-12-02T14:30:00Z"},    // EST, UTC-5, after the November change
		{"2024-03-08 09:30", "2024-03-08T14:30:00Z"},    // the Friday before the March change
		{"2024-03-11 09:30", "2024-03-11T13:30:00Z"},    // the Monday after it
		{"2024-10-31", ""},
		{"09:30", ""},
		{"2024-10-31T09:30", ""},
		{"yesterday", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := consumer.ParseTime(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got.UTC().Format(time.RFC3339); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

// TestDeduperWindow: memory holds the bars of the window only, and a repeat inside the window is dropped.
func TestDeduperWindow(t *testing.T) {
	d := consumer.NewDeduper(time.Hour)
	start := time.Date(2024, 10, 31, 13, 30, 0, 0, time.UTC)
	at := func(m int) *bar.Enriched {
		e := bar.Enriched{Symbol: "AMZN", Close: 100 + float64(m), Time: start.Add(time.Duration(m) * time.Minute), Indicator: bar.Unknown}
		return &e
	}
	val := func(e *bar.Enriched) []byte { return bar.AppendEnriched(nil, e) }
	maxLen := 0
	for m := range 600 {
		e := at(m)
		if !d.Keep(e, val(e)) {
			t.Fatalf("minute %d: a new bar was dropped", m)
		}
		if m >= 1 {
			prev := at(m - 1) // a retried batch repeats the previous bar
			if d.Keep(prev, val(prev)) {
				t.Fatalf("minute %d: a repeat inside the window was kept", m)
			}
		}
		maxLen = max(maxLen, d.Len())
	}
	if maxLen != 61 { // the newest bar and the 60 minutes before it
		t.Errorf("remembered at most %d bars, want 61", maxLen)
	}
	old := at(100) // long evicted: kept unchecked
	if !d.Keep(old, val(old)) {
		t.Error("a bar older than the window was dropped")
	}
	fix := at(599)
	fix.Close++
	if !d.Keep(fix, val(fix)) {
		t.Error("a correction was dropped")
	}
	if d.Keep(fix, val(fix)) {
		t.Error("a repeat of the correction was kept")
	}
}
