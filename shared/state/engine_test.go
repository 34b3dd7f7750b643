package state_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/state"
)

// rawLog is a partition of raw on kfake (real TCP) and the values written to it, by offset.
type rawLog struct {
	cfg    kafka.Config
	values [][]byte
}

const testTopic = "raw"

// startRaw starts kfake with a raw topic of 2 partitions and writes n records to partition 1: one every minute
// of bar time, every 7th invalid (it must be skipped by replays as by the handler).
func startRaw(t *testing.T, n int) *rawLog {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(2, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthNone}
	cl, err := kafka.NewClient(context.Background(), cfg, kafka.Deps{}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	l := &rawLog{cfg: cfg}
	base := time.Date(2025, 6, 12, 13, 30, 0, 0, time.UTC).Unix()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		v := fmt.Sprintf("%d bar-%d", base+int64(i)*60, i)
		if i%7 == 3 {
			v = "not a bar " + v
		}
		l.values = append(l.values, []byte(v))
		recs[i] = &kgo.Record{Topic: testTopic, Partition: 1, Value: []byte(v)}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return l
}

// foldAt is the reference: the fold over the first offset records, in one pass.
func (l *rawLog) foldAt(offset int64) *sumFold {
	f := newSumFold()
	for _, v := range l.values[:offset] {
		f.Replay(v, time.Time{})
	}
	return f
}

func newEngine(t *testing.T, l *rawLog, store state.Store, every time.Duration) *state.Engine[*sumFold] {
	t.Helper()
	e, err := state.New(sumCodec, store, state.NewKafka(l.cfg, kafka.Deps{}), state.Options{
		CheckpointEvery: every, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// runBatch processes values[from:to] as one batch: Begin, apply, then Commit (or fail before committing).
func runBatch(t *testing.T, e *state.Engine[*sumFold], l *rawLog, from, to int64, fail bool) {
	t.Helper()
	lease, err := e.Begin(context.Background(), testTopic, 1, from)
	if err != nil {
		t.Fatalf("begin at %d: %v", from, err)
	}
	if want := l.foldAt(from); *lease.Fold != *want {
		t.Fatalf("begin at %d: fold %+v, want %+v", from, *lease.Fold, *want)
	}
	for _, v := range l.values[from:to] {
		lease.Fold.Replay(v, time.Time{})
	}
	if fail {
		e.Abort(lease)
		return
	}
	e.Commit(context.Background(), lease, to)
}

// TestEngineBatchesRetriesContainers runs every store through random batch splits, failed batches that are
// retried, and container changes (a new engine with empty memory on the same store and Kafka): every Begin
// must hand out exactly the fold of the records before the batch.
func TestEngineBatchesRetriesContainers(t *testing.T) {
	l := startRaw(t, 400)
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(name))))
			store := mk(t)
			e := newEngine(t, l, store, 10*time.Minute)
			var total state.Stats
			add := func(s state.Stats) {
				total.Warm += s.Warm
				total.Cold += s.Cold
				total.FromCheckpoint += s.FromCheckpoint
				total.FullReplays += s.FullReplays
				total.NewPartitions += s.NewPartitions
				total.Checkpoints += s.Checkpoints
			}
			for off := int64(0); off < int64(len(l.values)); {
				end := min(off+1+rng.Int64N(40), int64(len(l.values)))
				switch r := rng.IntN(10); {
				case r == 0: // a new container takes the partition
					add(e.Stats())
					e = newEngine(t, l, store, 10*time.Minute)
				case r == 1: // the batch fails; the event source retries it
					runBatch(t, e, l, off, end, true)
				}
				runBatch(t, e, l, off, end, false)
				off = end
			}
			add(e.Stats())
			if total.Warm == 0 || total.FromCheckpoint == 0 || total.FullReplays != 0 || total.NewPartitions == 0 || total.Checkpoints == 0 {
				t.Errorf("stats: got %+v, want warm and checkpointed starts, a new partition and no full replay", total)
			}
		})
	}
}

// TestEngineCheckpointPolicy: a checkpoint when CheckpointEvery of bar time has passed since the last one
// (the first batch of a partition without one always writes one); 0 checkpoints every batch.
func TestEngineCheckpointPolicy(t *testing.T) {
	l := startRaw(t, 120)
	for _, c := range []struct {
		every time.Duration
		want  int64
	}{{0, 12}, {5 * time.Minute, 12}, {30 * time.Minute, 4}, {3 * time.Hour, 1}} {
		e := newEngine(t, l, state.NewMemory(), c.every)
		for off := int64(0); off < 120; off += 10 {
			runBatch(t, e, l, off, off+10, false)
		}
		if got := e.Stats().Checkpoints; got != c.want {
			t.Errorf("every %v: got %d checkpoints, want %d", c.every, got, c.want)
		}
	}
}

// flakyStore fails what it is told to: a fault the real stores cannot be made to produce on demand.
type flakyStore struct {
	state.Store
	failPut, failLatest bool
}

