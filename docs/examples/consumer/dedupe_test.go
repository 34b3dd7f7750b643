package main

import (
	"fmt"
	"testing"
	"time"
)

// TestDedupe: repeats are dropped and corrections flagged, per symbol, even when another symbol's partition was
// read hours of bar time ahead (as when catching up from the oldest retained bar).
func TestDedupe(t *testing.T) {
	d := newDedupe(2 * time.Hour)
	start := time.Date(2025, 6, 12, 8, 0, 0, 0, time.UTC)
	rec := func(sym string, m int, close float64) (*Bar, []byte) {
		b := &Bar{Symbol: sym, Timestamp: start.Add(time.Duration(m) * time.Minute).Format(time.DateTime), Close: close}
		return b, fmt.Appendf(nil, `{"symbol":%q,"timestamp":%q,"close":%v}`, b.Symbol, b.Timestamp, close)
	}
	for m := range 16 * 60 {
		if b, v := rec("AAA", m, 1); !keepOnly(d, b, v) {
			t.Fatalf("AAA minute %d: dropped or flagged", m)
		}
	}
	for _, step := range []struct {
		m                int
		close            float64
		keep, correction bool
	}{
		{360, 10, true, false},
		{360, 10, false, false},
		{360, 10.5, true, true},
		{360, 10.5, false, false},
		{361, 10.5, true, false},
		{0, 7, true, false}, // six hours behind ZZZ's newest: too old to check, printed
		{0, 7, true, false},
	} {
		b, v := rec("ZZZ", step.m, step.close)
		if correction, keep := d.check(b, v); keep != step.keep || correction != step.correction {
			t.Errorf("ZZZ minute %d close %v: keep %v correction %v, want %v %v", step.m, step.close, keep, correction, step.keep, step.correction)
		}
	}
	if n := len(d.symbols["AAA"].last); n > 121+30 {
		t.Errorf("AAA: %d bars remembered, want at most the window and a quarter of it", n)
	}
}

func keepOnly(d *dedupe, b *Bar, v []byte) bool {
	correction, keep := d.check(b, v)
	return keep && !correction
}

// TestDecodeBar: an enriched bar decodes; a candle, a record of another shape and bad JSON are errors.
func TestDecodeBar(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"symbol":"JPM","timestamp":"2024-10-30 13:30:00","open":1,"high":1,"low":1,"close":1,"volume":5,"prevClose":null,"%change":null,"indicator":"Unknown"}`, true},
		{`{"symbol":"JPM","interval":"5m","start":"2024-10-30 13:30:00","open":1,"high":1,"low":1,"close":1,"volume":5,"final":true}`, false},
		{`{"symbol":"JPM","timestamp":"2024-10-30 13:30:00"}`, false},
		{`{}`, false},
		{`[1,2]`, false},
		{`{"symbol":"JPM",`, false},
	}
	for _, tt := range tests {
		var b Bar
		if err := decodeBar([]byte(tt.in), &b); (err == nil) != tt.ok {
			t.Errorf("decodeBar(%s): error %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
