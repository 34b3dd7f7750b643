package enrichfn_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
)

const statePartitions = 3

// rawInput is one record written to raw, as it came back from the broker.
type rawInput struct {
	key, value []byte
	partition  int32
	offset     int64
	written    time.Time // the record's timestamp, set by the broker client when it was produced
}

// propertyInput is the property test's raw topic on kfake (real TCP): the fixtures (the reference's AMZN bars,
// the JPM days, 1,500 real DBB bars) and a synthetic multi-symbol stream with corrections of the latest bar,
// late bars and invalid records, written in that order, key = symbol, a partition per symbol.
type propertyInput struct {
	kafka   kafka.Config
	records []rawInput   // in the order written
	parts   [][]rawInput // per partition, in offset order
	closes  enrich.PrevCloses
}

func newPropertyInput(t *testing.T) *propertyInput {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(statePartitions, "raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	in := &propertyInput{kafka: kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthNone}}
	var values [][]byte
	values = append(values, splitLines(fixtures.Read(t, fixtures.SeedRaw))...)
	values = append(values, splitLines(fixtures.Read(t, fixtures.JPMRaw))...)
	zr, err := gzip.NewReader(bytes.NewReader(fixtures.Read(t, fixtures.DBBRawGzip)))
	if err != nil {
		t.Fatal(err)
	}
	dbb, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	values = append(values, splitLines(dbb)[:1500]...)
	synth, closes := syntheticStream(rand.New(rand.NewPCG(14, 1)))
	values = append(values, synth...)

	store, err := prevclose.NewMemory(closes...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{fixtures.SeedPrevCloses, fixtures.JPMPrevCloses} {
		cs, err := prevclose.ReadCSV(bytes.NewReader(fixtures.Read(t, f)))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Put(context.Background(), cs); err != nil {
			t.Fatal(err)
		}
	}
	in.closes = store

	cl, err := kafka.NewClient(context.Background(), in.kafka, kafka.Deps{}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		key := []byte("?")
		if r, err := bar.DecodeRaw(v); err == nil {
			key = []byte(r.Symbol)
		}
		h := fnv.New32a()
		h.Write(key)
		recs[i] = &kgo.Record{Topic: "raw", Key: key, Value: v, Partition: int32(h.Sum32() % statePartitions)}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	in.parts = make([][]rawInput, statePartitions)
	for _, r := range recs {
		ri := rawInput{key: r.Key, value: r.Value, partition: r.Partition, offset: r.Offset, written: r.Timestamp}
		in.records = append(in.records, ri)
		in.parts[r.Partition] = append(in.parts[r.Partition], ri)
	}
	for p, rs := range in.parts {
		for i, r := range rs {
			if r.offset != int64(i) {
				t.Fatalf("partition %d: record %d at offset %d", p, i, r.offset)
			}
		}
	}
	return in
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	return out
}

// syntheticStream is 12 symbols over 150 minutes of one session: most minutes trade, 1 in 15 bars is followed
// by a correction of it, 1 in 30 by a late bar (up to 20 minutes old), 1 in 100 by an invalid record and 1 in 100
// by a bar stamped in 2099 (a clock fault: the handler dead-letters it, and a replay must skip it too, or the
// symbol's later bars would all be out of sequence and the partition's candles frozen); every other symbol has a
// previous close.
func syntheticStream(rng *rand.Rand) ([][]byte, []prevclose.Close) {
	const symbols = 12
	start := time.Date(2025, 6, 12, 13, 30, 0, 0, time.UTC)
	price := make([]float64, symbols)
	var closes []prevclose.Close
	for s := range symbols {
		price[s] = 20 + 10*float64(s)
		if s%2 == 0 {
			closes = append(closes, prevclose.Close{Symbol: fmt.Sprintf("SYN%02d", s), Date: bar.Date{Year: 2025, Month: 6, Day: 11}, Close: price[s] * 0.97})
		}
	}
	var out [][]byte
	for m := range 150 {
		for s := range symbols {
			if rng.IntN(10) == 0 {
				continue
			}
			price[s] *= 1 + (rng.Float64()-0.5)*0.01
			r := bar.Raw{Symbol: fmt.Sprintf("SYN%02d", s), Open: price[s], Close: price[s] * (1 + (rng.Float64()-0.5)*0.002),
				Volume: float64(100 + rng.IntN(5000)), Time: start.Add(time.Duration(m) * time.Minute)}
			if rng.IntN(40) == 0 {
				r.Volume *= 20 // a volume spike
			}
			r.High, r.Low = max(r.Open, r.Close)*1.001, min(r.Open, r.Close)*0.999
			if rng.IntN(3) > 0 {
				r.VWAP, r.HasVWAP = (r.Open+r.Close)/2, true
			}
			out = append(out, bar.AppendRaw(nil, &r))
			switch rng.IntN(100) {
			case 0, 1, 2, 3, 4, 5: // a correction of the latest bar
				r.Close *= 1.0007
				r.High = max(r.High, r.Close)
				out = append(out, bar.AppendRaw(nil, &r))
			case 6, 7, 8: // a late bar
				r.Time = r.Time.Add(-time.Duration(1+rng.IntN(20)) * time.Minute)
				out = append(out, bar.AppendRaw(nil, &r))
			case 9:
				out = append(out, []byte(`{"symbol":"`+r.Symbol+`","close":0}`))
			case 10:
				r.Time = r.Time.AddDate(2099-r.Time.Year(), 0, 0)
				out = append(out, bar.AppendRaw(nil, &r))
			}
		}
	}
	return out, closes
}

// feedEnrichLines is what `feed enrich` writes for the records in the order written (its loop: one fold, in
// input order, every valid bar folded whether or not its previous close resolves), by record index; "" for a
// rejected record.
func feedEnrichLines(t *testing.T, in *propertyInput) []string {
	t.Helper()
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: in.closes}
	f := fold.New()
	out := make([]string, len(in.records))
	for i, r := range in.records {
		raw, err := bar.DecodeRaw(r.value)
		if err == nil {
			err = bar.CheckAhead(&raw, r.written)
		}
		if err != nil {
			continue
		}
		res := f.Apply(&raw)
		en, err := e.Enrich(context.Background(), &raw)
		if err != nil {
			continue
		}
		en.Indicators = res.Indicators
		out[i] = string(bar.AppendEnriched(nil, &en))
	}
	return out
}

// capture is the handler's producer in the property test: it keeps the records of the attempt in hand and fails
// it on demand (a produce fault, which only a test double can make happen at a chosen batch).
type capture struct {
	mu      sync.Mutex
	pending []*kgo.Record
	fail    bool
}

var errProduceInjected = errors.New("injected produce fault")

func (c *capture) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	c.mu.Lock()
	c.pending = append(c.pending, r)
	fail := c.fail
	c.mu.Unlock()
	if fail {
		promise(r, errProduceInjected)
		return
	}
	promise(r, nil)
}

func (c *capture) Flush(context.Context) error { return nil }

func (c *capture) take() []*kgo.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.pending
	c.pending = nil
	return out
}

