package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer is the part of a Kafka client ProduceAll writes with (a *kgo.Client).
type Producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	Flush(ctx context.Context) error
}

// ErrProduce wraps a failure to write records: transient, so the caller's whole batch should be retried.
var ErrProduce = errors.New("produce failed")

// ProduceAll writes recs (in order per partition) and waits until every one is acknowledged or has failed.
func ProduceAll(ctx context.Context, p Producer, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		mu       sync.Mutex
		firstErr error
		failed   int
	)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("topic %s: %w", r.Topic, err)
			}
			failed++
			mu.Unlock()
		}
	}
	for _, r := range recs {
		p.Produce(ctx, r, promise)
	}
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("%w: flush: %w", ErrProduce, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return fmt.Errorf("%w: %d of %d records not written: %w", ErrProduce, failed, len(recs), firstErr)
	}
	return nil
}
