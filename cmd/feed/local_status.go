package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/indexfn"
)

// How often the status shows: a live block on a terminal, a log line otherwise.
const (
	statusEveryTTY = time.Second
	statusEveryLog = 5 * time.Second
)

// localStats are the live counters of the stack.
type localStats struct {
	start time.Time

	mu       sync.Mutex
	written  int64                    // records the source wrote to raw
	indexing bool                     // set before the stack runs
	index    [2]int64                 // documents indexed, records dead-lettered by the index function
	counts   enrichfn.Counts          // what the enrich handler's successful batches became
	latest   map[bar.Indicator][]byte // the latest enhanced record of each indicator
	firstOut []string                 // indicators (and maCross, volumeAlert) in the order they first appeared, not yet reported

	// the technical indicators' events: how many records carried them and the latest one
	crosses, alerts         int64
	latestCross, latestAlrt []byte
}

// The names under which the status reports the technical indicators' events.
const (
	statusCross = "maCross"
	statusAlert = "volumeAlert"
)

func (st *localStats) produced() {
	st.mu.Lock()
	st.written++
	st.mu.Unlock()
}

func (st *localStats) indexed(c indexfn.Counts) {
	st.mu.Lock()
	st.index[0] += int64(c.Indexed)
	st.index[1] += int64(c.DLQ)
	st.mu.Unlock()
}

func (st *localStats) add(c enrichfn.Counts) {
	st.mu.Lock()
	st.counts.Add(c)
	st.mu.Unlock()
}

// seen notes an enhanced record the broker acknowledged.
func (st *localStats) seen(value []byte) {
	e, err := bar.DecodeEnriched(value)
	if err != nil {
		return // only for display: the handler wrote it, so it decodes
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.latest == nil {
		st.latest = make(map[bar.Indicator][]byte)
	}
	if _, ok := st.latest[e.Indicator]; !ok {
		st.firstOut = append(st.firstOut, string(e.Indicator))
	}
	st.latest[e.Indicator] = bytes.Clone(value)
	if e.MACross != "" {
		if st.crosses++; st.crosses == 1 {
			st.firstOut = append(st.firstOut, statusCross)
		}
		st.latestCross = st.latest[e.Indicator]
	}
	if e.VolumeAlert {
		if st.alerts++; st.alerts == 1 {
			st.firstOut = append(st.firstOut, statusAlert)
		}
		st.latestAlrt = st.latest[e.Indicator]
	}
}

// crossAndAlert describes the latest maCross and volumeAlert seen: "maCross N (latest SYMBOL TIME bullish) |
// volumeAlert N (latest SYMBOL TIME volume V)", "none yet" before the first; callers hold mu.
func (st *localStats) crossAndAlert() string {
	out := fmt.Sprintf("%s %d", statusCross, st.crosses)
	if e, err := bar.DecodeEnriched(st.latestCross); err == nil {
		out += fmt.Sprintf(" (latest %s %s %s)", e.Symbol, e.Time.Format(bar.TimestampLayout), e.MACross)
	} else {
		out += " (none yet)"
	}
	out += fmt.Sprintf(" | %s %d", statusAlert, st.alerts)
	if e, err := bar.DecodeEnriched(st.latestAlrt); err == nil {
		out += fmt.Sprintf(" (latest %s %s volume %s)", e.Symbol, e.Time.Format(bar.TimestampLayout), bar.AppendFloat(nil, e.Volume))
	} else {
		out += " (none yet)"
	}
	return out
}

var indicators = []bar.Indicator{bar.Bullish, bar.Bearish, bar.Neutral, bar.Unknown}

func (st *localStats) line(ms esm.Stats) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.counts
	idx := ""
	if st.indexing {
		idx = fmt.Sprintf(" | indexed %d, enhanced.dlq %d", st.index[0], st.index[1])
	}
	return fmt.Sprintf("up %s | raw written %d, read %d | enhanced %d | raw.dlq %d | Bullish %d Bearish %d Neutral %d Unknown %d | %s | lag %d | retries %d%s",
		time.Since(st.start).Round(time.Second), st.written, c.Records, c.Enhanced, c.DLQ,
		c.Bullish, c.Bearish, c.Neutral, c.Unknown, st.crossAndAlert(), ms.Lag, ms.Retries, idx)
}