// flakyCloses fails the previous-close lookup of the next batch when armed (a handler error mid-batch).
type flakyCloses struct {
	store enrich.PrevCloses
	fail  bool
}

func (f *flakyCloses) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	return f.store.PrevClose(ctx, symbol, before)
}

func (f *flakyCloses) PrevCloses(ctx context.Context, ls []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	if f.fail {
		f.fail = false
		return nil, fmt.Errorf("%w: injected", enrich.ErrLookup)
	}
	return f.store.PrevCloses(ctx, ls)
}

// container is one execution environment: its own state engine (empty memory) on the shared checkpoints, its
// own replay client to the broker.
func container(t *testing.T, in *propertyInput, store state.Store, every time.Duration, p enrichfn.Producer, closes enrich.PrevCloses) (*enrichfn.Handler, *enrichfn.State) {
	t.Helper()
	st, err := enrichfn.NewState(store, state.NewKafka(in.kafka, kafka.Deps{}), every, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: closes}
	h := enrichfn.NewHandler(e, st, p, "enhanced", "raw.dlq", slog.New(slog.DiscardHandler))
	h.SetCandlesTopic("candles")
	return h, st
}

// perInput groups a batch's output by input record: its enhanced or dead-letter record, then the candle records
// it made due (they follow it), as one text.
func perInput(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		if r.Topic == "candles" && len(out) > 0 {
			out[len(out)-1] += "\n" + recordText(r)
			continue
		}
		out = append(out, recordText(r))
	}
	return out
}

