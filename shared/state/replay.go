package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
	return &Kafka{cfg: cfg, deps: deps, opts: append([]kgo.Opt{
		kgo.FetchMaxWait(250 * time.Millisecond),
		kgo.FetchMaxPartitionBytes(16 << 20),
	}, opts...)}
}

// Replay implements Source. It first asks for the partition's start and end offsets, so it reads only records
// that exist (a partition whose log ends before to, as under `sam local invoke` with a made-up event, gives what
// it has); ctx bounds it.
func (k *Kafka) Replay(ctx context.Context, topic string, partition int32, from, to int64, fn func(offset int64, written time.Time, value []byte)) error {
	if to <= 0 || (from >= 0 && from >= to) {
		return nil
	}
	cl, err := kafka.NewClient(ctx, k.cfg, k.deps, k.opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	start, end, err := bounds(ctx, cl, topic, partition)
	if err != nil {
		return err
	}
	first := max(from, start)
	stop := min(to, end)
	if first >= stop {
		return nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(first)}})
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
			if done || r.Offset >= stop {
				done = true
				return
			}
			fn(r.Offset, r.Timestamp, r.Value)
			if r.Offset == stop-1 {
				done = true
			}
		})
		if done {
			return nil
		}
	}
}

// bounds returns the partition's log start offset and its end (the next offset to be written).
func bounds(ctx context.Context, cl *kgo.Client, topic string, partition int32) (start, end int64, err error) {
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("start offset of %s/%d: %w", topic, partition, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("end offset of %s/%d: %w", topic, partition, err)
	}
	s, ok := starts.Lookup(topic, partition)
	e, ok2 := ends.Lookup(topic, partition)
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("%s/%d: no such partition", topic, partition)
	}
	return s.Offset, e.Offset, nil
}
