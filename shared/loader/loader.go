// Package loader is the previous-close loader: split-adjusted daily closes from Alpaca into the previous-close
// table, on a schedule (the last days again, so a split's re-adjusted closes replace the old ones) or for a
// date range. The Lambda and `feed prevclose` run this same code.
package loader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// DailyBars serves split-adjusted daily closes (alpaca.REST).
type DailyBars interface {
	DailyCloses(ctx context.Context, symbols []string, from, to bar.Date) ([]alpaca.DailyClose, error)
}

// Store keeps closes; writing one again overwrites it (prevclose.DynamoDB).
type Store interface {
	Put(ctx context.Context, closes []prevclose.Close) error
}

// Snapshots rebuilds the per-date snapshots of every symbol's close from the stored closes
// (prevclose.DynamoDB), so the enrich function reads a whole market's closes in a handful of requests.
type Snapshots interface {
	RebuildSnapshots(ctx context.Context, symbols []string) (prevclose.SnapshotResult, error)
}

// Loader copies closes from Bars to Store.
type Loader struct {
	Bars  DailyBars
	Store Store
	// Snapshots, when set, are rebuilt after every run, so they never hide a close the run wrote.
	Snapshots Snapshots
	Symbols   []string
	// Lookback is how many calendar days before the run's date a scheduled run rewrites (default 10: a long
	// weekend plus holidays, so the latest close before any date is always among them).
	Lookback int
	// WindowDays bounds the days fetched and written at once on long ranges (default 92).
	WindowDays int
	// FetchAttempts bounds the requests per window (default 3), RetryDelay the first wait between them (1 s).
	FetchAttempts int
	RetryDelay    time.Duration
	// Rekey, when set, re-reads the Alpaca keys at the start of every invocation (Handle) and returns the
	// client to use when they changed (nil: keep Bars). A warm container thus uses a rotated secret from its
	// next invocation on. When the read fails the keys in hand are used and a warning logged: if they were
	// revoked, the run fails and its scheduler retries it.
	Rekey func(ctx context.Context) (DailyBars, error)
	Log   *slog.Logger
}

// Result says what a run did.
type Result struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Symbols int    `json:"symbols"`
	Closes  int    `json:"closes"`
	Skipped int    `json:"skipped"` // closes Alpaca sent that may not be stored (non-positive price)
	// Snapshots is how many per-date snapshots the run rebuilt.
	Snapshots int `json:"snapshots"`
}

// MaxRangeDays bounds one on-demand range (about 20 years).
const MaxRangeDays = 7400

// ErrBadRange means an on-demand range is empty, reversed or too long.
var ErrBadRange = errors.New("bad date range")

// Scheduled loads the closes of the Lookback days up to and including at's New York date. Run before the
// pre-market session on a split's ex-date, it replaces the previous close with the split-adjusted one.
func (l *Loader) Scheduled(ctx context.Context, at time.Time) (Result, error) {
	back := l.Lookback
	if back <= 0 {
		back = 10
	}
	to := bar.TradingDate(at)
	return l.Range(ctx, to.AddDays(-back), to)
}

// Range loads the closes dated from..to inclusive (New York trading dates). Re-running it writes the same items.
func (l *Loader) Range(ctx context.Context, from, to bar.Date) (Result, error) {
	res := Result{From: from.String(), To: to.String(), Symbols: len(l.Symbols)}
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return res, fmt.Errorf("%w: from %s to %s", ErrBadRange, from, to)
	}
	if to.Time().Sub(from.Time()) > MaxRangeDays*24*time.Hour {
		return res, fmt.Errorf("%w: from %s to %s is longer than %d days", ErrBadRange, from, to, MaxRangeDays)
	}
	window := l.WindowDays
	if window <= 0 {
		window = 92
	}
	for start := from; !to.Before(start); start = start.AddDays(window) {
		end := start.AddDays(window - 1)
		if to.Before(end) {
			end = to
		}
		got, err := l.fetch(ctx, start, end)
		if err != nil {
			return res, fmt.Errorf("load closes %s..%s: %w", start, end, err)
		}
		closes := make([]prevclose.Close, 0, len(got))
		for _, g := range got {
			c := prevclose.Close{Symbol: g.Symbol, Date: g.Date, Close: g.Close}
			if err := c.Validate(); err != nil {
				res.Skipped++
				l.log().Warn("skipping a close that may not be stored", "symbol", g.Symbol, "date", g.Date.String(), "close", g.Close, "err", err)
				continue
			}
			closes = append(closes, c)
		}
		if err := l.Store.Put(ctx, closes); err != nil {
			return res, fmt.Errorf("store closes %s..%s: %w", start, end, err)
		}
		res.Closes += len(closes)
	}
	if l.Snapshots != nil {
		sr, err := l.Snapshots.RebuildSnapshots(ctx, l.Symbols)
		if err != nil {
			return res, fmt.Errorf("rebuild snapshots after loading %s..%s: %w", from, to, err)
		}
		res.Snapshots = sr.Dates
	}
	l.log().Info("loaded closes", "from", res.From, "to", res.To, "symbols", res.Symbols, "closes", res.Closes, "skipped", res.Skipped, "snapshots", res.Snapshots)
	return res, nil
}

// fetch asks for one window, retrying a failed request (a 429, a 5xx, a timeout) a few times with backoff;
// after that the invocation fails and its scheduler retries it, which is safe: writes are idempotent.
func (l *Loader) fetch(ctx context.Context, from, to bar.Date) ([]alpaca.DailyClose, error) {
	attempts := l.FetchAttempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := l.RetryDelay
	if wait <= 0 {
		wait = time.Second
	}
	for attempt := 1; ; attempt++ {
		got, err := l.Bars.DailyCloses(ctx, l.Symbols, from, to)
		if err == nil || attempt >= attempts {
			return got, err
		}
		l.log().Warn("daily bars request failed; retrying", "from", from.String(), "to", to.String(), "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

func (l *Loader) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.New(slog.DiscardHandler)
}
