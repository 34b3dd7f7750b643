package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/calendar"
)

// Session is one connected, subscribed stream (alpaca.Session).
type Session interface {
	Read(ctx context.Context, into []alpaca.Event) ([]alpaca.Event, error)
	Close() error
}

// Dialer opens a session. A refusal is an *alpaca.ServerError.
type Dialer func(ctx context.Context) (Session, error)

// History serves the minute bars that start in [from, to) (alpaca.REST).
type History interface {
	MinuteBars(ctx context.Context, symbols []string, from, to time.Time) ([]bar.Raw, error)
}

// Sink takes bars for Kafka (Producer). A Send that fails did not take the bar, and the sink has logged and
// counted it as lost.
type Sink interface {
	Send(b *bar.Raw) error
}

// Ingester keeps one stream session open at a time and hands every bar to the sink; after any gap it backfills
// the missed minutes from History.
type Ingester struct {
	Dial Dialer
	// CredentialsChanged, when set, reports whether the Alpaca keys now differ from the ones in use; it is asked
	// after a refused login (nil: keys cannot change without a restart, e.g. from the environment).
	CredentialsChanged func(ctx context.Context) (bool, error)
	History            History
	Sink               Sink
	Metrics            *Metrics
	Health             *Health
	Log                *slog.Logger
	// Symbols are the configured symbols, or nil for all ("*"): backfill then asks for the symbols Assets lists
	// as tradable and those seen on the stream so far.
	Symbols []string
	// Assets lists the tradable symbols for Symbols nil; without it, backfill asks only for the symbols seen.
	Assets Assets
	// Options tune reconnects, the watchdog and backfills: DefaultOptions, changed where needed. Run refuses
	// options that do not pass Validate.
	Options
	// MarketOpen says when silence is suspicious (default: New York regular session, weekdays 9:30-16:00).
	MarketOpen func(time.Time) bool
	// Now is the clock (default time.Now).
	Now func() time.Time

	seenMu sync.Mutex
	seen   map[string]struct{}

	assetsMu sync.Mutex
	listed   []string  // the last asset list fetched
	listedAt time.Time // when
}

// heldUp is how long a Send may block before the session no longer trusts that its socket stayed healthy.
const heldUp = time.Second

// ErrStale means the watchdog ended a session that was connected but silent in market hours.
var ErrStale = errors.New("stream silent during market hours")

// ErrRefused means Alpaca refused the login for good (bad credentials, plan or symbol limit): retrying with the
// same credentials cannot help. It is the not-ready reason while the ingester waits for new keys.
var ErrRefused = errors.New("alpaca refused the stream login")

// ErrCredentialsChanged ends Run after a refused login when CredentialsChanged reports new keys: the process
// restarts (ECS starts a new task) so that every client, stream and REST alike, uses them.
var ErrCredentialsChanged = errors.New("alpaca credentials changed after a refused login: restart to use them")

