// Package candles aggregates a raw partition's minute bars into 5-minute, 15-minute and 1-hour candles aligned to
// the UTC clock, with the partition watermark deciding when a candle is final; pure, no I/O.
package candles

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Interval is a candle length. Only the lengths in Intervals are supported; each divides an hour, so candles
// align to the UTC clock as Alpaca's 5Min, 15Min and 1Hour bars do.
type Interval time.Duration

// The supported candle lengths.
const (
	Minutes5  = Interval(5 * time.Minute)
	Minutes15 = Interval(15 * time.Minute)
	Hour1     = Interval(time.Hour)
)

// Intervals lists the supported lengths, shortest first.
var Intervals = []Interval{Minutes5, Minutes15, Hour1}

// Defaults of the configuration (`feed candles`, CANDLES_GRACE, CANDLES_HORIZON).
const (
	DefaultGrace   = time.Minute
	DefaultHorizon = 15 * time.Minute
)

// Configuration errors, wrapped with the offending value.
var (
	ErrInterval = errors.New("unsupported candle interval")
	ErrConfig   = errors.New("invalid candle configuration")
)

// String is the interval as records name it: "5m", "15m" or "1h".
func (iv Interval) String() string {
	switch iv {
	case Minutes5:
		return "5m"
	case Minutes15:
		return "15m"
	case Hour1:
		return "1h"
	}
	return time.Duration(iv).String()
}

// Duration is the interval's length.
func (iv Interval) Duration() time.Duration { return time.Duration(iv) }

func (iv Interval) supported() bool { return slices.Contains(Intervals, iv) }

// seconds is the interval's length in whole seconds (every supported interval is a whole number of them).
func (iv Interval) seconds() int64 { return int64(time.Duration(iv) / time.Second) }

// ParseInterval reads "5m", "15m" or "1h".
func ParseInterval(s string) (Interval, error) {
	for _, iv := range Intervals {
		if s == iv.String() {
			return iv, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want one of 5m, 15m, 1h", ErrInterval, s)
}

// ParseIntervals reads a comma-separated list such as "5m,15m,1h"; the result is sorted shortest first, without
// repeats.
func ParseIntervals(s string) ([]Interval, error) {
	var out []Interval
	var errs []error
	for _, part := range strings.Split(s, ",") {
		iv, err := ParseInterval(strings.TrimSpace(part))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, iv)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Config says which candles a Partition builds and when it publishes them.
type Config struct {
	// Intervals are the candle lengths to build.
	Intervals []Interval
	// Grace is how far the partition watermark (the latest bar start seen) must pass a candle's end before the
	// candle is final and published.
	Grace time.Duration
	// Horizon is how long after a candle is final (watermark at end + Grace) a correction or late bar still
	// changes and re-publishes it; 0 means DefaultHorizon. A bar later than that for a candle is left out of that
	// candle and counted (Partition.TooLate). The minute bars of candles inside the horizon are kept in the state.
	Horizon time.Duration
	// Partial publishes the running candle (final false) on every bar of an open interval.
	Partial bool
}

// DefaultConfig builds every supported interval with the default grace and horizon, finals only.
func DefaultConfig() Config {
	return Config{Intervals: slices.Clone(Intervals), Grace: DefaultGrace, Horizon: DefaultHorizon}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Intervals) == 0 {
		errs = append(errs, fmt.Errorf("%w: no intervals", ErrConfig))
	}
	for _, iv := range c.Intervals {
		if !iv.supported() {
			errs = append(errs, fmt.Errorf("%w %v: want one of 5m, 15m, 1h", ErrInterval, time.Duration(iv)))
		}
	}
	if c.Grace < 0 || c.Grace > 24*time.Hour {
		errs = append(errs, fmt.Errorf("%w: grace %v is outside 0 to 24h", ErrConfig, c.Grace))
	}
	if c.Horizon < 0 || c.Horizon > 24*time.Hour {
		errs = append(errs, fmt.Errorf("%w: horizon %v is outside 0 to 24h", ErrConfig, c.Horizon))
	}
	return errors.Join(errs...)
}

// normalized is c as a Partition uses it: supported intervals only, sorted, without repeats; grace and horizon
// clamped to their valid ranges, the horizon defaulted.
func (c Config) normalized() Config {
	n := c
	n.Intervals = nil
	for _, iv := range c.Intervals {
		if iv.supported() {
			n.Intervals = append(n.Intervals, iv)
		}
	}
	slices.Sort(n.Intervals)
	n.Intervals = slices.Compact(n.Intervals)
	n.Grace = min(max(n.Grace, 0), 24*time.Hour)
	if n.Horizon <= 0 {
		n.Horizon = DefaultHorizon
	}
	n.Horizon = min(n.Horizon, 24*time.Hour)
	return n
}
