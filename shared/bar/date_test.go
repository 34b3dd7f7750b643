package bar

import (
	"testing"
	"time"
)

func TestTradingDate(t *testing.T) {
	tests := []struct {
		name string
		utc  string
		want string
	}{
		{"regular session", "2024-07-11 19:49:00", "2024-07-11"},
		{"after-hours 23:30 UTC is still that New York day (EDT)", "2024-07-11 23:30:00", "2024-07-11"},
		{"after-hours 00:30 UTC belongs to the previous New York day (EDT)", "2024-07-12 00:30:00", "2024-07-11"},
		{"after-hours 23:30 UTC in winter (EST)", "2024-01-10 23:30:00", "2024-01-10"},
		{"04:59 UTC is 23:59 EST the day before", "2024-01-11 04:59:00", "2024-01-10"},
		{"05:00 UTC is midnight EST", "2024-01-11 05:00:00", "2024-01-11"},
		{"pre-market 08:00 UTC (04:00 EDT)", "2024-10-30 08:09:00", "2024-10-30"},
		// spring forward: 2024-03-10 02:00 EST -> 03:00 EDT (07:00 UTC)
		{"night before spring forward", "2024-03-10 04:59:00", "2024-03-09"},
		{"spring forward day start (EST)", "2024-03-10 05:00:00", "2024-03-10"},
		{"first day after spring forward ends at 04:00 UTC", "2024-03-11 03:59:00", "2024-03-10"},
		{"first EDT midnight", "2024-03-11 04:00:00", "2024-03-11"},
		// fall back: 2024-11-03 02:00 EDT -> 01:00 EST (06:00 UTC)
		{"last EDT evening", "2024-11-03 03:59:00", "2024-11-02"},
		{"fall back day starts 04:00 UTC (EDT)", "2024-11-03 04:00:00", "2024-11-03"},
		{"fall back day ends 04:59 UTC next day (EST)", "2024-11-04 04:59:00", "2024-11-03"},
		{"first EST midnight", "2024-11-04 05:00:00", "2024-11-04"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := time.Parse(TimestampLayout, tt.utc)
			if err != nil {
				t.Fatal(err)
			}
			if got := TradingDate(ts).String(); got != tt.want {
				t.Errorf("TradingDate(%s UTC) = %s, want %s", tt.utc, got, tt.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(-1).String(); got != "2024-02-29" {
		t.Errorf("AddDays(-1) = %s, want 2024-02-29", got)
	}
	if !d.AddDays(-1).Before(d) || d.Before(d) || d.Before(d.AddDays(-1)) {
		t.Error("Before is wrong")
	}
	for _, bad := range []string{"", "2024-3-1", "2024-02-30", "20240301", "2024-03-01T00:00:00Z"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q): no error", bad)
		}
	}
}
