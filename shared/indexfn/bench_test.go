package indexfn_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/search"
)

// acceptAll indexes nothing and accepts everything: the benchmark measures the handler's own work (base64,
// decode, document encoding), not a server.
type acceptAll struct{}

func (acceptAll) Bulk(_ context.Context, docs []search.Doc) (search.Result, error) {
	return search.Result{Indexed: len(docs), Requests: 1}, nil
}

type discard struct{}

func (discard) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	promise(r, nil)
}
func (discard) Flush(context.Context) error { return nil }

func BenchmarkHandle(b *testing.B) {
	evs, _ := jpmEvents(b, 870)
	if len(evs) != 1 {
		b.Fatalf("fixture events: got %d batches, want 1", len(evs))
	}
	ev := evs[0]
	n := 0
	for _, recs := range ev.Records {
		n += len(recs)
	}
	h := indexfn.NewHandler(acceptAll{}, discard{}, naming(""), "enhanced.dlq", quietLog())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.Handle(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
