package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Assets lists the symbols listed and tradable now (alpaca.Assets): with every symbol subscribed, a gap is
// backfilled for these.
type Assets interface {
	Tradable(ctx context.Context) ([]string, error)
}

// errNoAssets means an asset list came back empty: kept as a failure, so a previous list stays in use.
var errNoAssets = errors.New("asset list is empty")

// gapSymbols are the symbols a backfill asks for: the configured ones; or, with every symbol subscribed, the
// tradable ones (the cached asset list) and those seen on the stream.
func (in *Ingester) gapSymbols(ctx context.Context) []string {
	if in.Symbols != nil {
		return in.Symbols
	}
	seen := in.seenSymbols()
	if in.Assets == nil {
		return seen
	}
	listed, err := in.listedSymbols(ctx)
	if err != nil {
		in.Log.Error("asset list unavailable: backfill limited to the symbols seen on the stream", "seen", len(seen), "err", err)
	}
	return union(listed, seen)
}

// knownSymbols is gapSymbols without fetching anything: for the log of a gap that will not be backfilled.
func (in *Ingester) knownSymbols() []string {
	if in.Symbols != nil {
		return in.Symbols
	}
	in.assetsMu.Lock()
	listed := in.listed
	in.assetsMu.Unlock()
	return union(listed, in.seenSymbols())
}

// listedSymbols returns the asset list, fetched again once older than AssetsRefresh. A failed refresh is counted
// in BackfillErrors and keeps the previous list; with no list yet, the fetch is retried with backoff like a bar
// fetch, and an error means none could be had. Only the backfill loop calls it.
func (in *Ingester) listedSymbols(ctx context.Context) ([]string, error) {
	in.assetsMu.Lock()
	listed, at := in.listed, in.listedAt
	in.assetsMu.Unlock()
	if listed != nil && in.now().Sub(at) < in.AssetsRefresh {
		return listed, nil
	}
	attempts := 1 // a list in hand: try again at the next backfill rather than hold this one up
	if listed == nil {
		attempts = in.BackfillAttempts
	}
	var err error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 && !sleep(ctx, in.backoff(attempt-1)) {
			err = errors.Join(err, ctx.Err())
			break
		}
		var got []string
		if got, err = in.Assets.Tradable(ctx); err == nil && len(got) == 0 {
			err = errNoAssets
		}
		if err == nil {
			in.assetsMu.Lock()
			in.listed, in.listedAt = got, in.now()
			in.assetsMu.Unlock()
			in.Log.Info("asset list fetched", "tradable", len(got), "previous", len(listed))
			return got, nil
		}
		in.Metrics.BackfillErrors.Add(1)
		in.Log.Warn("asset list fetch failed", "attempt", attempt+1, "err", err)
		if ctx.Err() != nil {
			break
		}
	}
	if listed != nil {
		in.Log.Warn("asset list refresh failed: keeping the previous list", "tradable", len(listed), "fetchedAt", at, "err", err)
		return listed, nil
	}
	return nil, fmt.Errorf("asset list: no list after %d attempts: %w", attempts, err)
}

// union merges two sorted lists of symbols, without duplicates.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
