package enrichfn_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/reference"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
)

// broker starts kfake on a real loopback port with the pipeline's topics.
func broker(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(3, "raw", "enhanced", "raw.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func producer(t *testing.T, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(context.Background(), kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthNone}, kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func seedStore(t *testing.T) *prevclose.Memory {
	t.Helper()
	m, err := prevclose.LoadCSVFile(fixtures.Path(t, fixtures.SeedPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newHandler(t *testing.T, p enrichfn.Producer, store enrich.PrevCloses) *enrichfn.Handler {
	t.Helper()
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	return enrichfn.NewHandler(e, noHistoryState(t), p, "enhanced", "raw.dlq", slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

// noHistory is a replay source for tests whose events are their partitions' first records: nothing comes
// before them. (The state tests replay from kfake.)
type noHistory struct{}

func (noHistory) Replay(context.Context, string, int32, int64, int64, func(int64, time.Time, []byte)) error {
	return nil
}

func noHistoryState(t testing.TB) *enrichfn.State {
	t.Helper()
	st, err := enrichfn.NewState(state.NewMemory(), noHistory{}, state.DefaultCheckpointEvery, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func fixture(t *testing.T) events.KafkaEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "enrich-msk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KafkaEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// consume reads exactly n records from topics (from the start), failing after a generous bound.
func consume(t *testing.T, c *kfake.Cluster, n int, topics ...string) []*kgo.Record {
	t.Helper()
	return consumeAtLeast(t, c, n, true, topics...)
}

// consumeAtLeast reads at least n records, and with exact no more.
func consumeAtLeast(t *testing.T, c *kfake.Cluster, n int, exact bool, topics ...string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records from %v before the deadline", len(out), n, topics)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	if len(out) > n && exact {
		t.Fatalf("got %d records, want %d", len(out), n)
	}
	// nothing beyond n: a short extra poll must come back empty
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	extra := cl.PollFetches(short).Records()
	if len(extra) > 0 && exact {
		t.Fatalf("got %d records more than the %d expected", len(extra), n)
	}
	out = append(out, extra...)
	slices.SortStableFunc(out, func(a, b *kgo.Record) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return out
}

func byTopic(recs []*kgo.Record, topic string) []*kgo.Record {
	var out []*kgo.Record
	for _, r := range recs {
		if r.Topic == topic {
			out = append(out, r)
		}
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// The fixture (three reference AMZN bars and one malformed bar) through the real handler to a real broker.
func TestHandleFixture(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), seedStore(t))
	counts, err := h.Handle(context.Background(), fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := (enrichfn.Counts{Records: 4, Enhanced: 3, DLQ: 1, Neutral: 3}); counts != want {
		t.Errorf("counts: got %+v, want %+v", counts, want)
	}
	recs := consume(t, c, 4, "enhanced", "raw.dlq")
	enhanced, dlq := byTopic(recs, "enhanced"), byTopic(recs, "raw.dlq")
	if len(enhanced) != 3 || len(dlq) != 1 {
		t.Fatalf("got %d enhanced and %d dlq records, want 3 and 1", len(enhanced), len(dlq))
	}
	ref := strings.Split(strings.TrimSpace(string(fixtures.Read(t, fixtures.SeedEnhanced))), "\n")
	for i, r := range enhanced {
		if string(r.Key) != "AMZN" {
			t.Errorf("record %d key: got %q, want AMZN", i, r.Key)
		}
		got, err := bar.DecodeEnriched(r.Value)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		// the reference's keys and values first, in its order; then ours, checked apart (the reference prints
		// neither prevClose nor tradingDate nor the indicators)
		if err := reference.CheckPrefix(r.Value, []byte(ref[i])); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
		if got.PrevClose != 196.365 || !got.HasPrev || got.TradingDate != (bar.Date{Year: 2024, Month: 7, Day: 11}) {
			t.Errorf("record %d: prevClose %v (known %v), tradingDate %v, want 196.365 and 2024-07-11", i, got.PrevClose, got.HasPrev, got.TradingDate)
		}
		if got.OutOfSequence || got.HasSMA20 || got.HasEMA12 || got.HasRSI14 || got.VolumeAlert || got.MACross != "" {
			t.Errorf("record %d: indicators %+v, want the warm-up's nulls (three bars only)", i, got.Indicators)
		}
		if !r.Timestamp.Equal(got.Time) {
			t.Errorf("record %d: Kafka timestamp %v, want the bar's start time %v", i, r.Timestamp.UTC(), got.Time)
		}
		if ct, v := header(r, "content-type"), header(r, "schema-version"); ct != "application/json" || v != enrichfn.SchemaVersion {
			t.Errorf("record %d: headers content-type %q schema-version %q, want application/json and %s", i, ct, v, enrichfn.SchemaVersion)
		}
	}
	// partition order kept: the three bars share a key, so a partition, in timestamp order
	for i := 1; i < len(enhanced); i++ {
		if enhanced[i].Partition != enhanced[0].Partition || enhanced[i].Offset <= enhanced[i-1].Offset {
			t.Errorf("enhanced records not in one partition in order: %v/%v", enhanced[i].Partition, enhanced[i].Offset)
		}
	}
	d := dlq[0]
	wantValue, _ := base64.StdEncoding.DecodeString(fixture(t).Records["raw-0"][3].Value)
	if string(d.Key) != "AMZN" || !bytes.Equal(d.Value, wantValue) {
		t.Errorf("dlq record: got key %q value %s, want the original", d.Key, d.Value)
	}
	if got := header(d, "error"); !strings.Contains(got, "high 194.1 is below low 194.5") {
		t.Errorf("dlq error header: got %q", got)
	}
	if got := header(d, "source"); got != "raw/0/1045" {
		t.Errorf("dlq source header: got %q, want raw/0/1045", got)
	}
}

// closesStore answers from a map, whatever the values: a store holding items no loader should have written.
type closesStore map[string]float64

func (s closesStore) PrevClose(_ context.Context, symbol string, _ bar.Date) (float64, bool, error) {
	c, ok := s[symbol]
	return c, ok, nil
}

func (s closesStore) PrevCloses(_ context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	found := make(map[enrich.Lookup]float64)
	for _, l := range lookups {
		if c, ok := s[l.Symbol]; ok {
			found[l] = c
		}
	}
	return found, nil
}

// Records that could not be published as strict JSON go to the DLQ with their reason; the batch goes on.
func TestHandleRecordsThatCannotBeStrictJSON(t *testing.T) {
	c := broker(t)
	store := closesStore{"AMZN": 196.365, "HUGE": 0.01, "ZERO": 0, "NAN": math.NaN(), "TINY": 1e-300, "INF": math.Inf(1)}
	h := newHandler(t, producer(t, c), store)
	line := func(sym, close string) string {
		return `{"symbol":"` + sym + `","open":1,"high":` + close + `,"low":1,"close":` + close + `,"volume":1,"timestamp":"2024-07-11 19:49:00"}`
	}
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-0": {
			rawRecord(0, 1, "HUGE", line("HUGE", "1e307")),
			rawRecord(0, 2, "ZERO", line("ZERO", "2")),
			rawRecord(0, 3, "NAN", line("NAN", "2")),
			rawRecord(0, 4, "TINY", line("TINY", "2")),
			rawRecord(0, 5, "INF", line("INF", "2")),
			rawRecord(0, 6, "AMZN", goodBar),
		},
	}}
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := (enrichfn.Counts{Records: 6, Enhanced: 1, DLQ: 5, Neutral: 1}); counts != want {
		t.Errorf("counts: got %+v, want %+v", counts, want)
	}
	recs := consume(t, c, 6, "enhanced", "raw.dlq")
	for _, r := range byTopic(recs, "enhanced") {
		if !json.Valid(r.Value) || string(r.Key) != "AMZN" {
			t.Errorf("enhanced: %s %s", r.Key, r.Value)
		}
	}
	want := map[string]string{
		"raw/0/1": "high: 1e+307 is above 1e+07",
		"raw/0/2": "ZERO before 2024-07-11: invalid bar: previous close: 0 is below 0.0001",
		"raw/0/3": "previous close: not a finite number",
		"raw/0/4": "previous close: 1e-300 is below 0.0001",
		"raw/0/5": "previous close: not a finite number",
	}
	dlq := byTopic(recs, "raw.dlq")
	if len(dlq) != len(want) {
		t.Fatalf("got %d dlq records, want %d", len(dlq), len(want))
	}
	for _, d := range dlq {
		src := header(d, "source")
		if got := header(d, "error"); want[src] == "" || !strings.Contains(got, want[src]) {
			t.Errorf("dlq %s: error %q, want it to contain %q", src, got, want[src])
		}
	}
}

// rawRecord encodes a raw-topic record as the MSK event source delivers it, written as the ingester writes it:
// a second after its minute ends (a value that is not a bar gets the reference sample's time).
func rawRecord(partition, offset int64, key, value string, headers ...map[string]events.JSONNumberBytes) events.KafkaRecord {
	written := time.UnixMilli(1720727345000)
	if b, err := bar.DecodeRaw([]byte(value)); err == nil {
		written = b.Time.Add(61 * time.Second)
	}
	return events.KafkaRecord{Topic: "raw", Partition: partition, Offset: offset, TimestampType: "CREATE_TIME",
		Timestamp: events.MilliSecondsEpochTime{Time: written},
		Key:       base64.StdEncoding.EncodeToString([]byte(key)), Value: base64.StdEncoding.EncodeToString([]byte(value)), Headers: headers}
}

const goodBar = `{"open": 194.58, "high": 194.64, "low": 194.58, "close": 194.64, "volume": 255.0, "timestamp": "2024-07-11 19:49:00", "symbol": "AMZN"}`

// Malformed input of every kind goes to the DLQ with a reason and the batch goes on.
func TestHandleMalformedRecords(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), seedStore(t))
	badB64 := rawRecord(1, 7, "AMZN", "")
	badB64.Value = "!!not base64!!"
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-1": {
			badB64,
			rawRecord(1, 8, "AMZN", ``),
			rawRecord(1, 9, "AMZN", `not json`),
			rawRecord(1, 10, "", `{"symbol":"AMZN"}`, map[string]events.JSONNumberBytes{"trace": []byte("abc")}),
			rawRecord(1, 11, "AMZN", goodBar),
		},
		"raw-0": {rawRecord(0, 3, "NVDA", `{"open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"NVDA"}`)},
	}}
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := (enrichfn.Counts{Records: 6, Enhanced: 2, DLQ: 4, Neutral: 1, Unknown: 1}); counts != want {
		t.Errorf("counts: got %+v, want %+v", counts, want)
	}
	dlq := byTopic(consume(t, c, 6, "enhanced", "raw.dlq"), "raw.dlq")
	want := map[string]string{
		"raw/1/7":  "value: invalid base64",
		"raw/1/8":  "not a JSON object",
		"raw/1/9":  "not a JSON object",
		"raw/1/10": "open: missing",
	}
	if len(dlq) != len(want) {
		t.Fatalf("got %d dlq records, want %d", len(dlq), len(want))
	}
	for _, r := range dlq {
		src := header(r, "source")
		if reason := header(r, "error"); !strings.Contains(reason, want[src]) || want[src] == "" {
			t.Errorf("%s: got reason %q, want %q", src, reason, want[src])
		}
		if src == "raw/1/10" && (header(r, "trace") != "abc" || r.Key != nil || string(r.Value) != `{"symbol":"AMZN"}`) {
			t.Errorf("raw/1/10: original headers, key or value not kept: %+v", r)
		}
		if src == "raw/1/7" && string(r.Value) != "!!not base64!!" {
			t.Errorf("raw/1/7: value %q, want the undecodable original", r.Value)
		}
	}
}

// failProduce drops the connection on every produce request while failing is set: a broker outage the
// handler must surface (the client keeps retrying until the invocation's deadline).
func failProduce(c *kfake.Cluster, failing *atomic.Bool) {
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !failing.Load() {
			return nil, nil, false
		}
		return nil, errors.New("injected broker outage"), true
	})
}

