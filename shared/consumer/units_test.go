package consumer_test

import (
	"fmt"
	"runtime"
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

// TestDeduperWindowIsPerSymbol: a consumer catching up reads partitions at different paces, so one symbol can
// be hours of bar time ahead of another; the lagging symbol's repeats are still dropped and its correction
// still printed. (Against a window over the whole feed, the lagging symbol's bars fall out of it.)
func TestDeduperWindowIsPerSymbol(t *testing.T) {
	d := consumer.NewDeduper(time.Hour)
	start := time.Date(2025, 6, 12, 8, 0, 0, 0, time.UTC)
	bars := func(sym string, m int, close float64) (*bar.Enriched, []byte) {
		e := bar.Enriched{Symbol: sym, Close: close, Time: start.Add(time.Duration(m) * time.Minute), Indicator: bar.Unknown}
		return &e, bar.AppendEnriched(nil, &e)
	}
	for m := range 16 * 60 { // a whole extended session of AAA first: its partition was read ahead
		if e, v := bars("AAA", m, 1); !d.Keep(e, v) {
			t.Fatalf("AAA minute %d dropped", m)
		}
	}
	for _, step := range []struct {
		m     int
		close float64
		keep  bool
	}{
		{360, 10, true},    // ZZZ 14:00, ten hours behind AAA
		{360, 10, false},   // its repeat
		{360, 10.5, true},  // a correction
		{360, 10.5, false}, // the correction's repeat
		{361, 10.5, true},  // the next bar
		{360, 10.5, false}, // a late repeat of the correction, after the next bar
	} {
		if e, v := bars("ZZZ", step.m, step.close); d.Keep(e, v) != step.keep {
			t.Errorf("ZZZ minute %d close %v: Keep = %v, want %v", step.m, step.close, !step.keep, step.keep)
		}
	}
	if got, want := d.Len(), 61+2; got != want {
		t.Errorf("remembered %d bars, want %d (AAA's window of 61 and ZZZ's 2)", got, want)
	}
}

// TestDeduperOutOfOrder: a symbol's bars arriving out of time order (a backfilled gap) are each remembered,
// and the window follows the symbol's newest bar.
func TestDeduperOutOfOrder(t *testing.T) {
	d := consumer.NewDeduper(30 * time.Minute)
	start := time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)
	val := func(m int) (*bar.Enriched, []byte) {
		e := bar.Enriched{Symbol: "BBB", Close: float64(m), Time: start.Add(time.Duration(m) * time.Minute), Indicator: bar.Unknown}
		return &e, bar.AppendEnriched(nil, &e)
	}
	order := []int{0, 1, 5, 3, 2, 4, 6, 40, 20, 9}
	for _, m := range order {
		if e, v := val(m); !d.Keep(e, v) {
			t.Errorf("minute %d: a new bar was dropped", m)
		}
	}
	// 40 is the newest: 10 and later are in the window, 0–9 were forgotten (9 arrived too old to check).
	for _, m := range order {
		e, v := val(m)
		if got, want := d.Keep(e, v), m < 10; got != want {
			t.Errorf("minute %d repeated: Keep = %v, want %v", m, got, want)
		}
	}
	if got := d.Len(); got != 2 {
		t.Errorf("remembered %d bars, want 2 (minutes 20 and 40)", got)
	}
}

// BenchmarkDeduperMarket feeds a whole market's two hours (8,000 symbols × 121 minutes, the default window) and
// one more minute, and reports the heap the Deduper holds.
func BenchmarkDeduperMarket(b *testing.B) {
	const symbols, minutes = 8000, 122
	names := make([]string, symbols)
	for i := range names {
		names[i] = fmt.Sprintf("S%04d", i)
	}
	start := time.Date(2025, 6, 12, 13, 30, 0, 0, time.UTC)
	val := []byte(`{"symbol":"S0000"}`)
	var held float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := consumer.NewDeduper(0)
		e := bar.Enriched{Indicator: bar.Unknown}
		for m := range minutes {
			e.Time = start.Add(time.Duration(m) * time.Minute)
			for _, s := range names {
				e.Symbol = s
				val[len(val)-3] = byte('0' + m%10)
				d.Keep(&e, val)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(d)
		if d.Len() != symbols*121 {
			b.Fatalf("remembered %d bars, want %d", d.Len(), symbols*121)
		}
	}
	b.ReportMetric(held/(symbols*121), "B/bar-held")
	b.ReportMetric(held/1e6, "MB-held")
}
