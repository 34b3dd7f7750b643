package ingest_test

import (
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/ingest"
)

// The watchdog's default clock knows the exchange's holidays and early closes, so a shut market never looks stale.
func TestRegularSessionFollowsTheExchangeCalendar(t *testing.T) {
	at := func(y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, bar.NewYork)
	}
	for _, tt := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"an ordinary Thursday", at(2024, time.July, 11, 10, 0), true},
		{"Independence Day", at(2024, time.July, 4, 10, 0), false},
		{"Good Friday", at(2025, time.April, 18, 10, 0), false},
		{"Christmas observed on a Friday", at(2027, time.December, 24, 10, 0), false},
		{"after an early close", at(2024, time.November, 29, 13, 30), false},
		{"before an early close", at(2024, time.November, 29, 12, 30), true},
		{"a Sunday", at(2024, time.July, 14, 10, 0), false},
	} {
		if got := ingest.RegularSession(tt.t); got != tt.want {
			t.Errorf("%s (%s): %v, want %v", tt.name, tt.t, got, tt.want)
		}
	}
}
