// Package calendar is the New York Stock Exchange's trading calendar, computed by rule: the exchange holidays
// (with their observed dates), the 1 p.m. early closes, and the regular session of any day. It drives what must
// not alarm on a day the market is shut, such as the ingester's staleness watchdog.
package calendar

import (
	"sort"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Day is a calendar date in New York.
type Day struct {
	Year  int
	Month time.Month
	Day   int
}

// DayOf is t's date in New York.
func DayOf(t time.Time) Day {
	y, m, d := t.In(bar.NewYork).Date()
	return Day{y, m, d}
}

// String prints YYYY-MM-DD.
func (d Day) String() string { return d.time(0, 0).Format(time.DateOnly) }

func (d Day) time(hour, minute int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, minute, 0, 0, bar.NewYork)
}

func (d Day) weekday() time.Weekday { return d.time(12, 0).Weekday() }

func (d Day) addDays(n int) Day { return DayOf(d.time(12, 0).AddDate(0, 0, n)) }

// Closure is a day the exchange does not open, with its name.
type Closure struct {
	Day  Day
	Name string
}

// special lists closures no rule produces (national days of mourning, emergencies). Add new ones as the
// exchange announces them.
var special = []Closure{
	{Day{2025, time.January, 9}, "National Day of Mourning for President Jimmy Carter"},
}

// Holidays returns the exchange's full-day closures of year, in date order: the rule-based holidays on their
// observed dates (a Saturday holiday is observed the Friday before, a Sunday one the Monday after — except New
// Year's Day, which is not observed on the last day of the year before) and any special closure.
func Holidays(year int) []Closure {
	var out []Closure
	add := func(d Day, name string) { out = append(out, Closure{d, name}) }
	observed := func(d Day) Day {
		switch d.weekday() {
		case time.Saturday:
			return d.addDays(-1)
		case time.Sunday:
			return d.addDays(1)
		}
		return d
	}
	if ny := (Day{year, time.January, 1}); ny.weekday() != time.Saturday {
		add(observed(ny), "New Year's Day")
	}
	add(nthWeekday(year, time.January, time.Monday, 3), "Martin Luther King, Jr. Day")
	add(nthWeekday(year, time.February, time.Monday, 3), "Washington's Birthday")
	add(easter(year).addDays(-2), "Good Friday")
	add(lastWeekday(year, time.May, time.Monday), "Memorial Day")
	if year >= 2022 {
		add(observed(Day{year, time.June, 19}), "Juneteenth National Independence Day")
	}
	add(observed(Day{year, time.July, 4}), "Independence Day")
	add(nthWeekday(year, time.September, time.Monday, 1), "Labor Day")
	add(nthWeekday(year, time.November, time.Thursday, 4), "Thanksgiving Day")
	add(observed(Day{year, time.December, 25}), "Christmas Day")
	for _, c := range special {
		if c.Day.Year == year {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.time(0, 0).Before(out[j].Day.time(0, 0)) })
	return out
}

// EarlyCloses returns the days of year on which the exchange closes at 1:00 p.m. New York time: July 3 when
// Independence Day falls on a Tuesday to Friday, the day after Thanksgiving, and December 24 when it is a Monday
// to Thursday.
func EarlyCloses(year int) []Day {
	var out []Day
	if wd := (Day{year, time.July, 4}).weekday(); wd >= time.Tuesday && wd <= time.Friday {
		out = append(out, Day{year, time.July, 3})
	}
	out = append(out, nthWeekday(year, time.November, time.Thursday, 4).addDays(1))
	if wd := (Day{year, time.December, 24}).weekday(); wd >= time.Monday && wd <= time.Thursday {
		out = append(out, Day{year, time.December, 24})
	}
	return out
}

// IsTradingDay reports whether the exchange opens on d.
func IsTradingDay(d Day) bool {
	if wd := d.weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	for _, h := range Holidays(d.Year) {
		if h.Day == d {
			return false
		}
	}
	return true
}

// Session returns d's regular session, 9:30 to 16:00 New York time (13:00 on an early close); ok is false when
// the exchange does not open on d.
func Session(d Day) (open, close time.Time, ok bool) {
	if !IsTradingDay(d) {
		return time.Time{}, time.Time{}, false
	}
	open, close = d.time(9, 30), d.time(16, 0)
	for _, e := range EarlyCloses(d.Year) {
		if e == d {
			close = d.time(13, 0)
		}
	}
	return open, close, true
}

// InRegularSession reports whether t falls in the regular session of its New York trading day.
func InRegularSession(t time.Time) bool {
	open, close, ok := Session(DayOf(t))
	return ok && !t.Before(open) && t.Before(close)
}

// nthWeekday is the n-th wd of month (n from 1).
func nthWeekday(year int, month time.Month, wd time.Weekday, n int) Day {
	first := Day{year, month, 1}
	shift := (int(wd) - int(first.weekday()) + 7) % 7
	return Day{year, month, 1 + shift + 7*(n-1)}
}

// lastWeekday is the last wd of month.
func lastWeekday(year int, month time.Month, wd time.Weekday) Day {
	last := DayOf(Day{year, month + 1, 1}.time(12, 0).AddDate(0, 0, -1))
	shift := (int(last.weekday()) - int(wd) + 7) % 7
	return last.addDays(-shift)
}

// easter is Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
func easter(year int) Day {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Day{year, time.Month(month), day}
}