// A broker fault fails the batch; the retried batch writes the same bytes as an undisturbed run.
func TestHandleBrokerFaultRetried(t *testing.T) {
	ev := fixture(t)

	clean := broker(t)
	if _, err := newHandler(t, producer(t, clean), seedStore(t)).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	want := consume(t, clean, 4, "enhanced", "raw.dlq")

	c := broker(t)
	var failing atomic.Bool
	failing.Store(true)
	failProduce(c, &failing)
	h := newHandler(t, producer(t, c), seedStore(t))
	// the invocation's deadline, as Lambda gives one
	short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := h.Handle(short, ev); !errors.Is(err, enrichfn.ErrProduce) {
		t.Fatalf("with a failing broker: got %v, want ErrProduce", err)
	}
	failing.Store(false)
	ctx, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// At least once: every record of the undisturbed run arrives, and anything more is an identical duplicate
	// (a record the failed attempt had in flight), never a divergent one.
	got := consumeAtLeast(t, c, 4, false, "enhanced", "raw.dlq")
	ident := func(r *kgo.Record) string { return r.Topic + "|" + string(r.Key) + "|" + string(r.Value) }
	wantSet := map[string]bool{}
	for _, r := range want {
		wantSet[ident(r)] = true
	}
	seen := map[string]bool{}
	for _, r := range got {
		if !wantSet[ident(r)] {
			t.Errorf("retried batch wrote a record the undisturbed run did not: %s", ident(r))
		}
		seen[ident(r)] = true
	}
	if len(seen) != len(wantSet) {
		t.Errorf("retried batch delivered %d distinct records, want %d", len(seen), len(wantSet))
	}
	t.Logf("%d records delivered for 4 distinct (duplicates from the failed attempt: %d)", len(got), len(got)-4)
}