// Run reads the stream until ctx ends (nil). A login Alpaca refuses for good does not end it: the ingester stays
// up, healthy but not ready (/readyz says why), counts LoginRefused, retries every RefusedRetry and, when
// CredentialsChanged reports new keys, returns ErrCredentialsChanged so the task restarts with them. Bars already
// read when ctx ends are in the sink. Gaps are backfilled one at a time; a gap not backfilled when ctx ends (still
// open, waiting, or in progress) is logged at error level with its minutes and counted in BackfillErrors.
func (in *Ingester) Run(ctx context.Context) error {
	if err := in.Options.Validate(); err != nil {
		return fmt.Errorf("ingester options: %w", err)
	}
	fills := &backfills{wake: make(chan struct{}, 1)}
	fillsDone := make(chan struct{})
	go func() {
		defer close(fillsDone)
		in.backfillLoop(ctx, fills)
	}()
	var gapFrom time.Time
	defer func() {
		// the stream was down when Run ended: nothing will fetch the minutes since
		if g := (gap{gapFrom, ceilMinute(in.now())}); !gapFrom.IsZero() && g.from.Before(g.to) {
			in.unfilled("gap open at shutdown: bars of this gap are missing from raw", g, in.knownSymbols())
		}
		fills.close()
		<-fillsDone
	}()
	if in.BackfillOnStart > 0 {
		gapFrom = in.now().Add(-in.BackfillOnStart).Truncate(time.Minute)
	}
	failures := 0
	for ctx.Err() == nil {
		sess, err := in.Dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			in.Health.setDisconnected(err.Error())
			var se *alpaca.ServerError
			if errors.As(err, &se) && se.Permanent() {
				in.Metrics.LoginRefused.Add(1)
				in.Health.setDisconnected(fmt.Errorf("%w: %w; set the keys (ALPACA_SECRET_ARN or ALPACA_API_KEY/ALPACA_API_SECRET), the feed and the plan; retrying every %s", ErrRefused, err, in.RefusedRetry).Error())
				in.Log.Error("alpaca refused the stream login; check ALPACA_API_KEY/ALPACA_API_SECRET or ALPACA_SECRET_ARN, the feed and the plan",
					"err", err, "retryIn", in.RefusedRetry)
				if !sleep(ctx, in.RefusedRetry) {
					break
				}
				if in.CredentialsChanged != nil {
					changed, cerr := in.CredentialsChanged(ctx)
					switch {
					case cerr != nil:
						in.Log.Warn("re-read alpaca credentials", "err", cerr)
					case changed:
						in.Log.Info("alpaca credentials changed; stopping so the task restarts with them")
						return ErrCredentialsChanged
					}
				}
				continue
			}
			wait := in.backoff(failures)
			failures++
			if errors.Is(err, alpaca.ErrConnectionLimit) {
				in.Metrics.ConnLimitHolds.Add(1)
				wait = in.ConnLimitHold + jitter(in.ReconnectMin)
				in.Log.Warn("alpaca connection limit (406): another connection holds the slot; waiting it out", "wait", wait)
			} else {
				in.Log.Warn("stream connect failed", "err", err, "retryIn", wait, "failures", failures)
			}
			if !sleep(ctx, wait) {
				break
			}
			continue
		}
		connectedAt := in.now()
		in.Health.setConnected()
		in.Log.Info("stream connected")
		if !gapFrom.IsZero() {
			// bars of the minute in progress at connectedAt arrive live
			if g := (gap{gapFrom, connectedAt.Truncate(time.Minute)}); g.from.Before(g.to) {
				running, queued := fills.add(g)
				in.Log.Info("gap queued for backfill", "from", g.from, "to", g.to, "queued", queued, "behindRunning", running)
			}
			gapFrom = time.Time{}
		}
		got, lastRead, err := in.session(ctx, sess)
		if cerr := sess.Close(); cerr != nil {
			in.Log.Warn("close stream session", "err", cerr)
		}
		if ctx.Err() != nil {
			in.Health.setDisconnected("shutting down")
			break
		}
		in.Health.setDisconnected(err.Error())
		in.Metrics.Reconnects.Add(1)
		if errors.Is(err, ErrStale) {
			in.Metrics.StaleReconnects.Add(1)
		}
		// from the session's last sure moment, not from now: a reader held up by Kafka may find its connection
		// closed (missed pings, or Alpaca's 407) long after it was
		gapFrom = lastRead.Truncate(time.Minute).Add(-in.BackfillOverlap)
		if got > 0 {
			failures = 0
		}
		wait := in.backoff(failures)
		failures++
		in.Log.Warn("stream session ended; reconnecting", "err", err, "bars", got, "retryIn", wait)
		if !sleep(ctx, wait) {
			break
		}
	}
	return nil
}

// session reads sess until it fails, goes stale or ctx ends. It returns how many bars it delivered and the
// last moment up to which nothing can have been lost: when it last read a frame, or, if the reader was ever held
// up by Kafka for longer than heldUp, when that first happened (frames read afterwards may have sat in a socket
// that was dying meanwhile).
func (in *Ingester) session(ctx context.Context, sess Session) (int, time.Time, error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var lastRead atomic.Int64
	var sending atomic.Bool
	lastRead.Store(in.now().UnixNano())
	last := func() time.Time { return time.Unix(0, lastRead.Load()) }
	go func() {
		every := max(in.StaleAfter/4, time.Millisecond)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				now := in.now()
				silent := now.Sub(last())
				// a reader blocked on Kafka backpressure is not a silent stream
				if !sending.Load() && silent > in.StaleAfter && in.marketOpen(now) {
					cancel(fmt.Errorf("%w: nothing for %s", ErrStale, silent.Round(time.Second)))
					return
				}
			}
		}
	}()
	var heldSince time.Time
	sure := func() time.Time {
		if !heldSince.IsZero() && heldSince.Before(last()) {
			return heldSince
		}
		return last()
	}
	var evs []alpaca.Event
	n := 0
	for {
		var err, serr error
		evs, err = sess.Read(sctx, evs[:0])
		if err == nil {
			lastRead.Store(in.now().UnixNano())
		}
		sending.Store(true)
		for i := range evs {
			ev := &evs[i]
			if ev.Updated {
				in.Metrics.UpdatedBarsIn.Add(1)
			} else {
				in.Metrics.BarsIn.Add(1)
			}
			if in.Symbols == nil {
				in.saw(ev.Bar.Symbol)
			}
			before := in.now()
			err := in.Sink.Send(&ev.Bar)
			if in.now().Sub(before) > heldUp && (heldSince.IsZero() || before.Before(heldSince)) {
				heldSince = before
			}
			if err != nil {
				// the rest of the frame is still handed over: the sink accounts for every bar it refuses
				serr = cmp.Or(serr, err)
				continue
			}
			n++
		}
		sending.Store(false)
		if serr != nil {
			return n, sure(), fmt.Errorf("hand bar to kafka: %w", serr)
		}
		if err != nil {
			if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil && errors.Is(cause, ErrStale) {
				return n, sure(), cause
			}
			return n, sure(), err
		}
	}
}

