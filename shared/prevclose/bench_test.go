package prevclose_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// ddbLatency is the round trip added to every DynamoDB request, about what a Lambda sees in its region.
const ddbLatency = 4 * time.Millisecond

// slowNetwork adds ddbLatency to every request and counts them (SDK retries included).
type slowNetwork struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (s *slowNetwork) RoundTrip(req *http.Request) (*http.Response, error) {
	s.n.Add(1)
	t := time.NewTimer(ddbLatency)
	defer t.Stop()
	select {
	case <-req.Context().Done():
		return nil, req.Context().Err()
	case <-t.C:
	}
	return s.next.RoundTrip(req)
}

// BenchmarkColdBatch8k: one MSK batch's lookups for 8,000 distinct symbols through the enrich function's store
// (Cache over DynamoDB) on dynalite with 4 ms added per request. cold_ms is a new execution environment (empty
// cache), warm_ms the next batch, ddb_requests the cold batch's requests; nosnapshot_ms (measured once) is the
// same cold batch for a date no snapshot covers, answered by bounded-parallel per-symbol queries.
func BenchmarkColdBatch8k(b *testing.B) {
	m := newMarket(b, 8000)
	opts := m.db.Client.(*dynamodb.Client).Options()
	net := &slowNetwork{next: http.DefaultTransport}
	opts.HTTPClient = &http.Client{Transport: net}
	client := dynamodb.New(opts)
	ctx := context.Background()

	// the fallback path, once: lookups before the oldest snapshot
	old := make([]enrich.Lookup, len(m.lookups))
	for i, l := range m.lookups {
		old[i] = enrich.Lookup{Symbol: l.Symbol, Before: d("2024-07-09")}
	}
	start := time.Now()
	if _, err := prevclose.NewDynamoDB(client, m.db.Table).PrevCloses(ctx, old); err != nil {
		b.Fatal(err)
	}
	noSnapshot := time.Since(start)

	var cold, warm time.Duration
	var requests int64
	b.ResetTimer()
	for b.Loop() {
		cache := prevclose.NewCache(prevclose.NewDynamoDB(client, m.db.Table), prevclose.CacheOptions{})
		before := net.n.Load()
		start := time.Now()
		got, err := cache.PrevCloses(ctx, m.lookups)
		cold += time.Since(start)
		requests += net.n.Load() - before
		if err != nil {
			b.Fatal(err)
		}
		m.check(b, got)
		start = time.Now()
		if got, err = cache.PrevCloses(ctx, m.lookups); err != nil {
			b.Fatal(err)
		}
		warm += time.Since(start)
		m.check(b, got)
	}
	n := float64(b.N)
	b.ReportMetric(float64(cold.Microseconds())/1000/n, "cold_ms")
	b.ReportMetric(float64(warm.Microseconds())/1000/n, "warm_ms")
	b.ReportMetric(float64(requests)/n, "ddb_requests")
	b.ReportMetric(float64(noSnapshot.Milliseconds()), "nosnapshot_ms")
}
