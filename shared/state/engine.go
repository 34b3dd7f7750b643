// Package state keeps the enrich function's per-partition state (indicator series, candles) exact across
// batches, retries and containers: the fold of a raw partition lives in memory, is checkpointed to a Store every
// few minutes of bar time, and a container whose memory does not end where a batch starts loads the newest
// checkpoint below the batch and replays the partition from Kafka up to it (checkpoint + replay).
package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Fold is the state of one raw partition: a deterministic fold over its valid records in offset order.
type Fold interface {
	// Replay applies one raw record's value, written at written (the Kafka record's timestamp), as the handler
	// applies it (a record the handler rejects leaves the fold unchanged).
	Replay(value []byte, written time.Time)
	// Time is the bar time of the newest record applied (zero before any): the checkpoint policy's clock.
	Time() time.Time
	// AppendBinary appends the fold's encoding, versioned by the fold itself.
	AppendBinary(dst []byte) []byte
}

// Codec makes folds: an empty one (no record applied) and one decoded from AppendBinary's bytes.
type Codec[F Fold] struct {
	New    func() F
	Decode func(src []byte) (F, error)
}

// Source reads a raw partition for a replay: the records with from <= offset < to in offset order (from < 0:
// from the partition's earliest available record), each handed to fn with its timestamp.
type Source interface {
	Replay(ctx context.Context, topic string, partition int32, from, to int64, fn func(offset int64, written time.Time, value []byte)) error
}

// DefaultCheckpointEvery is how much bar time passes between two checkpoints of a partition by default.
const DefaultCheckpointEvery = 5 * time.Minute

// maxFallbacks is how many malformed checkpoints a cold start passes over before it replays the whole partition.
const maxFallbacks = 3

// putTimeout bounds a checkpoint write, so a slow store delays a batch by at most this much.
const putTimeout = 5 * time.Second

// DefaultProgressEvery is how much wall time a replay runs between two progress checkpoints by default.
const DefaultProgressEvery = 15 * time.Second

// Options configure an engine.
type Options struct {
	// CheckpointEvery is the bar time between two checkpoints of a partition; 0 checkpoints after every batch.
	CheckpointEvery time.Duration
	// ProgressEvery is the wall time between two progress checkpoints of a long replay (0: DefaultProgressEvery).
	// A replay longer than the function's timeout (no checkpoint, or a new fold version, and days of raw) is
	// then cut short by its context, fails its batch, and the retry goes on from the newest progress checkpoint
	// instead of starting over: every attempt moves the partition forward.
	ProgressEvery time.Duration
	Log           *slog.Logger
	// Now is the clock for ProgressEvery (nil: time.Now); tests make it tick.
	Now func() time.Time
}

// Stats count what the engine did, for logs and tests.
type Stats struct {
	Warm               int64 // batches that found their fold in memory
	Cold               int64 // batches that loaded a checkpoint or replayed from the start
	FromCheckpoint     int64 // cold batches that started from a checkpoint
	FullReplays        int64 // cold batches with no usable checkpoint: replayed from the earliest offset
	NewPartitions      int64 // cold batches at offset 0 with no checkpoint: a partition's first batch, empty fold
	Malformed          int64 // checkpoints that could not be decoded (passed over)
	Replayed           int64 // raw records replayed
	Checkpoints        int64 // checkpoints written
	CheckpointFailures int64 // checkpoint writes that failed (logged; the batch still succeeded)
	// ProgressCheckpoints are the checkpoints written in the middle of long replays (counted in Checkpoints too).
	ProgressCheckpoints int64
}

// Engine holds the folds of the partitions this container processes.
type Engine[F Fold] struct {
	codec  Codec[F]
	store  Store
	source Source
	every  time.Duration
	// progress is the wall time between two progress checkpoints of a replay; now is its clock.
	progress time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu  sync.Mutex
	mem map[partitionKey]*entry[F]

	warm, cold, fromCheckpoint, fullReplays, malformed, replayed, checkpoints, checkpointFailures atomic.Int64
	progressCheckpoints, newPartitions                                                            atomic.Int64
}

type partitionKey struct {
	topic     string
	partition int32
}

type entry[F Fold] struct {
	fold F
	next int64
	// checkpointed is the fold's bar time at its newest checkpoint (zero: none yet).
	checkpointed time.Time
}

