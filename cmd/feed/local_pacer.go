package main

import (
	"context"
	"time"
)

// barInterval is the interval of the bars feed local writes (Alpaca minute bars).
const barInterval = time.Minute

// maxIdleBars is the longest pause, in bar intervals, that a replay keeps: a longer stretch of bar time
// without bars (overnight, a weekend, a halt) is replayed as if it lasted maxIdleBars intervals, so a
// multi-day file plays its sessions back to back.
const maxIdleBars = 5

// pacer spaces records by their bar times divided by speed, cutting every gap between bar times to maxGap.
type pacer struct {
	speed  float64       // 0: no pacing
	maxGap time.Duration // of bar time
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) bool // false when ctx ended first

	last    time.Time     // the latest bar time so far
	elapsed time.Duration // bar time since the first bar, gaps cut
	start   time.Time     // wall time of the first bar
}

// newPacer paces at speed on the wall clock.
func newPacer(speed float64) *pacer {
	return &pacer{speed: speed, maxGap: maxIdleBars * barInterval, now: time.Now, sleep: sleepCtx}
}

// wait waits until the record of bar time at is due; a zero at (a record that does not decode) is due at
// once. It reports false when ctx ended first.
func (p *pacer) wait(ctx context.Context, at time.Time) bool {
	if p.speed <= 0 || at.IsZero() {
		return true
	}
	if p.start.IsZero() {
		p.start, p.last = p.now(), at
	}
	if gap := at.Sub(p.last); gap > 0 {
		// a bar earlier than the latest (a correction) is due at once and does not move the clock back
		p.elapsed += min(gap, p.maxGap)
		p.last = at
	}
	due := p.start.Add(time.Duration(float64(p.elapsed) / p.speed))
	if wait := due.Sub(p.now()); wait > 0 {
		return p.sleep(ctx, wait)
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
