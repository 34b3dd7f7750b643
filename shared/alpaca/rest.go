package alpaca

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/alpacahq/alpaca-trade-api-go/v3/marketdata"

	"github.com/finfeed/finfeed/shared/bar"
)

// REST reads historical bars. The SDK client takes no context: each call gets a client whose transport ends its
// requests when the call's context ends, besides the HTTP timeout.
type REST struct {
	opts marketdata.ClientOpts
	feed string
	// closeFeed is where daily closes come from: always the consolidated tape (see DailyCloses).
	closeFeed string
	// ChunkSize is how many symbols one request names (default 100: keeps URLs short).
	ChunkSize int
	// PageLimit is how many bars one page of a request holds (default DefaultPageLimit; Alpaca serves at most
	// 10000). The SDK follows the pages of one request.
	PageLimit int
}

// DefaultPageLimit is the default page size of REST bar requests.
const DefaultPageLimit = 1000

// NewREST builds a REST client for c. It does not retry on its own (RetryLimit -1; the SDK's 0 means 10
// retries with 1 s sleeps): callers retry with their own backoff and context.
func NewREST(c Config, timeout time.Duration) *REST {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	feed, closeFeed := c.Feed, FeedSIP
	if feed == FeedTest {
		feed, closeFeed = "", "" // the test stream has no REST twin: let the server pick its default feed
	}
	return &REST{
		opts: marketdata.ClientOpts{
			APIKey:     c.Key,
			APISecret:  c.Secret,
			BaseURL:    c.DataURL,
			RetryLimit: -1,
			HTTPClient: &http.Client{Timeout: timeout},
		},
		feed:      feed,
		closeFeed: closeFeed,
	}
}

// client is the SDK client for one call: its requests end when ctx does.
func (r *REST) client(ctx context.Context) *marketdata.Client {
	opts := r.opts
	hc := *opts.HTTPClient
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = ctxTransport{ctx: ctx, next: next}
	opts.HTTPClient = &hc
	return marketdata.NewClient(opts)
}

// ctxTransport ends each request when ctx ends, keeping the request's own context (the HTTP timeout).
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rctx, cancel := context.WithCancelCause(req.Context())
	// released when the request's context ends (the body is closed) or the call's does (each returns)
	context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	return t.next.RoundTrip(req.WithContext(rctx))
}

// MinuteBars returns the raw (unadjusted, as the stream sends them) 1Min bars of symbols that start in
// [from, to), ordered by start time then symbol.
func (r *REST) MinuteBars(ctx context.Context, symbols []string, from, to time.Time) ([]bar.Raw, error) {
	var out []bar.Raw
	err := r.each(ctx, symbols, marketdata.GetBarsRequest{
		TimeFrame: marketdata.OneMin, Adjustment: marketdata.AdjustmentRaw,
		Start: from, End: to.Add(-time.Nanosecond), Feed: r.feed,
	}, func(symbol string, b marketdata.Bar) {
		if !b.Timestamp.Before(from) && b.Timestamp.Before(to) {
			out = append(out, fromREST(symbol, b))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("minute bars %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Symbol < out[j].Symbol
	})
	return out, nil
}

// DailyClose is one symbol's split-adjusted close on one New York trading date.
type DailyClose struct {
	Symbol string
	Date   bar.Date
	Close  float64
}

// DailyCloses returns the 1Day bars of symbols with New York trading dates in [from, to], adjusted for splits
// as Alpaca knows them at the time of the call. They always come from the consolidated tape (SIP), whatever feed
// the stream uses: the previous close is the official close (the closing auction), which IEX-only daily bars do
// not carry. Every Alpaca plan serves SIP history older than 15 minutes, and the loader's runs are at least 30
// minutes after the close.
func (r *REST) DailyCloses(ctx context.Context, symbols []string, from, to bar.Date) ([]DailyClose, error) {
	start := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, bar.NewYork)
	end := time.Date(to.Year, to.Month, to.Day, 23, 59, 59, 0, bar.NewYork)
	var out []DailyClose
	err := r.each(ctx, symbols, marketdata.GetBarsRequest{
		TimeFrame: marketdata.OneDay, Adjustment: marketdata.AdjustmentSplit,
		Start: start, End: end, Feed: r.closeFeed,
	}, func(symbol string, b marketdata.Bar) {
		d := bar.TradingDate(b.Timestamp)
		if !d.Before(from) && !to.Before(d) {
			out = append(out, DailyClose{Symbol: symbol, Date: d, Close: b.Close})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("daily bars %s..%s: %w", from, to, err)
	}
	return out, nil
}

func (r *REST) each(ctx context.Context, symbols []string, req marketdata.GetBarsRequest, fn func(string, marketdata.Bar)) error {
	chunk := r.ChunkSize
	if chunk <= 0 {
		chunk = 100
	}
	req.PageLimit = r.PageLimit
	if req.PageLimit <= 0 {
		req.PageLimit = DefaultPageLimit
	}
	// canceled on return: releases what each request registered on ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := r.client(ctx)
	for start := 0; start < len(symbols); start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := symbols[start:min(start+chunk, len(symbols))]
		got, err := client.GetMultiBars(part, req)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				return errors.Join(err, cerr)
			}
			return err
		}
		for _, s := range part {
			for _, b := range got[s] {
				fn(s, b)
			}
		}
	}
	return nil
}

func fromREST(symbol string, b marketdata.Bar) bar.Raw {
	return Raw(symbol, b.Open, b.High, b.Low, b.Close, float64(b.Volume), float64(b.TradeCount), b.VWAP, b.Timestamp)
}
