package chart

import (
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// Limits bound what a Store keeps, so a long run or a whole-market replay cannot grow it without end.
type Limits struct {
	// Bars is the most bars kept per symbol and interval; the oldest go first (default 1000: a whole extended
	// session of minute bars).
	Bars int
	// Symbols is the most symbols kept; bars of further symbols are dropped and counted (default 500).
	Symbols int
}

// Default limits.
const (
	DefaultBars    = 1000
	DefaultSymbols = 500
)

// Update is one bar that changed, as the page gets it over Server-Sent Events.
type Update struct {
	Symbol   string `json:"symbol"`
	Interval string `json:"interval"`
	Bar      Bar    `json:"bar"`
}

// Stats count what a Store took in.
type Stats struct {
	// Records is how many records were charted.
	Records int64 `json:"records"`
	// Skipped is how many records were malformed and left out; LastSkip says why the latest was.
	Skipped  int64  `json:"skipped"`
	LastSkip string `json:"lastSkip,omitempty"`
	// Dropped is how many bars fell outside the Limits (a symbol too many, or older than a full history).
	Dropped int64 `json:"dropped"`
	// Stale is how many partial candles came after the final version of their candle (a retried batch resends
	// its records) and were left out: a final candle is never replaced by a partial one.
	Stale int64 `json:"stale"`
	// ReadError is the latest error reading the topics, empty when reads succeed.
	ReadError string `json:"readError,omitempty"`
}

// Store is the bounded history of every symbol and interval, and the subscribers to its changes. It is safe
// for concurrent use.
type Store struct {
	limits Limits

	mu     sync.Mutex
	series map[seriesKey][]Bar // in time order, one bar per time
	latest map[string]Bar      // each symbol's newest enriched bar
	names  map[string]bool     // every symbol with a series
	stats  Stats
	subs   map[chan Update]struct{}
}

type seriesKey struct{ symbol, interval string }

// subscriberBuffer is how many updates a slow page may fall behind before it is disconnected (its EventSource
// reconnects and reloads the chart).
const subscriberBuffer = 1024

// NewStore returns an empty store; zero limits take the defaults.
func NewStore(l Limits) *Store {
	if l.Bars <= 0 {
		l.Bars = DefaultBars
	}
	if l.Symbols <= 0 {
		l.Symbols = DefaultSymbols
	}
	return &Store{limits: l, series: map[seriesKey][]Bar{}, latest: map[string]Bar{}, names: map[string]bool{}, subs: map[chan Update]struct{}{}}
}

// Add puts b into the symbol's interval series: a bar for a time already there replaces it (a correction, a
// re-published final candle, the final version of a partial candle, or an at-least-once repeat), any other goes
// in time order. A partial candle never replaces the final version of its candle: it is counted as Stale and
// left out. Subscribers get the bar as stored, once per change.
func (s *Store) Add(symbol, interval string, b Bar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.names[symbol] && len(s.names) >= s.limits.Symbols {
		s.stats.Dropped++
		return
	}
	k := seriesKey{symbol, interval}
	bars := s.series[k]
	i := sort.Search(len(bars), func(i int) bool { return !bars[i].Time.Before(b.Time) })
	switch {
	case i < len(bars) && bars[i].Time.Equal(b.Time):
		if isFinal(bars[i]) && isPartial(b) {
			s.stats.Stale++
			return
		}
		b = merge(bars[i], b)
		bars[i] = b
	case len(bars) >= s.limits.Bars && i == 0:
		s.stats.Dropped++ // older than everything a full history keeps
		return
	default:
		bars = slices.Insert(bars, i, b)
		if len(bars) > s.limits.Bars {
			bars = slices.Delete(bars, 0, len(bars)-s.limits.Bars)
		}
	}
	s.series[k] = bars
	s.names[symbol] = true
	if interval == Minute {
		if l, ok := s.latest[symbol]; !ok || !b.Time.Before(l.Time) {
			s.latest[symbol] = b
		}
	}
	s.stats.Records++
	s.publish(Update{Symbol: symbol, Interval: interval, Bar: b})
}

// isFinal tells a candle published as final; isPartial one published as a running (partial) candle. Minute bars
// are neither.
func isFinal(b Bar) bool   { return b.Final != nil && *b.Final }
func isPartial(b Bar) bool { return b.Final != nil && !*b.Final }

// Skip counts a record left out and why.
func (s *Store) Skip(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Skipped++
	s.stats.LastSkip = reason
}

// SetReadError records the latest error reading the topics ("" when reads work again).
func (s *Store) SetReadError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.ReadError = msg
}

// Stats is what the store took in so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Symbols lists the symbols with any bar, sorted.
func (s *Store) Symbols() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.names))
}

// Intervals lists the intervals with any bar: Minute first, then the others by length.
func (s *Store) Intervals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for k := range s.series {
		seen[k.interval] = true
	}
	out := make([]string, 0, len(seen))
	for iv := range seen {
		out = append(out, iv)
	}
	slices.SortFunc(out, func(a, b string) int { return cmpInterval(a, b) })
	return out
}

// cmpInterval orders interval names by length of time ("1m" < "5m" < "15m" < "1h"), unknown names last.
func cmpInterval(a, b string) int {
	da, ea := time.ParseDuration(a)
	db, eb := time.ParseDuration(b)
	switch {
	case ea != nil && eb != nil:
		return compare(a, b)
	case ea != nil:
		return 1
	case eb != nil:
		return -1
	}
	return compare(da, db)
}

func compare[T int | string | time.Duration](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Series is a copy of the symbol's bars of the interval, oldest first, and its newest enriched bar (ok false
// when there is none yet).
func (s *Store) Series(symbol, interval string) (bars []Bar, latest Bar, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest, ok = s.latest[symbol]
	return slices.Clone(s.series[seriesKey{symbol, interval}]), latest, ok
}

// Subscribe returns a channel of every update from now on, and the function that ends the subscription. The
// channel is closed when the subscriber falls too far behind or cancel is called.
func (s *Store) Subscribe() (<-chan Update, func()) {
	ch := make(chan Update, subscriberBuffer)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
	}
}

// publish hands u to every subscriber without waiting; one that is full is cut off (s.mu held).
func (s *Store) publish(u Update) {
	for ch := range s.subs {
		select {
		case ch <- u:
		default:
			delete(s.subs, ch)
			close(ch)
		}
	}
}
