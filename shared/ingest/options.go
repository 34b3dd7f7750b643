package ingest

import (
	"errors"
	"fmt"
	"time"
)

// Options are the ingester's tuning knobs. DefaultOptions holds every default, in this one place: Load starts
// from it and overrides what the environment sets, and code that builds an Ingester or a Producer itself (tests,
// tools) starts from it too and changes what it needs. Validate checks a set as Run and Load do.
type Options struct {
	MaxBuffered   int           // INGEST_MAX_BUFFERED: records produced but not yet acknowledged; Send blocks beyond it
	ReconnectMin  time.Duration // RECONNECT_MIN: first reconnect delay (doubles per failure, with jitter)
	ReconnectMax  time.Duration // RECONNECT_MAX: cap of the reconnect delay
	ConnLimitHold time.Duration // CONN_LIMIT_HOLD: wait after a 406 (Alpaca holds the connection slot ~90 s)
	// RefusedRetry (REFUSED_RETRY) is the wait between logins after Alpaca refused the credentials for good
	// (402: keys not set yet, revoked or wrong): the task stays up, not ready, and checks for new keys.
	RefusedRetry    time.Duration
	StaleAfter      time.Duration // STALE_AFTER: connected but no bar this long in market hours: reconnect
	BackfillOverlap time.Duration // BACKFILL_OVERLAP: backfill starts this far before the disconnect
	// BackfillOnStart (BACKFILL_ON_START), when positive, backfills this far back after the first connection:
	// the minutes between a replaced task's last bar and this one's first. 0 disables it.
	BackfillOnStart time.Duration
	MetricsInterval time.Duration // METRICS_INTERVAL: how often counters are logged (EMF)
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: how long SIGTERM may take to flush

	// BackfillAttempts bounds the REST attempts per fetch of a gap, and of the first asset list.
	BackfillAttempts int
	// BackfillChunk is how many symbols one backfill fetch covers, and BackfillWindow how many minutes: each
	// fetch's bars are sent before the next, so a backfill of the whole market holds at most
	// BackfillChunk x BackfillWindow minutes of bars, however long the gap.
	BackfillChunk  int
	BackfillWindow time.Duration
	// BackfillSettle is how long after a gap's end its backfill waits before asking REST: Alpaca builds a
	// minute's bar from trades reported up to seconds after the minute ends (the stream sends it at once, REST
	// has it 2-3 s later), so a fetch right after a reconnect would miss the gap's last bars.
	BackfillSettle time.Duration
	// AssetsRefresh is how long an asset list is used before it is fetched again: listings change overnight.
	AssetsRefresh time.Duration
	// ProduceRetryMin and ProduceRetryMax bound the delay between produce attempts of a failed record.
	ProduceRetryMin, ProduceRetryMax time.Duration
}

// DefaultOptions are the options of the Fargate task when the environment sets none.
func DefaultOptions() Options {
	return Options{
		MaxBuffered:     10000,
		ReconnectMin:    time.Second,
		ReconnectMax:    time.Minute,
		ConnLimitHold:   90 * time.Second,
		RefusedRetry:    time.Minute,
		StaleAfter:      3 * time.Minute,
		BackfillOverlap: 2 * time.Minute,
		BackfillOnStart: 5 * time.Minute,
		MetricsInterval: time.Minute,
		ShutdownTimeout: 20 * time.Second,

		BackfillAttempts: 8,
		BackfillChunk:    100,
		BackfillWindow:   30 * time.Minute,
		BackfillSettle:   10 * time.Second,
		AssetsRefresh:    24 * time.Hour,
		ProduceRetryMin:  100 * time.Millisecond,
		ProduceRetryMax:  5 * time.Second,
	}
}

// Validate reports every option out of range together, named by its environment variable where it has one.
func (o Options) Validate() error {
	var errs []error
	positive := func(name string, ok bool, got any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %v", name, got))
		}
	}
	positive("INGEST_MAX_BUFFERED", o.MaxBuffered > 0, o.MaxBuffered)
	if o.ReconnectMin <= 0 || o.ReconnectMax < o.ReconnectMin {
		errs = append(errs, fmt.Errorf("RECONNECT_MIN and RECONNECT_MAX: want 0 < min <= max, got %s and %s", o.ReconnectMin, o.ReconnectMax))
	}
	positive("STALE_AFTER", o.StaleAfter > 0, o.StaleAfter)
	positive("REFUSED_RETRY", o.RefusedRetry > 0, o.RefusedRetry)
	positive("METRICS_INTERVAL", o.MetricsInterval > 0, o.MetricsInterval)
	positive("SHUTDOWN_TIMEOUT", o.ShutdownTimeout > 0, o.ShutdownTimeout)
	if o.ConnLimitHold < 0 || o.BackfillOverlap < 0 || o.BackfillOnStart < 0 {
		errs = append(errs, errors.New("CONN_LIMIT_HOLD, BACKFILL_OVERLAP and BACKFILL_ON_START: must not be negative"))
	}
	positive("backfill attempts", o.BackfillAttempts > 0, o.BackfillAttempts)
	positive("backfill chunk", o.BackfillChunk > 0, o.BackfillChunk)
	positive("backfill window", o.BackfillWindow > 0, o.BackfillWindow)
	if o.BackfillSettle < 0 {
		errs = append(errs, fmt.Errorf("backfill settle: must not be negative, got %s", o.BackfillSettle))
	}
	positive("assets refresh", o.AssetsRefresh > 0, o.AssetsRefresh)
	if o.ProduceRetryMin <= 0 || o.ProduceRetryMax < o.ProduceRetryMin {
		errs = append(errs, fmt.Errorf("produce retry: want 0 < min <= max, got %s and %s", o.ProduceRetryMin, o.ProduceRetryMax))
	}
	return errors.Join(errs...)
}
