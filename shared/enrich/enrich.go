// Package enrich holds finfeed's enrichment rules: percent change against the previous trading day's close and
// the Bullish/Bearish/Neutral indicator.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/finfeed/finfeed/shared/bar"
)

// DefaultThreshold is the percent move, either way, at which a bar turns Bullish or Bearish.
const DefaultThreshold = 5.0

// PrevCloses finds the latest close of a symbol on a date strictly before a given trading date.
type PrevCloses interface {
	// PrevClose answers one lookup. ok is false when no close is known; err is for faults (the store is
	// unreachable), never for "not found".
	PrevClose(ctx context.Context, symbol string, before bar.Date) (close float64, ok bool, err error)
	// PrevCloses answers every lookup of a batch in one call: the known closes by lookup, a lookup missing from
	// the map has no known close. err is a fault; then the answer is unusable as a whole.
	PrevCloses(ctx context.Context, lookups []Lookup) (map[Lookup]float64, error)
}

// Lookup asks for the latest close of Symbol dated strictly before Before (a New York trading date).
type Lookup struct {
	Symbol string
	Before bar.Date
}

// LookupOf is the lookup that enriching raw needs.
func LookupOf(raw *bar.Raw) Lookup {
	return Lookup{Symbol: raw.Symbol, Before: bar.TradingDate(raw.Time)}
}

// Rules are the pure enrichment rules.
type Rules struct {
	// Threshold is the percent change at or beyond which a bar is Bullish (>= +Threshold) or Bearish
	// (<= -Threshold).
	Threshold float64
}

// Validate checks the threshold.
func (r Rules) Validate() error {
	if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) || r.Threshold <= 0 {
		return fmt.Errorf("threshold must be a positive percentage, got %v", r.Threshold)
	}
	return nil
}

// Apply enriches raw with its previous close (ok=false when none is known).
func (r Rules) Apply(raw *bar.Raw, prevClose float64, ok bool) bar.Enriched {
	return r.apply(raw, bar.TradingDate(raw.Time), prevClose, ok)
}

func (r Rules) apply(raw *bar.Raw, td bar.Date, prevClose float64, ok bool) bar.Enriched {
	e := bar.Enriched{
		Symbol:      raw.Symbol,
		Close:       raw.Close,
		Open:        raw.Open,
		Low:         raw.Low,
		High:        raw.High,
		Volume:      raw.Volume,
		Time:        raw.Time,
		Indicator:   bar.Unknown,
		TradingDate: td,
	}
	if !ok || prevClose <= 0 || math.IsNaN(prevClose) || math.IsInf(prevClose, 0) {
		return e
	}
	e.HasPrev = true
	e.PrevClose = prevClose
	e.Change = (raw.Close - prevClose) / prevClose * 100
	e.Indicator = r.Indicator(e.Change)
	return e
}

// Indicator classifies a percent change.
func (r Rules) Indicator(change float64) bar.Indicator {
	switch {
	case change >= r.Threshold:
		return bar.Bullish
	case change <= -r.Threshold:
		return bar.Bearish
	default:
		return bar.Neutral
	}
}

// Enricher applies Rules with previous closes from a store.
type Enricher struct {
	Rules Rules
	Store PrevCloses
}

// ErrLookup wraps a previous-close store fault: transient, the batch should be retried.
var ErrLookup = errors.New("previous close lookup failed")

// Resolve answers the distinct lookups of a batch with one store call, so that a whole batch costs a handful of
// store requests instead of one per symbol. A store fault wraps ErrLookup.
func (e *Enricher) Resolve(ctx context.Context, lookups []Lookup) (map[Lookup]float64, error) {
	if len(lookups) == 0 {
		return nil, nil
	}
	closes, err := e.Store.PrevCloses(ctx, lookups)
	if err != nil {
		return nil, fmt.Errorf("%w: %d lookups: %w", ErrLookup, len(lookups), err)
	}
	return closes, nil
}

// EnrichResolved is Enrich with closes from Resolve (a lookup missing from closes has no known close); a record
// that cannot be published wraps bar.ErrInvalid, as with Enrich.
func (e *Enricher) EnrichResolved(raw *bar.Raw, closes map[Lookup]float64) (bar.Enriched, error) {
	td := bar.TradingDate(raw.Time)
	pc, ok := closes[Lookup{Symbol: raw.Symbol, Before: td}]
	return e.Rules.Checked(raw, td, pc, ok)
}

// Enrich looks up raw's previous close and applies the rules. A store fault wraps ErrLookup (transient: retry the
// batch); a record that cannot be published as strict JSON — its previous close is not a price (a corrupt
// store item) or its %change would not be finite — wraps bar.ErrInvalid (send it to the dead-letter topic).
func (e *Enricher) Enrich(ctx context.Context, raw *bar.Raw) (bar.Enriched, error) {
	td := bar.TradingDate(raw.Time)
	pc, ok, err := e.Store.PrevClose(ctx, raw.Symbol, td)
	if err != nil {
		return bar.Enriched{}, fmt.Errorf("%w: %s before %s: %w", ErrLookup, raw.Symbol, td, err)
	}
	return e.Rules.Checked(raw, td, pc, ok)
}

// Checked is Apply for a record about to be published: a previous close that is not a price, or a %change that
// is not finite, is an error wrapping bar.ErrInvalid instead of a record no JSON parser could read.
func (r Rules) Checked(raw *bar.Raw, td bar.Date, prevClose float64, ok bool) (bar.Enriched, error) {
	if ok {
		if err := bar.ValidatePrice("previous close", prevClose); err != nil {
			return bar.Enriched{}, fmt.Errorf("%s before %s: %w", raw.Symbol, td, err)
		}
	}
	en := r.apply(raw, td, prevClose, ok)
	if en.HasPrev && (math.IsNaN(en.Change) || math.IsInf(en.Change, 0)) {
		return bar.Enriched{}, &bar.InvalidError{Reason: fmt.Sprintf("%%change of close %v against previous close %v is not finite", raw.Close, prevClose)}
	}
	return en, nil
}
