package prevclose

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/finfeed/finfeed/shared/bar"
)

// Source is what a Cache reads through to.
type Source interface {
	PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error)
}

// Cache keeps lookups across warm invocations: bounded in entries, with separate lifetimes for found and
// not-found answers (a close loaded later is picked up within NegativeTTL), and one source query for any number
// of concurrent misses of the same key. Errors are never cached.
type Cache struct {
	src         Source
	maxEntries  int
	ttl         time.Duration
	negativeTTL time.Duration
	now         func() time.Time

	mu      sync.RWMutex
	entries map[cacheKey]cacheEntry
	group   singleflight.Group
}

type cacheKey struct {
	symbol string
	before bar.Date
}

type cacheEntry struct {
	close   float64
	ok      bool
	expires time.Time
}

// CacheOptions tune a Cache; zero values take the defaults.
type CacheOptions struct {
	MaxEntries  int           // default 100,000
	TTL         time.Duration // found closes; default 15 minutes
	NegativeTTL time.Duration // "no close known"; default 1 minute
	Now         func() time.Time
}

// NewCache wraps src.
func NewCache(src Source, o CacheOptions) *Cache {
	c := &Cache{src: src, maxEntries: o.MaxEntries, ttl: o.TTL, negativeTTL: o.NegativeTTL, now: o.Now,
		entries: make(map[cacheKey]cacheEntry)}
	if c.maxEntries <= 0 {
		c.maxEntries = 100_000
	}
	if c.ttl <= 0 {
		c.ttl = 15 * time.Minute
	}
	if c.negativeTTL <= 0 {
		c.negativeTTL = time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// PrevClose answers from the cache or, on a miss, from the source.
func (c *Cache) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	k := cacheKey{symbol, before}
	now := c.now()
	c.mu.RLock()
	e, hit := c.entries[k]
	c.mu.RUnlock()
	if hit && now.Before(e.expires) {
		return e.close, e.ok, nil
	}
	v, err, _ := c.group.Do(symbol+"|"+before.String(), func() (any, error) {
		close, ok, err := c.src.PrevClose(ctx, symbol, before)
		if err != nil {
			return nil, err
		}
		ttl := c.ttl
		if !ok {
			ttl = c.negativeTTL
		}
		e := cacheEntry{close: close, ok: ok, expires: c.now().Add(ttl)}
		c.mu.Lock()
		if _, present := c.entries[k]; !present && len(c.entries) >= c.maxEntries {
			for old := range c.entries { // map order is random: evict an arbitrary entry
				delete(c.entries, old)
				break
			}
		}
		c.entries[k] = e
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return 0, false, err
	}
	e = v.(cacheEntry)
	return e.close, e.ok, nil
}

// Len is the number of cached answers.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