func eventOf(batches map[int32][]rawInput) events.KafkaEvent {
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for p, rs := range batches {
		krs := make([]events.KafkaRecord, len(rs))
		for i, r := range rs {
			krs[i] = events.KafkaRecord{Topic: "raw", Partition: int64(p), Offset: r.offset, TimestampType: "CREATE_TIME",
				Timestamp: events.MilliSecondsEpochTime{Time: r.written},
				Key:       base64.StdEncoding.EncodeToString(r.key), Value: base64.StdEncoding.EncodeToString(r.value)}
		}
		ev.Records[fmt.Sprintf("raw-%d", p)] = krs
	}
	return ev
}

// recordText is an output record as compared: topic, key, value and headers.
func recordText(r *kgo.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q %s", r.Topic, r.Key, r.Value)
	for _, h := range r.Headers {
		fmt.Fprintf(&b, " %s=%q", h.Key, h.Value)
	}
	return b.String()
}

// TestStateProperty: the fixtures and the synthetic stream through the real handler, whose state engine
// replays from kfake over TCP, with random batch splits (1 record to a whole partition, several partitions per
// event), random failures (a produce fault or a previous-close fault; the batch is retried) and random
// container changes (a new handler with empty memory on the same checkpoints): every case writes exactly the
// same records per partition as one batch of everything (each input's enhanced or dead-letter record with the
// candle records it made due), and the enhanced bytes are `feed enrich`'s.
func TestStateProperty(t *testing.T) {
	in := newPropertyInput(t)
	cases := 200
	if testing.Short() {
		cases = 30
	}

	// The reference: every partition in one batch on a fresh container, checked against feed enrich.
	want := make([][]string, statePartitions)
	c := &capture{}
	h, _ := container(t, in, state.NewMemory(), state.DefaultCheckpointEvery, c, in.closes)
	all := map[int32][]rawInput{}
	for p := range in.parts {
		all[int32(p)] = in.parts[p]
	}
	if _, err := h.Handle(context.Background(), eventOf(all)); err != nil {
		t.Fatal(err)
	}
	out := perInput(c.take())
	i := 0
	for p := range in.parts {
		for range in.parts[p] {
			want[p] = append(want[p], out[i])
			i++
		}
	}
	candleRecords := 0
	for p := range want {
		for _, w := range want[p] {
			candleRecords += strings.Count(w, "\ncandles ")
		}
	}
	if candleRecords == 0 {
		t.Fatal("the reference wrote no candles: the property does not cover them")
	}
	lines := feedEnrichLines(t, in)
	enhanced, withIndicators := 0, 0
	for idx, r := range in.records {
		got := want[r.partition][r.offset]
		if lines[idx] == "" {
			if !strings.HasPrefix(got, "raw.dlq ") {
				t.Fatalf("record %d (%s): feed enrich rejects it, the handler wrote %s", idx, r.value, got)
			}
			continue
		}
		if w := fmt.Sprintf("enhanced %q %s", r.key, lines[idx]); !strings.HasPrefix(got, w+" ") {
			t.Fatalf("record %d: handler wrote\n%s\nfeed enrich\n%s", idx, got, w)
		}
		enhanced++
		if strings.Contains(got, `"sma50":`) && !strings.Contains(got, `"sma50":null`) {
			withIndicators++
		}
	}
	if enhanced < 3000 || withIndicators < enhanced/2 {
		t.Fatalf("only %d enhanced records, %d with sma50: the input does not exercise the indicators", enhanced, withIndicators)
	}

	var totals state.Stats
	for n := range cases {
		seed := uint64(n)
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		store := state.Store(state.NewMemory())
		if n%10 == 0 {
			f, err := state.NewFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			store = f
		}
		if n%5 == 1 { // the store refuses most writes: containers then replay from further back, or from the start
			store = &lossyStore{Store: store, rng: rand.New(rand.NewPCG(seed, 0x1055))}
		}
		every := []time.Duration{0, time.Minute, state.DefaultCheckpointEvery, time.Hour}[rng.IntN(4)]
		prod := &capture{}
		closes := &flakyCloses{store: in.closes}
		h, st := container(t, in, store, every, prod, closes)
		got := make([][]string, statePartitions)
		next := make([]int, statePartitions)
		maxBatch := []int{1, 10, 100, 1000, 5000}[rng.IntN(5)]
		for attempts := 0; ; attempts++ {
			if attempts > 20000 {
				t.Fatalf("seed %d: no progress", seed)
			}
			batches := map[int32][]rawInput{}
			for p := range statePartitions {
				if left := len(in.parts[p]) - next[p]; left > 0 && rng.IntN(3) > 0 {
					size := 1 + rng.IntN(min(left, maxBatch))
					if rng.IntN(20) == 0 {
						size = left
					}
					batches[int32(p)] = in.parts[p][next[p] : next[p]+size]
				}
			}
			if len(batches) == 0 {
				done := true
				for p := range statePartitions {
					done = done && next[p] == len(in.parts[p])
				}
				if done {
					break
				}
				continue
			}
			ev := eventOf(batches)
			for {
				if rng.IntN(8) == 0 { // another container takes the partitions
					totals = addStats(totals, st.Stats())
					h, st = container(t, in, store, every, prod, closes)
				}
				switch rng.IntN(10) {
				case 0:
					prod.fail = true
				case 1:
					closes.fail = true
				}
				_, err := h.Handle(context.Background(), ev)
				recs := prod.take()
				prod.fail, closes.fail = false, false
				if err != nil {
					continue // the event source retries the same batch
				}
				grouped := perInput(recs)
				i := 0
				for _, g := range sortedGroups(batches) {
					for range batches[g] {
						got[g] = append(got[g], grouped[i])
						i++
					}
				}
				break
			}
			for p, rs := range batches {
				next[p] += len(rs)
			}
		}
		totals = addStats(totals, st.Stats())
		for p := range statePartitions {
			if len(got[p]) != len(want[p]) {
				t.Fatalf("seed %d partition %d: %d records, want %d", seed, p, len(got[p]), len(want[p]))
			}
			for i := range got[p] {
				if got[p][i] != want[p][i] {
					t.Fatalf("seed %d partition %d offset %d:\ngot  %s\nwant %s", seed, p, i, got[p][i], want[p][i])
				}
			}
		}
	}
	t.Logf("%d cases: %+v", cases, totals)
	if totals.Warm == 0 || totals.FromCheckpoint == 0 || totals.FullReplays == 0 || totals.NewPartitions == 0 ||
		totals.CheckpointFailures == 0 || totals.Replayed == 0 {
		t.Errorf("the cases did not take every path: %+v", totals)
	}
}

func sortedGroups(b map[int32][]rawInput) []int32 {
	var ps []int32
	for p := range statePartitions {
		if _, ok := b[int32(p)]; ok {
			ps = append(ps, int32(p))
		}
	}
	return ps
}

func addStats(a, b state.Stats) state.Stats {
	a.Warm += b.Warm
	a.Cold += b.Cold
	a.FromCheckpoint += b.FromCheckpoint
	a.FullReplays += b.FullReplays
	a.NewPartitions += b.NewPartitions
	a.Malformed += b.Malformed
	a.Replayed += b.Replayed
	a.Checkpoints += b.Checkpoints
	a.CheckpointFailures += b.CheckpointFailures
	return a
}

// lossyStore fails three checkpoint writes in four, as an unavailable bucket does (a fault the local stores
// cannot produce): the batches still succeed, and later cold starts begin further back.
type lossyStore struct {
	state.Store
	rng *rand.Rand
}

func (s *lossyStore) Put(ctx context.Context, topic string, partition int32, offset int64, blob []byte) error {
	if s.rng.IntN(4) != 0 {
		return errors.New("checkpoint store unavailable")
	}
	return s.Store.Put(ctx, topic, partition, offset, blob)
}
