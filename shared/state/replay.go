package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/kafka"
)

var _ Source = (*Kafka)(nil)

// Kafka replays raw partitions with the function's own Kafka settings: a direct partition read (no consumer
// group, nothing committed) from a start offset up to the batch's first offset.
type Kafka struct {
	cfg  kafka.Config
	deps kafka.Deps
	opts []kgo.Opt
}

// NewKafka returns a replay source that connects as cfg (a client per replay, closed after it).
func NewKafka(cfg kafka.Config, deps kafka.Deps, opts ...kgo.Opt) *Kafka {
	return &Kafka{cfg: cfg, deps: deps, opts: opts}
}

// Replay implements Source. It stops at the first record at or past to (the batch's own records are there, so
// a replay always ends); ctx bounds it.
func (k *Kafka) Replay(ctx context.Context, topic string, partition int32, from, to int64, fn func(offset int64, value []byte)) error {
	if to <= 0 || (from >= 0 && from >= to) {
		return nil
	}
	start := kgo.NewOffset().AtStart()
	if from >= 0 {
		start = kgo.NewOffset().At(from)
	}
	opts := append([]kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: start}}),
		kgo.FetchMaxWait(250 * time.Millisecond),
		kgo.FetchMaxPartitionBytes(16 << 20),
	}, k.opts...)
	cl, err := kafka.NewClient(ctx, k.cfg, k.deps, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay bounded by its context: %w", err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("fetch: %w", ferr)
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done || r.Offset >= to {
				done = true
				return
			}
			fn(r.Offset, r.Value)
			if r.Offset == to-1 {
				done = true
			}
		})
		if done {
			return nil
		}
	}
}
