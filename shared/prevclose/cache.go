package prevclose

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

// Source is what a Cache reads through to.
type Source interface {
	PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error)
	PrevCloses(ctx context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error)
}

var _ enrich.PrevCloses = (*Cache)(nil)

// Cache keeps previous closes across warm invocations, bounded, so that a warm batch costs no request at all.
//
// When the source reads whole-market snapshots (SnapshotReader, as DynamoDB does), the Cache keeps the snapshot
// for each trading date it is asked about (at most MaxSnapshots dates) and answers every lookup of that date from
// it: a cold environment reads it once (two requests for the whole market), later lookups of symbols it has not
// seen yet cost nothing, and a symbol absent from a complete snapshot is "no close known" without a request, an
// answer that lasts as long as the snapshot. Lookups a snapshot cannot answer (no snapshot before the date, or a
// symbol missing from an incomplete one) and every lookup of a source without snapshots are cached per (symbol,
// date) instead.
//
// Nothing expires all at once: each snapshot and each entry is refreshed ahead in the background at a jittered
// point between half and nine tenths of its lifetime (TTL for a complete snapshot and for found closes,
// NegativeTTL for "none known", an incomplete snapshot or the absence of one) while the known answer is still
// served. Past its lifetime it is read through again before it is served; if the source fails then, the last
// known answer is served anyway and counted (StaleServed) instead of failing the batch. An error fails the lookup
// only when nothing is known for it. Misses go to the source in one batch call (one snapshot read per date), and
// a read already in flight for another caller is waited for, not asked again.
//
// Bound: a close rewritten by the loader (a split), or a symbol's first close, is served from the cache at most
// TTL after the rewrite plus the loader's snapshot rebuild (seconds), because no answer is served past TTL from
// the start of the request that fetched it, unless the source is failing (then each stale answer is counted). A
// close written without rebuilding the snapshots is not seen by a cache holding a complete snapshot: rebuild them
// (`feed prevclose snapshots`) after writing closes another way.
type Cache struct {
	src            Source
	maxEntries     int
	ttl            time.Duration
	negativeTTL    time.Duration
	refreshTimeout time.Duration
	now            func() time.Time

	snapshots    SnapshotReader // nil: the source has none
	maxSnapshots int

	mu        sync.Mutex
	entries   map[enrich.Lookup]cacheEntry
	inflight  map[enrich.Lookup]*call
	snaps     map[bar.Date]*snapEntry
	snapCalls map[bar.Date]*snapCall

	stale      atomic.Int64
	background sync.WaitGroup
}

type cacheEntry struct {
	close      float64
	ok         bool
	refreshAt  time.Time // jittered: a background refresh starts on the first lookup after it
	expires    time.Time // not served after it without asking the source again
	refreshing bool
}

// call is one lookup in flight; done is closed when close, ok and err are set.
type call struct {
	done  chan struct{}
	close float64
	ok    bool
	err   error
}

// CacheOptions tune a Cache; zero values take the defaults.
type CacheOptions struct {
	MaxEntries   int           // per-(symbol, date) answers; default 100,000
	MaxSnapshots int           // trading dates whose snapshot is kept; default 4
	TTL          time.Duration // complete snapshots and found closes; default 15 minutes
	NegativeTTL  time.Duration // "no close known" outside a snapshot, incomplete or no snapshot; default 1 minute
	// RefreshTimeout bounds a background refresh (default 10 seconds).
	RefreshTimeout time.Duration
	Now            func() time.Time
}

