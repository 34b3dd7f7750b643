package prevclose

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

var _ enrich.PrevCloses = (*DynamoDB)(nil)

// defaultParallel bounds the per-symbol queries in flight for the lookups a snapshot does not answer.
const defaultParallel = 32

// PrevCloses answers a batch of lookups in a handful of requests: per distinct trading date, the newest
// snapshot dated before it (one Query and one BatchGetItem per 100 further chunks), then one Query per symbol
// the snapshot does not hold, at most Parallel at a time.
func (d *DynamoDB) PrevCloses(ctx context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	found := make(map[enrich.Lookup]float64, len(lookups))
	byDate := make(map[bar.Date][]enrich.Lookup)
	seen := make(map[enrich.Lookup]bool, len(lookups))
	for _, l := range lookups {
		if !seen[l] {
			seen[l] = true
			byDate[l.Before] = append(byDate[l.Before], l)
		}
	}
	dates := make([]bar.Date, 0, len(byDate))
	for day := range byDate {
		dates = append(dates, day)
	}
	slices.SortFunc(dates, compareDates)
	var rest []enrich.Lookup
	for _, day := range dates {
		snap, err := d.Snapshot(ctx, day)
		if err != nil {
			return nil, err
		}
		for _, l := range byDate[day] {
			if v, ok := snap.Closes[l.Symbol]; ok {
				found[l] = v
				continue
			}
			rest = append(rest, l)
		}
	}
	if err := d.queryEach(ctx, rest, found); err != nil {
		return nil, err
	}
	return found, nil
}

// queryEach answers lookups one Query each, bounded in parallel, into found.
func (d *DynamoDB) queryEach(ctx context.Context, lookups []enrich.Lookup, found map[enrich.Lookup]float64) error {
	if len(lookups) == 0 {
		return nil
	}
	limit := d.Parallel
	if limit <= 0 {
		limit = defaultParallel
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, l := range lookups {
		g.Go(func() error {
			v, ok, err := d.PrevClose(gctx, l.Symbol, l.Before)
			if err != nil || !ok {
				return err
			}
			mu.Lock()
			found[l] = v
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%d lookups without a snapshot: %w", len(lookups), err)
	}
	return nil
}
