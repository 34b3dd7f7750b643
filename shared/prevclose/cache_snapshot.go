package prevclose

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

// SnapshotReader is a source that reads every symbol's latest close before a date at once (DynamoDB does).
type SnapshotReader interface {
	Snapshot(ctx context.Context, before bar.Date) (Snapshot, error)
}

var _ SnapshotReader = (*DynamoDB)(nil)

// snapEntry is the snapshot known for one trading date.
type snapEntry struct {
	snap       Snapshot
	refreshAt  time.Time // jittered: a background refresh starts on the first lookup after it
	expires    time.Time // not served after it without reading the snapshot again
	refreshing bool
}

// snapCall is one snapshot read in flight; done is closed when snap and err are set.
type snapCall struct {
	done chan struct{}
	snap Snapshot
	err  error
}

// fromSnapshots answers the lookups a snapshot holds into found and returns the others. A snapshot past its
// lifetime is read again first; if that fails, the known one is served and counted as stale.
func (c *Cache) fromSnapshots(ctx context.Context, lookups []enrich.Lookup, found map[enrich.Lookup]float64) ([]enrich.Lookup, error) {
	byDate := make(map[bar.Date][]enrich.Lookup)
	var dates []bar.Date
	for _, l := range lookups {
		if _, ok := byDate[l.Before]; !ok {
			dates = append(dates, l.Before)
		}
		byDate[l.Before] = append(byDate[l.Before], l)
	}
	var rest []enrich.Lookup
	for _, day := range dates {
		snap, stale, ok, err := c.snapshot(ctx, day)
		if err != nil {
			return nil, err
		}
		if !ok { // nothing known and the read failed: the per-lookup path reports or covers it
			rest = append(rest, byDate[day]...)
			continue
		}
		served := make(map[string]bool, len(byDate[day]))
		for _, l := range byDate[day] {
			v, hit := snap.Closes[l.Symbol]
			switch {
			case hit:
				found[l] = v
			case !snap.Complete:
				rest = append(rest, l)
				continue
			}
			if stale && !served[l.Symbol] {
				c.stale.Add(1)
			}
			served[l.Symbol] = true
		}
	}
	return rest, nil
}

// snapshot returns the snapshot for lookups before day: the cached one (starting a background refresh when it is
// due), or one read now. stale: the read failed and an expired one is served. ok false: nothing is known.
func (c *Cache) snapshot(ctx context.Context, day bar.Date) (snap Snapshot, stale, ok bool, err error) {
	now := c.now()
	c.mu.Lock()
	e := c.snaps[day]
	if e != nil && now.Before(e.expires) {
		snap = e.snap
		if !now.Before(e.refreshAt) && !e.refreshing {
			e.refreshing = true
			c.background.Go(func() { c.refreshSnapshot(day) })
		}
		c.mu.Unlock()
		return snap, false, true, nil
	}
	var known *Snapshot
	if e != nil {
		known = &e.snap
	}
	cl, waiting := c.snapCalls[day]
	if !waiting {
		cl = &snapCall{done: make(chan struct{})}
		c.snapCalls[day] = cl
	}
	c.mu.Unlock()
	if !waiting {
		start := c.now()
		cl.snap, cl.err = c.snapshots.Snapshot(ctx, day)
		c.mu.Lock()
		delete(c.snapCalls, day)
		if cl.err == nil {
			c.storeSnapshot(day, cl.snap, start)
		}
		c.mu.Unlock()
		close(cl.done)
	}
	select {
	case <-cl.done:
	case <-ctx.Done():
		return Snapshot{}, false, false, fmt.Errorf("previous-close snapshot before %s: %w", day, ctx.Err())
	}
	switch {
	case cl.err == nil:
		return cl.snap, false, true, nil
	case known != nil:
		return *known, true, true, nil
	default:
		return Snapshot{}, false, false, nil
	}
}

// refreshSnapshot reads day's snapshot again without holding up lookups, which are served the known one.
func (c *Cache) refreshSnapshot(day bar.Date) {
	ctx, cancel := context.WithTimeout(context.Background(), c.refreshTimeout)
	defer cancel()
	start := c.now()
	snap, err := c.snapshots.Snapshot(ctx, day)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.storeSnapshot(day, snap, start)
	} else if e, ok := c.snaps[day]; ok {
		e.refreshing = false // the next lookup tries again; at expiry it reads through
	}
}

// storeSnapshot caches a snapshot read by a request that started at start, evicting the oldest trading date
// beyond maxSnapshots. Callers hold c.mu.
func (c *Cache) storeSnapshot(day bar.Date, snap Snapshot, start time.Time) {
	ttl := c.ttl
	if !snap.Complete {
		ttl = c.negativeTTL // no snapshot or a torn one: look again soon
	}
	if _, present := c.snaps[day]; !present && len(c.snaps) >= c.maxSnapshots {
		var oldest bar.Date
		first := true
		for d := range c.snaps {
			if first || d.Before(oldest) {
				oldest, first = d, false
			}
		}
		delete(c.snaps, oldest)
	}
	jitter := time.Duration(float64(ttl) * (0.5 + 0.4*rand.Float64()))
	c.snaps[day] = &snapEntry{snap: snap, refreshAt: start.Add(jitter), expires: start.Add(ttl)}
}