type downStore struct{}

func (downStore) PrevClose(context.Context, string, bar.Date) (float64, bool, error) {
	return 0, false, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

func (downStore) PrevCloses(context.Context, []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

// A previous-close store fault fails the batch before anything is written.
func TestHandleStoreFault(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), downStore{})
	if _, err := h.Handle(context.Background(), fixture(t)); !errors.Is(err, enrich.ErrLookup) {
		t.Fatalf("got %v, want ErrLookup", err)
	}
	consume(t, c, 0, "enhanced", "raw.dlq")
}

// Output bytes are a pure function of the input.
func TestBuildDeterministic(t *testing.T) {
	h := newHandler(t, nil, seedStore(t))
	ev := fixture(t)
	ev.Records["raw-2"] = []events.KafkaRecord{rawRecord(2, 1, "AMZN", goodBar)}
	var first [][]byte
	for run := range 5 {
		b, err := h.Build(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range b.Records {
			if run == 0 {
				first = append(first, append(append([]byte(r.Topic+"|"), r.Key...), r.Value...))
			} else if got := append(append([]byte(r.Topic+"|"), r.Key...), r.Value...); !bytes.Equal(got, first[i]) {
				t.Fatalf("run %d record %d: %s, first run %s", run, i, got, first[i])
			}
		}
	}
}

// countingStore records how the handler asks a real store.
type countingStore struct {
	inner   enrich.PrevCloses
	single  atomic.Int64
	batches [][]enrich.Lookup
}

func (c *countingStore) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	c.single.Add(1)
	return c.inner.PrevClose(ctx, symbol, before)
}