// New builds an engine on a checkpoint store and a replay source.
func New[F Fold](codec Codec[F], store Store, source Source, opts Options) (*Engine[F], error) {
	var errs []error
	if codec.New == nil || codec.Decode == nil {
		errs = append(errs, errors.New("state: codec needs New and Decode"))
	}
	if store == nil {
		errs = append(errs, errors.New("state: no checkpoint store"))
	}
	if source == nil {
		errs = append(errs, errors.New("state: no replay source"))
	}
	if opts.CheckpointEvery < 0 {
		errs = append(errs, fmt.Errorf("state: checkpoint interval %v is negative", opts.CheckpointEvery))
	}
	if opts.ProgressEvery < 0 {
		errs = append(errs, fmt.Errorf("state: progress interval %v is negative", opts.ProgressEvery))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress, now := opts.ProgressEvery, opts.Now
	if progress == 0 {
		progress = DefaultProgressEvery
	}
	if now == nil {
		now = time.Now
	}
	return &Engine[F]{codec: codec, store: store, source: source, every: opts.CheckpointEvery, progress: progress,
		now: now, log: log, mem: make(map[partitionKey]*entry[F])}, nil
}

// Lease is a partition's fold held by one batch: Begin hands it out, Commit returns it to memory. Memory does
// not hold it meanwhile, so a batch that fails (and never commits) leaves nothing behind: its retry takes the
// checkpoint path and never sees the failed attempt's state.
type Lease[F Fold] struct {
	// Fold is the partition's state at Offset; the batch applies its records to it in offset order.
	Fold      F
	Topic     string
	Partition int32
	// Offset is the batch's first offset in the partition.
	Offset       int64
	checkpointed time.Time
}

// Begin returns the fold of topic/partition as of offset (every record below it applied): from memory when
// memory ends exactly there, else from the newest checkpoint at or below offset plus a replay of the partition
// up to offset-1. An error (store or Kafka unavailable, context done) means the batch must fail and be retried.
func (e *Engine[F]) Begin(ctx context.Context, topic string, partition int32, offset int64) (*Lease[F], error) {
	k := partitionKey{topic, partition}
	e.mu.Lock()
	ent := e.mem[k]
	delete(e.mem, k)
	e.mu.Unlock()
	if ent != nil && ent.next == offset {
		e.warm.Add(1)
		return &Lease[F]{Fold: ent.fold, Topic: topic, Partition: partition, Offset: offset, checkpointed: ent.checkpointed}, nil
	}
	e.cold.Add(1)
	fold, from, err := e.checkpoint(ctx, topic, partition, offset)
	if err != nil {
		return nil, err
	}
	l := &Lease[F]{Fold: fold, Topic: topic, Partition: partition, Offset: offset, checkpointed: fold.Time()}
	switch {
	case from < 0 && offset == 0: // a partition's first batch: nothing came before it, nothing to replay
		l.checkpointed = time.Time{}
		e.newPartitions.Add(1)
		e.log.InfoContext(ctx, "state: a new partition starts empty", "topic", topic, "partition", partition)
		return l, nil
	case from < 0:
		e.fullReplays.Add(1)
		l.checkpointed = time.Time{} // no checkpoint yet: the first commit writes one
		e.log.WarnContext(ctx, "state: no usable checkpoint, replaying the partition from its earliest offset",
			"topic", topic, "partition", partition, "offset", offset)
	default:
		e.fromCheckpoint.Add(1)
	}
	if from >= offset {
		return l, nil
	}
	start := time.Now()
	n := int64(0)
	saved, last := int64(-1), e.now()
	err = e.source.Replay(ctx, topic, partition, from, offset, func(o int64, written time.Time, value []byte) {
		fold.Replay(value, written)
		n++
		if now := e.now(); now.Sub(last) >= e.progress && o+1 < offset {
			last = now
			if e.saveProgress(ctx, topic, partition, o+1, fold) {
				saved = o + 1
			}
		}
	})
	e.replayed.Add(n)
	if err != nil {
		if saved >= 0 {
			return nil, fmt.Errorf("state: replay %s/%d from %d to %d (progress saved at %d, the retry goes on from there): %w",
				topic, partition, from, offset, saved, err)
		}
		return nil, fmt.Errorf("state: replay %s/%d from %d to %d: %w", topic, partition, from, offset, err)
	}
	e.log.InfoContext(ctx, "state: cold start", "topic", topic, "partition", partition, "offset", offset,
		"checkpoint", from, "replayed", n, "durationMs", time.Since(start).Milliseconds())
	return l, nil
}

// checkpoint finds the newest decodable checkpoint at or below offset. It returns the fold and the checkpoint's
// offset, or an empty fold and -1 when there is none (or only malformed ones).
func (e *Engine[F]) checkpoint(ctx context.Context, topic string, partition int32, offset int64) (F, int64, error) {
	at := offset
	for range maxFallbacks {
		if at < 0 {
			break
		}
		c, blob, found, err := e.store.Latest(ctx, topic, partition, at)
		if err != nil {
			var zero F
			return zero, 0, fmt.Errorf("state: checkpoint of %s/%d at or below %d: %w", topic, partition, at, err)
		}
		if !found {
			break
		}
		fold, err := e.decode(blob, c)
		if err == nil {
			return fold, c, nil
		}
		e.malformed.Add(1)
		e.log.ErrorContext(ctx, "state: checkpoint unusable, trying an older one", "topic", topic,
			"partition", partition, "checkpoint", c, "err", err)
		at = c - 1
	}
	return e.codec.New(), -1, nil
}

// decode reads a checkpoint blob written at offset c.
func (e *Engine[F]) decode(blob []byte, c int64) (fold F, err error) {
	next, body, err := openEnvelope(blob)
	if err != nil {
		return fold, err
	}
	if next != c {
		return fold, fmt.Errorf("%w: envelope says offset %d, stored as %d", ErrMalformed, next, c)
	}
	fold, err = e.codec.Decode(body)
	if err != nil {
		return fold, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return fold, nil
}

// Commit keeps a successful batch's fold in memory as of next (the offset after the batch's last record) and,
// when CheckpointEvery of bar time has passed since the partition's last checkpoint, writes one. A failed
// checkpoint write is logged and counted, never returned: the batch's output is already written.
func (e *Engine[F]) Commit(ctx context.Context, l *Lease[F], next int64) {
	ent := &entry[F]{fold: l.Fold, next: next, checkpointed: l.checkpointed}
	if t := l.Fold.Time(); l.checkpointed.IsZero() || t.Sub(l.checkpointed) >= e.every {
		if err := e.put(ctx, l.Topic, l.Partition, next, l.Fold); err != nil {
			e.checkpointFailures.Add(1)
			e.log.ErrorContext(ctx, "state: checkpoint not written (the next one will try again)", "topic", l.Topic,
				"partition", l.Partition, "offset", next, "err", err)
		} else {
			e.checkpoints.Add(1)
			ent.checkpointed = t
		}
	}
	e.mu.Lock()
	e.mem[partitionKey{l.Topic, l.Partition}] = ent
	e.mu.Unlock()
}

// saveProgress writes a progress checkpoint in the middle of a replay; a failure is logged and counted (the
// replay goes on, only a retry would start further back).
func (e *Engine[F]) saveProgress(ctx context.Context, topic string, partition int32, next int64, f F) bool {
	if err := e.put(ctx, topic, partition, next, f); err != nil {
		e.checkpointFailures.Add(1)
		e.log.ErrorContext(ctx, "state: progress checkpoint not written", "topic", topic, "partition", partition,
			"offset", next, "err", err)
		return false
	}
	e.checkpoints.Add(1)
	e.progressCheckpoints.Add(1)
	e.log.InfoContext(ctx, "state: replay progress saved", "topic", topic, "partition", partition, "offset", next)
	return true
}

func (e *Engine[F]) put(ctx context.Context, topic string, partition int32, next int64, f F) error {
	blob := sealEnvelope(nil, next, f)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), putTimeout)
	defer cancel()
	return e.store.Put(ctx, topic, partition, next, blob)
}

// Abort drops a failed batch's lease: memory keeps nothing of the partition, so the retry starts from a
// checkpoint. (Begin already took the fold out of memory; Abort makes the intent explicit and is idempotent.)
func (e *Engine[F]) Abort(l *Lease[F]) {
	e.mu.Lock()
	delete(e.mem, partitionKey{l.Topic, l.Partition})
	e.mu.Unlock()
}

// Stats returns the engine's counters.
func (e *Engine[F]) Stats() Stats {
	return Stats{
		Warm: e.warm.Load(), Cold: e.cold.Load(), FromCheckpoint: e.fromCheckpoint.Load(),
		FullReplays: e.fullReplays.Load(), Malformed: e.malformed.Load(), Replayed: e.replayed.Load(),
		Checkpoints: e.checkpoints.Load(), CheckpointFailures: e.checkpointFailures.Load(),
		ProgressCheckpoints: e.progressCheckpoints.Load(), NewPartitions: e.newPartitions.Load(),
	}
}
