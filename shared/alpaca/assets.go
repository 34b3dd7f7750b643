package alpaca

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	trading "github.com/alpacahq/alpaca-trade-api-go/v3/alpaca"
)

// Assets reads the trading API's asset list: the symbols listed and tradable now, which is what "every symbol"
// (SYMBOLS=*) means when a gap is backfilled.
type Assets struct {
	opts trading.ClientOpts
}

// NewAssets builds an asset-list client for c (its APIURL and credentials). It does not retry on its own
// (RetryLimit -1; the SDK's 0 means 3 retries with 1 s sleeps): callers retry with their own backoff and context.
func NewAssets(c Config, timeout time.Duration) *Assets {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Assets{opts: trading.ClientOpts{
		APIKey:     c.Key,
		APISecret:  c.Secret,
		BaseURL:    c.APIURL,
		RetryLimit: -1,
		HTTPClient: &http.Client{Timeout: timeout},
	}}
}

// Tradable returns the symbols of the active US equities Alpaca lists as tradable, sorted, without duplicates.
func (a *Assets) Tradable(ctx context.Context) ([]string, error) {
	// canceled on return: releases what the request registered on ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := a.opts
	hc := *opts.HTTPClient
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = ctxTransport{ctx: ctx, next: next}
	opts.HTTPClient = &hc
	assets, err := trading.NewClient(opts).GetAssets(trading.GetAssetsRequest{
		Status: string(trading.AssetActive), AssetClass: string(trading.USEquity),
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = errors.Join(err, cerr)
		}
		return nil, fmt.Errorf("asset list: %w", err)
	}
	out := make([]string, 0, len(assets))
	for _, as := range assets {
		// the filters were asked for; checked again so that a server ignoring them cannot widen the list
		if as.Tradable && as.Status == trading.AssetActive && as.Class == trading.USEquity && as.Symbol != "" {
			out = append(out, as.Symbol)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
