package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// prevCloseTable is the DynamoDB previous-close store of `feed local --prev-closes-table` and `feed bench
// --prev-closes-table`, wired as functions/enrich wires it (enrichfn.New): the SDK's default configuration
// (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, the credential chain), a prevclose.DynamoDB on the table, and a
// prevclose.Cache in front per execution environment. Every HTTP request the SDK sends is counted (retries
// too), and may be delayed to simulate the network between Lambda and DynamoDB.
type prevCloseTable struct {
	name     string
	client   *dynamodb.Client
	store    *prevclose.DynamoDB
	requests atomic.Int64
}

// openPrevCloseTable builds the client; latency is added before each request (0: none).
func openPrevCloseTable(ctx context.Context, name string, latency time.Duration) (*prevCloseTable, error) {
	t := &prevCloseTable{name: name}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("--prev-closes-table %s: %w", name, err)
	}
	t.client = dynamodb.NewFromConfig(cfg.AWS, func(o *dynamodb.Options) {
		o.HTTPClient = &countingHTTP{next: o.HTTPClient, latency: latency, n: &t.requests}
	})
	t.store = prevclose.NewDynamoDB(t.client, name)
	return t, nil
}

// cache is the store one warm execution environment reads through: the Lambda's cache with its defaults, on
// the given clock (nil: the wall clock).
func (t *prevCloseTable) cache(now func() time.Time) *prevclose.Cache {
	return prevclose.NewCache(t.store, prevclose.CacheOptions{Now: now})
}

// Requests is how many HTTP requests the client has sent so far.
func (t *prevCloseTable) Requests() int64 { return t.requests.Load() }

// seed creates the table unless it exists, writes closes into it and rebuilds its snapshots.
func (t *prevCloseTable) seed(ctx context.Context, closes []prevclose.Close) error {
	if err := prevclose.CreateTable(ctx, t.client, t.name); err != nil {
		return fmt.Errorf("--seed: %w", err)
	}
	if err := t.store.Put(ctx, closes); err != nil {
		return fmt.Errorf("--seed: %w", err)
	}
	// the per-date snapshots the enrich function's batch lookups read, as the loader rebuilds them
	symbols := make([]string, 0, len(closes))
	for _, c := range closes {
		symbols = append(symbols, c.Symbol)
	}
	if _, err := t.store.RebuildSnapshots(ctx, symbols); err != nil {
		return fmt.Errorf("--seed: %w", err)
	}
	return nil
}

// countingHTTP counts and optionally delays the SDK's HTTP requests.
type countingHTTP struct {
	next    aws.HTTPClient
	latency time.Duration
	n       *atomic.Int64
}

func (c *countingHTTP) Do(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if c.latency > 0 {
		t := time.NewTimer(c.latency)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, fmt.Errorf("dynamodb request: %w", req.Context().Err())
		case <-t.C:
		}
	}
	return c.next.Do(req)
}