// fill fetches the bars that start in g and sends them, window by window of minutes and chunk by chunk of
// symbols, each fetch's bars sent before the next fetch. Bars also received live encode to the same bytes, so
// downstream collapses the duplicates.
func (in *Ingester) fill(ctx context.Context, g gap) {
	if ctx.Err() != nil {
		in.unfilled("backfill abandoned at shutdown: bars of this gap are missing from raw", g, in.knownSymbols())
		return
	}
	symbols := in.gapSymbols(ctx)
	if len(symbols) == 0 {
		in.unfilled("backfill impossible: no symbols known (no asset list, none seen on the stream): bars of this gap are missing from raw", g, nil)
		return
	}
	if wait := g.to.Add(in.BackfillSettle).Sub(in.now()); wait > 0 && !sleep(ctx, wait) {
		in.unfilled("backfill abandoned at shutdown: bars of this gap are missing from raw", g, symbols)
		return
	}
	chunk, window := in.BackfillChunk, in.BackfillWindow
	total, failed := 0, 0
	for from := g.from; from.Before(g.to); from = from.Add(window) {
		to := from.Add(window)
		if to.After(g.to) {
			to = g.to
		}
		for start := 0; start < len(symbols); start += chunk {
			part := symbols[start:min(start+chunk, len(symbols))]
			n, err := in.backfillSymbols(ctx, part, from, to)
			total += n
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				left := symbols // later windows are for every symbol
				if !to.Before(g.to) {
					left = symbols[start:]
				}
				in.unfilled("backfill abandoned at shutdown: bars of this gap are missing from raw", gap{from, g.to}, left)
				return
			}
			failed++
			in.Log.Error("backfill gave up: bars of this gap are missing from raw", "from", from, "to", to,
				"symbols", len(part), "first", part[0], "err", err)
		}
	}
	in.Log.Info("backfilled gap", "from", g.from, "to", g.to, "bars", total, "symbols", len(symbols), "failedFetches", failed)
}

// unfilled logs a gap whose bars may be missing from raw for good, with what an operator needs to backfill it by
// hand, and counts it.
func (in *Ingester) unfilled(msg string, g gap, symbols []string) {
	in.Metrics.BackfillErrors.Add(1)
	args := []any{"from", g.from, "to", g.to, "symbols", len(symbols)}
	if len(symbols) > 0 {
		args = append(args, "first", symbols[0])
	}
	in.Log.Error(msg, args...)
}

// backfillSymbols fetches and sends one chunk's bars, retrying the fetch with backoff.
func (in *Ingester) backfillSymbols(ctx context.Context, symbols []string, from, to time.Time) (int, error) {
	attempts := in.BackfillAttempts
	var err error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 && !sleep(ctx, in.backoff(attempt-1)) {
			return 0, errors.Join(err, ctx.Err())
		}
		var bars []bar.Raw
		if bars, err = in.History.MinuteBars(ctx, symbols, from, to); err != nil {
			in.Metrics.BackfillErrors.Add(1)
			in.Log.Warn("backfill fetch failed", "from", from, "to", to, "attempt", attempt+1, "err", err)
			continue
		}
		for i := range bars {
			if err := in.Sink.Send(&bars[i]); err != nil {
				return i, fmt.Errorf("send backfilled bar: %w", err)
			}
			in.Metrics.Backfilled.Add(1)
		}
		return len(bars), nil
	}
	return 0, fmt.Errorf("%d fetch attempts failed: %w", attempts, err)
}

func (in *Ingester) saw(symbol string) {
	in.seenMu.Lock()
	defer in.seenMu.Unlock()
	if in.seen == nil {
		in.seen = map[string]struct{}{}
	}
	in.seen[symbol] = struct{}{}
}

func (in *Ingester) seenSymbols() []string {
	in.seenMu.Lock()
	defer in.seenMu.Unlock()
	out := make([]string, 0, len(in.seen))
	for s := range in.seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// backoff is the capped exponential delay after n consecutive failures, with jitter in [d/2, d].
func (in *Ingester) backoff(n int) time.Duration {
	d := in.ReconnectMin << min(n, 20)
	if d <= 0 || d > in.ReconnectMax {
		d = in.ReconnectMax
	}
	return d/2 + jitter(d/2)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (in *Ingester) marketOpen(t time.Time) bool {
	if in.MarketOpen != nil {
		return in.MarketOpen(t)
	}
	return RegularSession(t)
}

// RegularSession reports whether t falls in the exchange's regular session: a New York trading day (holidays and
// their observed dates excluded), 9:30 to 16:00, or to 13:00 on an early close (shared/calendar). The watchdog
// reconnects a silent stream only then, so a holiday raises no stale reconnects and no alarm.
func RegularSession(t time.Time) bool { return calendar.InRegularSession(t) }

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
