package prevclose

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

var _ enrich.PrevCloses = (*Memory)(nil)

// Memory is an in-memory store, safe for concurrent use.
type Memory struct {
	mu sync.RWMutex
	// by symbol, sorted by date ascending, one entry per date
	closes map[string][]Close
}

// NewMemory returns a store holding closes.
func NewMemory(closes ...Close) (*Memory, error) {
	m := &Memory{closes: make(map[string][]Close)}
	if err := m.Put(context.Background(), closes); err != nil {
		return nil, err
	}
	return m, nil
}

// PrevClose returns the latest close of symbol dated strictly before `before`.
func (m *Memory) PrevClose(_ context.Context, symbol string, before bar.Date) (float64, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.prevClose(symbol, before)
	return v, ok, nil
}

// PrevCloses answers a batch of lookups at once.
func (m *Memory) PrevCloses(_ context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	found := make(map[enrich.Lookup]float64, len(lookups))
	for _, l := range lookups {
		if v, ok := m.prevClose(l.Symbol, l.Before); ok {
			found[l] = v
		}
	}
	return found, nil
}

func (m *Memory) prevClose(symbol string, before bar.Date) (float64, bool) {
	cs := m.closes[symbol]
	// first index with Date >= before
	i, _ := slices.BinarySearchFunc(cs, before, func(c Close, d bar.Date) int { return compareDates(c.Date, d) })
	if i == 0 {
		return 0, false
	}
	return cs[i-1].Close, true
}

// Put stores closes, replacing any with the same symbol and date (idempotent).
func (m *Memory) Put(_ context.Context, closes []Close) error {
	for _, c := range closes {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range closes {
		cs := m.closes[c.Symbol]
		i, found := slices.BinarySearchFunc(cs, c.Date, func(e Close, d bar.Date) int { return compareDates(e.Date, d) })
		if found {
			cs[i] = c
			continue
		}
		m.closes[c.Symbol] = slices.Insert(cs, i, c)
	}
	return nil
}

// Validate checks that c may be stored.
func (c Close) Validate() error {
	if err := bar.ValidateSymbol(c.Symbol); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidClose, err)
	}
	if c.Date.IsZero() {
		return fmt.Errorf("%w: %s: missing date", ErrInvalidClose, c.Symbol)
	}
	if err := bar.ValidatePrice("close", c.Close); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrInvalidClose, c.Symbol, c.Date, err)
	}
	return nil
}

func compareDates(a, b bar.Date) int {
	switch {
	case a.Before(b):
		return -1
	case b.Before(a):
		return 1
	default:
		return 0
	}
}