// block is the live view on a terminal: the status line, then the latest enriched bar of each indicator, then the
// latest EMA crossover and volume alert.
func (st *localStats) block(ms esm.Stats) []string {
	lines := []string{"finfeed local | " + st.line(ms)}
	st.mu.Lock()
	defer st.mu.Unlock()
	counts := map[bar.Indicator]int{bar.Bullish: st.counts.Bullish, bar.Bearish: st.counts.Bearish, bar.Neutral: st.counts.Neutral, bar.Unknown: st.counts.Unknown}
	for _, ind := range indicators {
		l := fmt.Sprintf("  %-8s %7d", ind, counts[ind])
		if v, ok := st.latest[ind]; ok {
			if e, err := bar.DecodeEnriched(v); err == nil {
				l += fmt.Sprintf("   latest %-6s %s  close %10.2f", e.Symbol, e.Time.Format(bar.TimestampLayout), e.Close)
				if e.HasPrev {
					l += fmt.Sprintf("  %+7.2f%% vs %.2f", e.Change, e.PrevClose)
				} else {
					l += "  no previous close"
				}
			}
		}
		lines = append(lines, l)
	}
	for _, ev := range []struct {
		name   string
		n      int64
		latest []byte
	}{{statusCross, st.crosses, st.latestCross}, {statusAlert, st.alerts, st.latestAlrt}} {
		l := fmt.Sprintf("  %-11s %4d", ev.name, ev.n)
		if e, err := bar.DecodeEnriched(ev.latest); err == nil {
			l += fmt.Sprintf("   latest %-6s %s  close %10.2f", e.Symbol, e.Time.Format(bar.TimestampLayout), e.Close)
			if ev.name == statusCross {
				l += fmt.Sprintf("  %s: ema12 %.2f, ema26 %.2f", e.MACross, e.EMA12, e.EMA26)
			} else {
				l += fmt.Sprintf("  volume %s", bar.AppendFloat(nil, e.Volume))
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// newFirsts returns the indicators (and maCross, volumeAlert) first seen since the last call, with their latest
// record.
func (st *localStats) newFirsts() [][2]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out [][2]string
	for _, name := range st.firstOut {
		latest := st.latest[bar.Indicator(name)]
		switch name {
		case statusCross:
			latest = st.latestCross
		case statusAlert:
			latest = st.latestAlrt
		}
		out = append(out, [2]string{name, string(latest)})
	}
	st.firstOut = st.firstOut[:0]
	return out
}

// status shows progress until ctx is done: a live block on a terminal, a log line every few seconds otherwise.
func (st *localStats) status(ctx context.Context, d *display, mapping func() esm.Stats) {
	every := statusEveryLog
	if d.tty {
		every = statusEveryTTY
	}
	fast := time.NewTicker(200 * time.Millisecond) // first bars of each indicator show promptly
	defer fast.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			d.Block(nil)
			return
		case <-fast.C:
			if d.tty {
				continue
			}
			for _, f := range st.newFirsts() {
				d.Printf("%s bars on enhanced, latest: %s", f[0], f[1])
			}
		case <-tick.C:
			if d.tty {
				st.newFirsts()
				d.Block(st.block(mapping()))
			} else {
				d.Printf("status: %s", st.line(mapping()))
			}
		}
	}
}

// display writes to the console: permanent lines, and on a terminal a live block redrawn in place.
type display struct {
	mu     sync.Mutex
	out    io.Writer // status and connect lines
	logOut io.Writer // log records
	tty    bool
	shown  int // lines of the live block on screen
}

func newDisplay(stdout, stderr io.Writer) *display {
	d := &display{out: stdout, logOut: stderr}
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			d.tty = true
		}
	}
	return d
}

// clear removes the live block; callers hold mu.
func (d *display) clear() {
	if d.shown > 0 {
		fmt.Fprint(d.out, strings.Repeat("\x1b[1A\x1b[2K", d.shown))
		d.shown = 0
	}
}

// Printf prints one permanent line.
func (d *display) Printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	fmt.Fprintf(d.out, format+"\n", args...)
}

// Write takes log output: printed above the live block.
func (d *display) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	return d.logOut.Write(p)
}

// Block replaces the live block with lines (nil removes it).
func (d *display) Block(lines []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	if len(lines) == 0 {
		return
	}
	// no line wrapping while drawing, so each line takes exactly one row and clear stays exact
	fmt.Fprint(d.out, "\x1b[?7l")
	for _, l := range lines {
		fmt.Fprintln(d.out, l)
	}
	fmt.Fprint(d.out, "\x1b[?7h")
	d.shown = len(lines)
}
