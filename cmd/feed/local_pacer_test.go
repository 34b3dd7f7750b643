package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// fakeClock is a pacer's clock that only moves when the pacer sleeps; it records every sleep requested.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) pacer(speed float64) *pacer {
	p := newPacer(speed)
	p.now = func() time.Time { return c.now }
	p.sleep = func(_ context.Context, d time.Duration) bool {
		c.sleeps = append(c.sleeps, d)
		c.now = c.now.Add(d)
		return true
	}
	return p
}

func (c *fakeClock) total() time.Duration {
	var t time.Duration
	for _, d := range c.sleeps {
		t += d
	}
	return t
}

// TestPacerCutsIdleGaps: bars a minute apart are a second apart at 60x; a pause longer than five bar intervals
// (overnight, a weekend) is cut to five; a zero time or a correction earlier than the latest bar waits nothing.
func TestPacerCutsIdleGaps(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name  string
		speed float64
		times []time.Time
		want  []time.Duration
	}{
		{"minute bars at 60x", 60, []time.Time{at("2024-10-30 13:30:00"), at("2024-10-30 13:31:00"), at("2024-10-30 13:33:00")},
			[]time.Duration{time.Second, 2 * time.Second}},
		{"overnight cut to five minutes", 60, []time.Time{at("2024-10-30 23:59:00"), at("2024-10-31 08:00:00"), at("2024-10-31 08:01:00")},
			[]time.Duration{5 * time.Second, time.Second}},
		{"weekend at real time", 1, []time.Time{at("2024-11-01 20:00:00"), at("2024-11-04 09:00:00")},
			[]time.Duration{5 * time.Minute}},
		{"gap of exactly five intervals kept", 60, []time.Time{at("2024-10-30 13:30:00"), at("2024-10-30 13:35:00")},
			[]time.Duration{5 * time.Second}},
		{"undecodable and corrected bars wait nothing", 60, []time.Time{at("2024-10-30 13:30:00"), {}, at("2024-10-30 13:20:00"), at("2024-10-30 13:31:00")},
			[]time.Duration{time.Second}},
		{"speed 0 never waits", 0, []time.Time{at("2024-10-30 13:30:00"), at("2024-10-31 13:30:00")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{now: time.Unix(1e9, 0)}
			p := c.pacer(tt.speed)
			for _, tm := range tt.times {
				if !p.wait(t.Context(), tm) {
					t.Fatal("wait reported a cancelled context")
				}
			}
			if !slices.Equal(c.sleeps, tt.want) {
				t.Errorf("sleeps: got %v, want %v", c.sleeps, tt.want)
			}
		})
	}
}

// TestReplayTwoDaysTakesMinutes: the JPM fixture spans two days (about 40 hours of bar time, 40 minutes at the
// default speed if every gap were waited out, 16 of them overnight); replayed at the default speed the pacer
// asks for minutes in all and never for more than five bar intervals at once.
func TestReplayTwoDaysTakesMinutes(t *testing.T) {
	recs, err := readReplay(fixtures.Path(t, fixtures.JPMRaw))
	if err != nil {
		t.Fatal(err)
	}
	replay := func(maxGap time.Duration) *fakeClock {
		c := &fakeClock{now: time.Unix(1e9, 0)}
		p := c.pacer(defaultSpeed)
		if maxGap > 0 {
			p.maxGap = maxGap
		}
		for _, r := range recs {
			if r.at.IsZero() {
				t.Fatalf("fixture record %s does not decode", r.value)
			}
			p.wait(t.Context(), r.at)
		}
		return c
	}
	first, last := recs[0].at, recs[0].at
	for _, r := range recs {
		first, last = minTime(first, r.at), maxTime(last, r.at)
	}
	if span := last.Sub(first); span < 36*time.Hour {
		t.Fatalf("fixture spans %v of bar time, want two days", span)
	}

	uncut := replay(1000 * time.Hour).total()
	if uncut < 35*time.Minute {
		t.Fatalf("without cutting gaps the replay waits %v, want the ~40 minutes its bar times span at 60x", uncut)
	}
	c := replay(0)
	total := c.total()
	t.Logf("%d records: %d sleeps, %v in all (%v without cutting idle gaps)", len(recs), len(c.sleeps), total, uncut)
	if total <= time.Minute || total > 20*time.Minute {
		t.Errorf("replay at %vx waits %v in all, want a few minutes (the sessions back to back)", float64(defaultSpeed), total)
	}
	if longest := slices.Max(c.sleeps); longest > maxIdleBars*barInterval/defaultSpeed {
		t.Errorf("longest wait %v, want at most %d bar intervals at %vx", longest, maxIdleBars, float64(defaultSpeed))
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