func (c *countingStore) PrevCloses(ctx context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	c.batches = append(c.batches, slices.Clone(lookups))
	return c.inner.PrevCloses(ctx, lookups)
}

// A batch resolves its distinct (symbol, trading date) lookups in one store call before enriching.
func TestBuildResolvesLookupsOnce(t *testing.T) {
	store := &countingStore{inner: seedStore(t)}
	h := newHandler(t, nil, store)
	ev := fixture(t)
	ev.Records["raw-2"] = []events.KafkaRecord{
		rawRecord(2, 0, "AMZN", goodBar),
		rawRecord(2, 1, "NVDA", strings.ReplaceAll(goodBar, "AMZN", "NVDA")),
		rawRecord(2, 2, "AMZN", strings.ReplaceAll(goodBar, "2024-07-11 19:49:00", "2024-07-12 14:00:00")),
		rawRecord(2, 3, "BAD", `{"symbol": "BAD"}`),
	}
	b, err := h.Build(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if store.single.Load() != 0 || len(store.batches) != 1 {
		t.Fatalf("store asked %d single lookups and %d batches, want 0 and 1", store.single.Load(), len(store.batches))
	}
	got := store.batches[0]
	slices.SortFunc(got, func(a, b enrich.Lookup) int {
		return cmp.Compare(a.Symbol+a.Before.String(), b.Symbol+b.Before.String())
	})
	want := []enrich.Lookup{
		{Symbol: "AMZN", Before: bar.Date{Year: 2024, Month: 7, Day: 11}},
		{Symbol: "AMZN", Before: bar.Date{Year: 2024, Month: 7, Day: 12}},
		{Symbol: "NVDA", Before: bar.Date{Year: 2024, Month: 7, Day: 11}},
	}
	if !slices.Equal(got, want) {
		t.Errorf("lookups %v, want %v (distinct, bad records left out)", got, want)
	}
	if b.Counts.Enhanced != len(b.Records)-b.Counts.DLQ || b.Counts.DLQ != 2 {
		t.Errorf("counts %+v over %d records, want 2 DLQ (the fixture's and BAD)", b.Counts, len(b.Records))
	}
}

// switchable is a real store that can be made to fail, as DynamoDB does when it is unreachable.
type switchable struct {
	*prevclose.Memory
	down atomic.Bool
}

func (s *switchable) PrevCloses(ctx context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	if s.down.Load() {
		return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
	}
	return s.Memory.PrevCloses(ctx, lookups)
}

// With the store down, a batch whose closes the cache has known is enriched with them and counts them as stale;
// a batch with a close never known fails.
func TestBuildServesStaleClosesWhenStoreIsDown(t *testing.T) {
	src := &switchable{Memory: seedStore(t)}
	now := time.Now()
	cache := prevclose.NewCache(src, prevclose.CacheOptions{TTL: time.Minute, Now: func() time.Time { return now }})
	h := newHandler(t, nil, cache)
	ev := fixture(t)
	first, err := h.Build(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	src.down.Store(true)
	now = now.Add(2 * time.Minute)
	b, err := h.Build(context.Background(), ev)
	if err != nil {
		t.Fatalf("known closes, store down: got %v, want the batch enriched with them", err)
	}
	if b.Counts.StaleServed != 1 || first.Counts.StaleServed != 0 {
		t.Errorf("StaleServed: %d then %d, want 0 then 1 (one distinct lookup)", first.Counts.StaleServed, b.Counts.StaleServed)
	}
	for i := range b.Records {
		if !bytes.Equal(b.Records[i].Value, first.Records[i].Value) {
			t.Errorf("record %d: %s, with the store up %s", i, b.Records[i].Value, first.Records[i].Value)
		}
	}
	ev.Records["raw-2"] = []events.KafkaRecord{rawRecord(2, 0, "NVDA", strings.ReplaceAll(goodBar, "AMZN", "NVDA"))}
	if _, err := h.Build(context.Background(), ev); !errors.Is(err, enrich.ErrLookup) {
		t.Errorf("a close never known, store down: got %v, want ErrLookup", err)
	}
}

// A record too large to go to the dead-letter topic whole goes with its first bytes and a truncated header:
// the batch succeeds instead of failing on every retry (a 2 MB record exceeds Kafka's 1 MB default).
func TestHandleOversizedRecord(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), seedStore(t))
	huge := `{"symbol":"AMZN","pad":"` + strings.Repeat("x", 2<<20) + `"`
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-0": {rawRecord(0, 1, "AMZN", huge), rawRecord(0, 2, "AMZN", goodBar)},
	}}
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	if counts.DLQ != 1 || counts.Enhanced != 1 {
		t.Errorf("counts %+v, want 1 dead letter and 1 enhanced", counts)
	}
	dlq := byTopic(consume(t, c, 2, "enhanced", "raw.dlq"), "raw.dlq")
	if len(dlq) != 1 || len(dlq[0].Value) != deadletter.MaxValue || !strings.HasPrefix(string(dlq[0].Value), `{"symbol":"AMZN","pad":"xxx`) {
		t.Fatalf("dead letter: %d records, value of %d bytes", len(dlq), len(dlq[0].Value))
	}
	if got := header(dlq[0], deadletter.HeaderTruncated); !strings.Contains(got, "of 2097177 bytes") {
		t.Errorf("truncated header %q", got)
	}
	if got := header(dlq[0], "source"); got != "raw/0/1" {
		t.Errorf("source %q", got)
	}
}

