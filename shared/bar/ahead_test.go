package bar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckAhead(t *testing.T) {
	at := time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)
	b := Raw{Symbol: "AAPL", Time: at}
	tests := []struct {
		name    string
		written time.Time
		ok      bool
	}{
		{"written after its minute", at.Add(61 * time.Second), true},
		{"written as it starts", at, true},
		{"clock slightly behind", at.Add(-MaxAhead), true},
		{"just past the bound", at.Add(-MaxAhead - time.Millisecond), false},
		{"a day ahead", at.Add(-24 * time.Hour), false},
		{"no timestamp", time.Time{}, true},
		{"timestamp 0", time.UnixMilli(0), true},
		{"timestamp -1", time.UnixMilli(-1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAhead(&b, tt.written)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
			if err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "2025-06-12 14:00:00")) {
				t.Errorf("error %q: want ErrInvalid naming the bar time", err)
			}
		})
	}
}
