package calendar

import (
	"slices"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// The exchange's published holiday and early-close calendars for 2024-2027 (NYSE "Holidays and Trading Hours").
var published = map[int]struct {
	holidays, early []string
}{
	2024: {
		[]string{"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"},
		[]string{"2024-07-03", "2024-11-29", "2024-12-24"},
	},
	2025: {
		[]string{"2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"},
		[]string{"2025-07-03", "2025-11-28", "2025-12-24"},
	},
	2026: {
		[]string{"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"},
		[]string{"2026-11-27", "2026-12-24"},
	},
	2027: {
		[]string{"2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18", "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24"},
		[]string{"2027-11-26"},
	},
}

func TestPublishedCalendars(t *testing.T) {
	for year, want := range published {
		var gotH, gotE []string
		for _, h := range Holidays(year) {
			gotH = append(gotH, h.Day.String())
		}
		for _, e := range EarlyCloses(year) {
			gotE = append(gotE, e.String())
		}
		if !slices.Equal(gotH, want.holidays) {
			t.Errorf("%d holidays:\ngot  %v\nwant %v", year, gotH, want.holidays)
		}
		if !slices.Equal(gotE, want.early) {
			t.Errorf("%d early closes:\ngot  %v\nwant %v", year, gotE, want.early)
		}
	}
}

// Rules at their edges, in years outside the published range.
func TestObservedRules(t *testing.T) {
	has := func(year int, day string) bool {
		for _, h := range Holidays(year) {
			if h.Day.String() == day {
				return true
			}
		}
		return false
	}
	for _, tt := range []struct {
		year int
		day  string
		want bool
		why  string
	}{
		{2022, "2021-12-31", false, "New Year's Day on a Saturday is not observed the Friday before"},
		{2022, "2022-01-03", false, "nor the Monday after"},
		{2023, "2023-01-02", true, "New Year's Day on a Sunday is observed on Monday"},
		{2021, "2021-06-18", false, "no Juneteenth before 2022"},
		{2022, "2022-06-20", true, "Juneteenth on a Sunday is observed on Monday"},
		{2021, "2021-07-05", true, "Independence Day on a Sunday is observed on Monday"},
		{2022, "2022-12-26", true, "Christmas on a Sunday is observed on Monday"},
		{2019, "2019-04-19", true, "Good Friday 2019 (Easter April 21)"},
		{2038, "2038-04-23", true, "Good Friday 2038 (Easter April 25, the latest possible)"},
		{2285, "2285-03-20", true, "Good Friday 2285 (Easter March 22, the earliest possible)"},
	} {
		if got := has(tt.year, tt.day); got != tt.want {
			t.Errorf("%s: holiday %v, want %v (%s)", tt.day, got, tt.want, tt.why)
		}
	}
	if e := EarlyCloses(2023); !slices.Contains(e, Day{2023, time.July, 3}) {
		t.Errorf("2023 (July 4 a Tuesday): early closes %v, want July 3", e)
	}
	if e := EarlyCloses(2022); slices.Contains(e, Day{2022, time.July, 1}) || slices.Contains(e, Day{2022, time.July, 3}) {
		t.Errorf("2022 (July 4 a Monday): early closes %v, want none in July", e)
	}
}

func TestInRegularSession(t *testing.T) {
	ny := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), 0, 0, bar.NewYork)
	}
	for _, tt := range []struct {
		at   string
		want bool
	}{
		{"2024-07-11 09:29", false},
		{"2024-07-11 09:30", true},
		{"2024-07-11 15:59", true},
		{"2024-07-11 16:00", false},
		{"2024-07-13 11:00", false}, // Saturday
		{"2024-07-04 11:00", false}, // Independence Day
		{"2024-07-03 12:59", true},  // early close
		{"2024-07-03 13:00", false},
		{"2024-11-29 13:30", false}, // day after Thanksgiving
		{"2025-01-09 11:00", false}, // special closure
		{"2024-03-11 09:30", true},  // first Monday of daylight saving time
		{"2024-11-04 15:59", true},  // first Monday of standard time
	} {
		if got := InRegularSession(ny(tt.at)); got != tt.want {
			t.Errorf("%s New York: in session %v, want %v", tt.at, got, tt.want)
		}
	}
	// the same instants given in UTC
	if !InRegularSession(time.Date(2024, 7, 11, 13, 30, 0, 0, time.UTC)) || InRegularSession(time.Date(2024, 7, 11, 20, 0, 0, 0, time.UTC)) {
		t.Error("UTC instants: 13:30Z is 09:30 EDT (open), 20:00Z is 16:00 EDT (closed)")
	}
}

func TestSession(t *testing.T) {
	open, close, ok := Session(Day{2024, time.December, 24})
	if !ok || open.Format("15:04") != "09:30" || close.Format("15:04") != "13:00" {
		t.Errorf("2024-12-24: %v %v %v, want 09:30-13:00", open, close, ok)
	}
	if _, _, ok := Session(Day{2024, time.December, 25}); ok {
		t.Error("2024-12-25: want closed")
	}
	if !IsTradingDay(Day{2024, time.December, 26}) || IsTradingDay(Day{2024, time.December, 28}) {
		t.Error("2024-12-26 is a trading day, 2024-12-28 (Saturday) is not")
	}
}