var errInjected = errors.New("injected store fault")

func (s *flakyStore) Put(ctx context.Context, topic string, partition int32, offset int64, blob []byte) error {
	if s.failPut {
		return errInjected
	}
	return s.Store.Put(ctx, topic, partition, offset, blob)
}

func (s *flakyStore) Latest(ctx context.Context, topic string, partition int32, at int64) (int64, []byte, bool, error) {
	if s.failLatest {
		return 0, nil, false, errInjected
	}
	return s.Store.Latest(ctx, topic, partition, at)
}

// TestEngineStoreFaults: a failed checkpoint write never fails the batch (counted; memory kept); a store that
// cannot be read fails a cold batch (so it is retried) instead of guessing.
func TestEngineStoreFaults(t *testing.T) {
	l := startRaw(t, 50)
	fs := &flakyStore{Store: state.NewMemory(), failPut: true}
	e := newEngine(t, l, fs, 0)
	runBatch(t, e, l, 0, 20, false)
	runBatch(t, e, l, 20, 30, false)
	if s := e.Stats(); s.CheckpointFailures != 2 || s.Checkpoints != 0 || s.Warm != 1 {
		t.Errorf("failing puts: got %+v, want 2 failures, 0 checkpoints, the second batch warm", s)
	}
	fs.failPut = false
	runBatch(t, e, l, 30, 40, false)
	fs.failLatest = true
	e2 := newEngine(t, l, fs, 0)
	if _, err := e2.Begin(context.Background(), testTopic, 1, 40); !errors.Is(err, errInjected) {
		t.Errorf("cold begin on an unreadable store: got %v, want the store's error", err)
	}
}

// TestEngineMalformedCheckpoints: a checkpoint that cannot be read is passed over for an older one, or for a
// full replay when none is usable; the fold is exact either way and nothing panics.
func TestEngineMalformedCheckpoints(t *testing.T) {
	l := startRaw(t, 60)
	ctx := context.Background()
	blobAt := func(t *testing.T, at int64) []byte {
		t.Helper()
		m := state.NewMemory()
		e := newEngine(t, l, m, 0)
		runBatch(t, e, l, 0, at, false)
		_, b, found, err := m.Latest(ctx, testTopic, 1, at)
		if err != nil || !found {
			t.Fatalf("no checkpoint at %d: %v", at, err)
		}
		return b
	}
	valid40 := blobAt(t, 40)
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 0x40; return c }
	bad := map[string][]byte{
		"empty":          {},
		"garbage":        []byte("hello, world: not a checkpoint at all"),
		"truncated":      valid40[:len(valid40)-5],
		"bit flip":       flip(valid40, len(valid40)/2),
		"other magic":    flip(valid40, 0),
		"another offset": blobAt(t, 41), // stored under 40 below: the envelope says 41
	}
	for name, blob := range bad {
		t.Run(name, func(t *testing.T) {
			for _, withOlder := range []bool{true, false} {
				m := state.NewMemory()
				if withOlder {
					if err := m.Put(ctx, testTopic, 1, 20, blobAt(t, 20)); err != nil {
						t.Fatal(err)
					}
				}
				if err := m.Put(ctx, testTopic, 1, 40, blob); err != nil {
					t.Fatal(err)
				}
				e := newEngine(t, l, m, time.Hour)
				runBatch(t, e, l, 45, 50, false) // runBatch checks the fold is exact
				s := e.Stats()
				if s.Malformed != 1 || (withOlder && s.FromCheckpoint != 1) || (!withOlder && s.FullReplays != 1) {
					t.Errorf("older checkpoint %v: got %+v", withOlder, s)
				}
			}
		})
	}
	// a fold this build cannot decode (say, a newer fold version) inside an intact envelope
	m := state.NewMemory()
	if err := m.Put(ctx, testTopic, 1, 40, valid40); err != nil {
		t.Fatal(err)
	}
	refuse := state.Codec[*sumFold]{New: newSumFold, Decode: func([]byte) (*sumFold, error) {
		return nil, errors.New("sum fold: version 9 is newer than this build")
	}}
	e, err := state.New(refuse, m, state.NewKafka(l.cfg, kafka.Deps{}), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runBatch(t, e, l, 45, 50, false)
	if s := e.Stats(); s.Malformed != 1 || s.FullReplays != 1 {
		t.Errorf("undecodable fold: got %+v, want one malformed checkpoint and a full replay", s)
	}
}

// TestEngineOffsetReset: the event source's position moved (an operator reset the mapping backwards, or
// records were skipped): memory that does not end at the batch is not used.
func TestEngineOffsetReset(t *testing.T) {
	l := startRaw(t, 80)
	e := newEngine(t, l, state.NewMemory(), time.Hour)
	runBatch(t, e, l, 0, 30, false)
	runBatch(t, e, l, 10, 20, false) // backwards: replay from the checkpoint at 0
	runBatch(t, e, l, 50, 60, false) // forwards past memory
	runBatch(t, e, l, 60, 80, false) // warm again
	if s := e.Stats(); s.Warm != 1 || s.Cold != 3 {
		t.Errorf("got %+v, want 1 warm and 3 cold batches", s)
	}
}