// NewCache wraps src; when src is also a SnapshotReader, lookups are answered from its snapshots.
func NewCache(src Source, o CacheOptions) *Cache {
	c := &Cache{src: src, maxEntries: o.MaxEntries, maxSnapshots: o.MaxSnapshots, ttl: o.TTL,
		negativeTTL: o.NegativeTTL, refreshTimeout: o.RefreshTimeout, now: o.Now,
		entries: make(map[enrich.Lookup]cacheEntry), inflight: make(map[enrich.Lookup]*call),
		snaps: make(map[bar.Date]*snapEntry), snapCalls: make(map[bar.Date]*snapCall)}
	c.snapshots, _ = src.(SnapshotReader)
	if c.maxEntries <= 0 {
		c.maxEntries = 100_000
	}
	if c.maxSnapshots <= 0 {
		c.maxSnapshots = 4
	}
	if c.ttl <= 0 {
		c.ttl = 15 * time.Minute
	}
	if c.negativeTTL <= 0 {
		c.negativeTTL = time.Minute
	}
	if c.refreshTimeout <= 0 {
		c.refreshTimeout = 10 * time.Second
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// PrevClose answers one lookup as PrevCloses does.
func (c *Cache) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	l := enrich.Lookup{Symbol: symbol, Before: before}
	found, err := c.PrevCloses(ctx, []enrich.Lookup{l})
	if err != nil {
		return 0, false, err
	}
	v, ok := found[l]
	return v, ok, nil
}

// pending is a lookup this call waits for: its own source query or another caller's.
type pending struct {
	l     enrich.Lookup
	call  *call
	known *cacheEntry // the expired answer, served if the source fails
}

// PrevCloses answers from the cached snapshots and answers, and asks the source only for what they do not hold.
func (c *Cache) PrevCloses(ctx context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	found := make(map[enrich.Lookup]float64, len(lookups))
	rest := lookups
	if c.snapshots != nil {
		var err error
		if rest, err = c.fromSnapshots(ctx, lookups, found); err != nil {
			return nil, err
		}
	}
	if len(rest) == 0 {
		return found, nil
	}
	if err := c.fromEntries(ctx, rest, found); err != nil {
		return nil, err
	}
	return found, nil
}

// fromEntries answers lookups from the per-(symbol, date) entries into found, asking the source in one call
// for what they do not know.
func (c *Cache) fromEntries(ctx context.Context, lookups []enrich.Lookup, found map[enrich.Lookup]float64) error {
	var mine, waits []pending
	var refresh []enrich.Lookup
	now := c.now()
	c.mu.Lock()
	for _, l := range lookups {
		e, hit := c.entries[l]
		if hit && now.Before(e.expires) {
			if e.ok {
				found[l] = e.close
			}
			if !now.Before(e.refreshAt) && !e.refreshing {
				e.refreshing = true
				c.entries[l] = e
				refresh = append(refresh, l)
			}
			continue
		}
		p := pending{l: l}
		if hit {
			p.known = &e
		}
		if cl, ok := c.inflight[l]; ok {
			p.call = cl
			waits = append(waits, p)
			continue
		}
		p.call = &call{done: make(chan struct{})}
		c.inflight[l] = p.call
		mine = append(mine, p)
	}
	c.mu.Unlock()
	if len(refresh) > 0 {
		c.refreshInBackground(refresh)
	}
	if len(mine) > 0 {
		c.fetch(ctx, mine)
	}
	var failed error
	for _, p := range append(mine, waits...) {
		select {
		case <-p.call.done:
		case <-ctx.Done():
			return fmt.Errorf("previous closes: %w", ctx.Err())
		}
		switch {
		case p.call.err == nil:
			if p.call.ok {
				found[p.l] = p.call.close
			}
		case p.known != nil:
			c.stale.Add(1)
			if p.known.ok {
				found[p.l] = p.known.close
			}
		default:
			failed = p.call.err
		}
	}
	return failed
}

// fetch asks the source for the lookups this caller owns and publishes the answers to waiting callers.
func (c *Cache) fetch(ctx context.Context, mine []pending) {
	ls := make([]enrich.Lookup, len(mine))
	for i, p := range mine {
		ls[i] = p.l
	}
	start := c.now()
	got, err := c.src.PrevCloses(ctx, ls)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range mine {
		delete(c.inflight, p.l)
		if err != nil {
			p.call.err = err
		} else {
			p.call.close, p.call.ok = got[p.l]
			c.store(p.l, p.call.close, p.call.ok, start)
		}
		close(p.call.done)
	}
}

// refreshInBackground reads lookups again without holding up the caller, which is served the known answers.
func (c *Cache) refreshInBackground(ls []enrich.Lookup) {
	c.background.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.refreshTimeout)
		defer cancel()
		start := c.now()
		got, err := c.src.PrevCloses(ctx, ls)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, l := range ls {
			if err == nil {
				v, ok := got[l]
				c.store(l, v, ok, start)
			} else if e, ok := c.entries[l]; ok {
				e.refreshing = false // the next lookup tries again; at expiry it reads through
				c.entries[l] = e
			}
		}
	})
}

// store caches an answer fetched by a request that started at start. Callers hold c.mu.
func (c *Cache) store(l enrich.Lookup, v float64, ok bool, start time.Time) {
	ttl := c.ttl
	if !ok {
		ttl = c.negativeTTL
	}
	if _, present := c.entries[l]; !present && len(c.entries) >= c.maxEntries {
		for old := range c.entries { // map order is random: evict an arbitrary entry
			delete(c.entries, old)
			break
		}
	}
	jitter := time.Duration(float64(ttl) * (0.5 + 0.4*rand.Float64()))
	c.entries[l] = cacheEntry{close: v, ok: ok, refreshAt: start.Add(jitter), expires: start.Add(ttl)}
}

// StaleServed is how many answers were served past their lifetime because the source failed: a metric the
// enrich handler reports per batch.
func (c *Cache) StaleServed() int64 { return c.stale.Load() }

// Wait blocks until the background refreshes in flight are done (tests, shutdown).
func (c *Cache) Wait() { c.background.Wait() }

// Len is the number of cached per-(symbol, date) answers (answers from snapshots are not counted).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