// A bar stamped far after its record was written (a clock fault) goes to the DLQ with its reason; the symbol's
// next bar is not out of sequence behind it.
func TestHandleBarAheadOfItsRecord(t *testing.T) {
	c := broker(t)
	h := newHandler(t, producer(t, c), closesStore{"AMZN": 196.365})
	ahead := rawRecord(0, 2, "AMZN", strings.ReplaceAll(goodBar, "2024-07-11 19:49:00", "2099-07-11 19:50:00"))
	ahead.Timestamp = events.MilliSecondsEpochTime{Time: time.Date(2024, 7, 11, 19, 50, 1, 0, time.UTC)}
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"raw-0": {
			rawRecord(0, 1, "AMZN", goodBar),
			ahead,
			rawRecord(0, 3, "AMZN", strings.ReplaceAll(goodBar, "19:49:00", "19:51:00")),
		},
	}}
	counts, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Enhanced != 2 || counts.DLQ != 1 {
		t.Fatalf("counts %+v: want 2 enhanced and 1 dead letter", counts)
	}
	recs := consume(t, c, 3, "enhanced", "raw.dlq")
	dlq := byTopic(recs, "raw.dlq")
	if len(dlq) != 1 || header(dlq[0], "source") != "raw/0/2" ||
		!strings.Contains(header(dlq[0], "error"), "2099-07-11 19:50:00 is 27392 days after") ||
		!strings.Contains(header(dlq[0], "error"), "after the record was written (2024-07-11T19:50:01Z)") {
		t.Fatalf("dead letters %d (%q): want raw/0/2 with the bar time, how far ahead and when it was written", len(dlq), header(dlq[0], "error"))
	}
	for _, r := range byTopic(recs, "enhanced") {
		e, err := bar.DecodeEnriched(r.Value)
		if err != nil || e.OutOfSequence {
			t.Errorf("enhanced %s: %v, out of sequence %v", r.Value, err, e.OutOfSequence)
		}
	}
}