// TestKafkaReplay reads exact offset ranges of a partition on kfake over TCP, from a checkpoint or from the
// earliest offset, and is bounded by its context when the range is not there.
func TestKafkaReplay(t *testing.T) {
	l := startRaw(t, 30)
	src := state.NewKafka(l.cfg, kafka.Deps{})
	ctx := context.Background()
	for _, c := range []struct {
		from, to   int64
		first, end int64
	}{{-1, 30, 0, 30}, {5, 12, 5, 12}, {-1, 1, 0, 1}, {29, 30, 29, 30}, {10, 10, 0, 0}, {-1, 0, 0, 0}} {
		var got []int64
		err := src.Replay(ctx, testTopic, 1, c.from, c.to, func(off int64, _ time.Time, v []byte) {
			if string(v) != string(l.values[off]) {
				t.Errorf("offset %d: value %q, want %q", off, v, l.values[off])
			}
			got = append(got, off)
		})
		if err != nil {
			t.Fatalf("replay [%d,%d): %v", c.from, c.to, err)
		}
		want := []int64{}
		for o := c.first; o < c.end; o++ {
			want = append(want, o)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("replay [%d,%d): got offsets %v, want %v", c.from, c.to, got, want)
		}
	}
	// a log that ends before the range does (a made-up event under sam local invoke): what exists, no wait
	var past []int64
	if err := src.Replay(ctx, testTopic, 1, 20, 100, func(off int64, _ time.Time, _ []byte) { past = append(past, off) }); err != nil || len(past) != 10 || past[0] != 20 {
		t.Errorf("replay [20,100) of 30 records: got %v, %v; want offsets 20..29", past, err)
	}
	if err := src.Replay(ctx, testTopic, 0, -1, 5, func(int64, time.Time, []byte) { t.Error("a record from the empty partition") }); err != nil {
		t.Errorf("replay of an empty partition: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := src.Replay(cctx, testTopic, 1, 0, 30, func(int64, time.Time, []byte) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("replay with a done context: got %v, want context.Canceled", err)
	}
}

// cutSource is Kafka's replay cut short after max records, as a Lambda timeout cuts a long replay: the fault
// the embedded broker cannot produce on its own.
type cutSource struct {
	inner state.Source
	max   int
}

func (c cutSource) Replay(ctx context.Context, topic string, partition int32, from, to int64, fn func(int64, time.Time, []byte)) error {
	n := 0
	errCut := errors.New("cut")
	err := c.inner.Replay(ctx, topic, partition, from, to, func(o int64, w time.Time, v []byte) {
		if n == c.max {
			panic(errCut)
		}
		n++
		fn(o, w, v)
	})
	return err
}

// safeReplay turns cutSource's panic into the error a timed-out replay returns.
type safeReplay struct{ cutSource }

func (s safeReplay) Replay(ctx context.Context, topic string, partition int32, from, to int64, fn func(int64, time.Time, []byte)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("replay cut short: %w", context.DeadlineExceeded)
		}
	}()
	return s.cutSource.Replay(ctx, topic, partition, from, to, fn)
}

// TestEngineLongReplayMakesProgress: a replay that cannot finish within one attempt (no checkpoint and more
// records than an attempt gets through) saves progress checkpoints, so each retry starts further on and the
// partition gets through; the fold handed out at the end is exactly the one-pass fold.
func TestEngineLongReplayMakesProgress(t *testing.T) {
	l := startRaw(t, 400)
	store := state.NewMemory()
	var clock time.Time
	tick := func() time.Time { clock = clock.Add(time.Second); return clock }
	attempts := 0
	for {
		attempts++
		if attempts > 6 {
			t.Fatal("the replay did not get through in 6 attempts of 150 records")
		}
		e, err := state.New(sumCodec, store, safeReplay{cutSource{state.NewKafka(l.cfg, kafka.Deps{}), 150}}, state.Options{
			CheckpointEvery: time.Hour, ProgressEvery: 10 * time.Second, Now: tick,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		lease, err := e.Begin(context.Background(), testTopic, 1, 400)
		s := e.Stats()
		if s.Replayed > 150 {
			t.Fatalf("attempt %d replayed %d records, the source allows 150", attempts, s.Replayed)
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) || s.ProgressCheckpoints == 0 {
				t.Fatalf("attempt %d: %v, stats %+v: want a cut replay that saved progress", attempts, err, s)
			}
			continue
		}
		if want := l.foldAt(400); *lease.Fold != *want {
			t.Fatalf("after %d attempts: fold %+v, want %+v", attempts, *lease.Fold, *want)
		}
		break
	}
	if attempts < 3 {
		t.Errorf("got through in %d attempts; 400 records at 150 an attempt need at least 3", attempts)
	}
}
