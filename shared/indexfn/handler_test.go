package indexfn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/search"
)

// broker starts kfake on a real loopback port with the topics the function touches.
func broker(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(2, "enhanced", "enhanced.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func kafkaClient(t *testing.T, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthNone}, kafka.Deps{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func fixture(t *testing.T) events.KafkaEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "index-msk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KafkaEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// naming is the default layout, monthly, with a 3-month retention.
func naming(prefix string) search.Config {
	return search.Config{Prefix: prefix, Alias: "bars", Auth: search.AuthNone, Service: "es", Layout: search.LayoutMonthly, RetentionMonths: 3}
}

// perSymbol is the reference's layout, one index per symbol.
func perSymbol(prefix string) search.Config {
	return search.Config{Prefix: prefix, Alias: "bars", Auth: search.AuthNone, Service: "es", Layout: search.LayoutPerSymbol}
}

// indexer is a search.Indexer on the fake, set up (template, retention policy) for cfg.
func indexer(t *testing.T, srv *searchtest.Server, cfg search.Config) *search.Indexer {
	t.Helper()
	cfg.URL = srv.URL
	c, err := search.NewClient(t.Context(), cfg, search.Deps{Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := c.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	ix := search.NewIndexer(c)
	ix.Backoff = search.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 3}
	return ix
}

func quietLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// deadLetters reads every record of enhanced.dlq up to its end offsets (known before reading, so no guessing
// how long to wait).
func deadLetters(t *testing.T, c *kfake.Cluster) []*kgo.Record {
	t.Helper()
	adm := kadm.NewClient(kafkaClient(t, c))
	ends, err := adm.ListEndOffsets(t.Context(), "enhanced.dlq")
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	ends.Each(func(o kadm.ListedOffset) { want += int(o.Offset) })
	if want == 0 {
		return nil
	}
	cl := kafkaClient(t, c, kgo.ConsumeTopics("enhanced.dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d dead letters before the deadline", len(out), want)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func header(r *kgo.Record, name string) string {
	for _, h := range r.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

func TestHandleFixture(t *testing.T) {
	tests := []struct {
		name      string
		naming    search.Config
		wantDocs  map[string][]string // index -> ids
		wantAlias string
	}{
		{
			name:   "monthly",
			naming: naming(""),
			wantDocs: map[string][]string{"bars-2024.07": {"AMZN|2024-07-11 19:49:00", "AMZN|2024-07-11 19:50:00",
				"AAPL|2024-07-11 19:49:00", "NVDA|2024-07-11 19:49:00", "TSLA|2024-07-11 13:31:00"}},
			wantAlias: "bars-2024.07",
		},
		{
			name:   "per symbol",
			naming: perSymbol(""),
			wantDocs: map[string][]string{
				"amzn": {"AMZN|2024-07-11 19:49:00", "AMZN|2024-07-11 19:50:00"},
				"aapl": {"AAPL|2024-07-11 19:49:00"},
				"nvda": {"NVDA|2024-07-11 19:49:00"},
				"tsla": {"TSLA|2024-07-11 13:31:00"},
			},
			wantAlias: "aapl,amzn,nvda,tsla",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, searchtest.Options{TLS: true})
			kc := broker(t)
			h := indexfn.NewHandler(indexer(t, srv, tt.naming), kafkaClient(t, kc), tt.naming, "enhanced.dlq", quietLog())

			got, err := h.Handle(t.Context(), fixture(t))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			want := indexfn.Counts{Records: 6, Indexed: 5, DLQ: 1, Invalid: 1}
			if got != want {
				t.Errorf("Counts: got %+v, want %+v", got, want)
			}
			var indexes []string
			for index, ids := range tt.wantDocs {
				indexes = append(indexes, index)
				docs := srv.Docs(index)
				if len(docs) != len(ids) {
					t.Errorf("index %s: got %d documents, want %d", index, len(docs), len(ids))
				}
				for _, id := range ids {
					if _, ok := docs[id]; !ok {
						t.Errorf("index %s: no document %q (have %v)", index, id, keys(docs))
					}
				}
			}
			if got := strings.Join(srv.Indexes(), ","); got != tt.wantAlias {
				t.Errorf("indexes: got %s, want %s", got, tt.wantAlias)
			}
			if got := strings.Join(srv.Alias("bars"), ","); got != tt.wantAlias {
				t.Errorf("alias bars: got %s, want %s", got, tt.wantAlias)
			}

			amznIndex := tt.naming.IndexName("AMZN", time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC))
			var amzn map[string]any
			if err := json.Unmarshal(srv.Docs(amznIndex)["AMZN|2024-07-11 19:49:00"], &amzn); err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]any{"symbol": "AMZN", "timestamp": "2024-07-11T19:49:00Z", "tradingDate": "2024-07-11",
				"%change": -0.8784661217630548, "prevClose": 196.365, "indicator": "Neutral", "close": 194.64} {
				if amzn[k] != v {
					t.Errorf("AMZN document %s: got %v, want %v", k, amzn[k], v)
				}
			}
			// the indicators: a null one left out, the booleans always there, values as the record carries them
			if _, has := amzn["sma20"]; has || amzn["vwapSession"] != 194.61 || amzn["volumeAlert"] != false || amzn["outOfSequence"] != false {
				t.Errorf("AMZN document: got %v, want no sma20, vwapSession 194.61, volumeAlert and outOfSequence false", amzn)
			}
			if _, has := amzn["maCross"]; has {
				t.Errorf("AMZN document: got maCross %v, want none (null)", amzn["maCross"])
			}
			tslaIndex := tt.naming.IndexName("TSLA", time.Date(2024, 7, 11, 13, 31, 0, 0, time.UTC))
			var tsla map[string]any
			if err := json.Unmarshal(srv.Docs(tslaIndex)["TSLA|2024-07-11 13:31:00"], &tsla); err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]any{"sma20": 243.1805, "sma50": 246.0212, "ema12": 242.2931, "ema26": 242.4107, "rsi14": 38.52,
				"vwapSession": 241.0871, "volumeAlert": true, "maCross": "bearish", "outOfSequence": false} {
				if tsla[k] != v {
					t.Errorf("TSLA document %s: got %v, want %v", k, tsla[k], v)
				}
			}
			nvdaIndex := tt.naming.IndexName("NVDA", time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC))
			var nvda map[string]any
			if err := json.Unmarshal(srv.Docs(nvdaIndex)["NVDA|2024-07-11 19:49:00"], &nvda); err != nil {
				t.Fatal(err)
			}
			if _, has := nvda["%change"]; has || nvda["indicator"] != "Unknown" {
				t.Errorf("NVDA document without a previous close: got %v, want no %%change and indicator Unknown", nvda)
			}

			dead := deadLetters(t, kc)
			if len(dead) != 1 {
				t.Fatalf("dead letters: got %d, want 1", len(dead))
			}
			d := dead[0]
			if string(d.Key) != "AAPL" || header(d, "source") != "enhanced/1/2209" || header(d, "producer") != "finfeed-enrich" ||
				!strings.Contains(header(d, "error"), "invalid bar: close: not a number") || !strings.HasPrefix(string(d.Value), `{"symbol":"AAPL"`) {
				t.Errorf("dead letter: got key %q value %q error %q source %q, want the original AAPL record with error and source=enhanced/1/2209",
					d.Key, d.Value, header(d, "error"), header(d, "source"))
			}
		})
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestHandleSameBatchTwiceLeavesOneDocumentPerBar(t *testing.T) {
	tests := []struct {
		name        string
		naming      search.Config
		wantIndexes string
	}{
		{name: "monthly", naming: naming("finfeed-"), wantIndexes: "finfeed-bars-2024.07"},
		{name: "per symbol", naming: perSymbol("bars-"), wantIndexes: "bars-aapl,bars-amzn,bars-nvda,bars-tsla"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, searchtest.Options{})
			kc := broker(t)
			h := indexfn.NewHandler(indexer(t, srv, tt.naming), kafkaClient(t, kc), tt.naming, "enhanced.dlq", quietLog())
			for range 2 {
				if _, err := h.Handle(t.Context(), fixture(t)); err != nil {
					t.Fatalf("Handle: %v", err)
				}
			}
			if got := srv.Count(); got != 5 {
				t.Errorf("documents after the same batch twice: got %d, want 5", got)
			}
			if got := strings.Join(srv.Indexes(), ","); got != tt.wantIndexes {
				t.Errorf("indexes: got %s, want %s", got, tt.wantIndexes)
			}
		})
	}
}

// testBar is an enriched bar without a previous close, in the enhanced topic's format.
type testBar struct {
	symbol, start string // start: "YYYY-MM-DD HH:MM:SS" UTC
	close         float64
}

// barEvent is an MSK event of bars on one partition of enhanced, offsets from first.
func barEvent(partition int, first int64, bars ...testBar) events.KafkaEvent {
	recs := make([]events.KafkaRecord, 0, len(bars))
	for i, b := range bars {
		v := fmt.Sprintf(`{"symbol":%q,"close":%v,"open":%v,"low":%v,"high":%v,"volume":100,"timestamp":%q,"%%change":null,"indicator":"Unknown"}`,
			b.symbol, b.close, b.close, b.close, b.close, b.start)
		recs = append(recs, events.KafkaRecord{Topic: "enhanced", Partition: int64(partition), Offset: first + int64(i),
			Key: base64.StdEncoding.EncodeToString([]byte(b.symbol)), Value: base64.StdEncoding.EncodeToString([]byte(v))})
	}
	return events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{fmt.Sprintf("enhanced-%d", partition): recs}}
}

// multiMonth is a whole-market-shaped stream in miniature: several symbols over a year end. The last bar of
// 2024 in New York (18:59 and 19:30 EST on Dec 31) starts in January in UTC; the second batch corrects one bar
// and brings a late bar of November.
func multiMonth() []events.KafkaEvent {
	return []events.KafkaEvent{
		barEvent(0, 100,
			testBar{"AAPL", "2024-11-29 20:59:00", 237.33},
			testBar{"AAPL", "2024-12-31 23:59:00", 250.42},
			testBar{"AAPL", "2025-01-01 00:30:00", 250.50},
			testBar{"MSFT", "2025-01-02 14:30:00", 421.50},
			testBar{"BRK.B", "2024-12-31 23:59:00", 453.28}),
		barEvent(1, 200,
			testBar{"AAPL", "2025-01-01 00:30:00", 250.55},   // corrected (updatedBars): same symbol and start
			testBar{"BRK.B", "2024-11-29 20:59:00", 479.87}), // late
	}
}

// multiMonthWant is where multiMonth's bars must end up: index -> ids, and the corrected bar's close.
var multiMonthWant = map[string][]string{
	"bars-2024.11": {"AAPL|2024-11-29 20:59:00", "BRK.B|2024-11-29 20:59:00"},
	"bars-2024.12": {"AAPL|2024-12-31 23:59:00", "BRK.B|2024-12-31 23:59:00"},
	"bars-2025.01": {"AAPL|2025-01-01 00:30:00", "MSFT|2025-01-02 14:30:00"},
}

func TestHandleMultiSymbolMultiMonthBatches(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	kc := broker(t)
	h := indexfn.NewHandler(indexer(t, srv, naming("")), kafkaClient(t, kc), naming(""), "enhanced.dlq", quietLog())
	evs := multiMonth()
	for _, ev := range []events.KafkaEvent{evs[0], evs[0], evs[1]} { // the first batch twice, as MSK retries a failed batch
		got, err := h.Handle(t.Context(), ev)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if got.DLQ != 0 || got.Indexed != got.Records {
			t.Errorf("Counts: got %+v, want every record indexed", got)
		}
	}
	var want []string
	total := 0
	for index, ids := range multiMonthWant {
		want = append(want, index)
		total += len(ids)
		docs := srv.Docs(index)
		if len(docs) != len(ids) {
			t.Errorf("index %s: got %d documents %v, want %v", index, len(docs), keys(docs), ids)
		}
		for _, id := range ids {
			if _, ok := docs[id]; !ok {
				t.Errorf("index %s: no document %q (have %v)", index, id, keys(docs))
			}
		}
		if got := srv.ManagedBy(index); got != search.PolicyID {
			t.Errorf("index %s: managed by %q, want the retention policy %s", index, got, search.PolicyID)
		}
	}
	slices.Sort(want)
	if got := srv.Count(); got != total {
		t.Errorf("documents: got %d, want %d (each bar once)", got, total)
	}
	if got := strings.Join(srv.Alias("bars"), ","); got != strings.Join(want, ",") {
		t.Errorf("alias bars: got %s, want %s", got, strings.Join(want, ","))
	}
	var corrected map[string]any
	if err := json.Unmarshal(srv.Docs("bars-2025.01")["AAPL|2025-01-01 00:30:00"], &corrected); err != nil {
		t.Fatal(err)
	}
	if corrected["close"] != 250.55 || corrected["tradingDate"] != "2024-12-31" {
		t.Errorf("corrected bar: got close %v trading date %v, want the correction's 250.55 on 2024-12-31", corrected["close"], corrected["tradingDate"])
	}
}

func TestHandleFaults(t *testing.T) {
	tests := []struct {
		name        string
		opts        searchtest.Options
		wantErr     bool
		wantCounts  indexfn.Counts
		wantDLQFrom map[string]string // source -> substring of the error header
	}{
		{
			name: "a permanent item error goes to the DLQ, the rest is indexed",
			opts: searchtest.Options{ItemFault: func(_, id string, _ int) int {
				if id == "TSLA|2024-07-11 13:31:00" {
					return http.StatusBadRequest
				}
				return 0
			}},
			wantCounts: indexfn.Counts{Records: 6, Indexed: 4, DLQ: 2, Invalid: 1, Rejected: 1},
			wantDLQFrom: map[string]string{
				"enhanced/1/2208": "opensearch rejected document bars-2024.07/TSLA|2024-07-11 13:31:00: status 400",
				"enhanced/1/2209": "invalid bar: close: not a number",
			},
		},
		{
			name: "a transient 429 is retried inside the invocation",
			opts: searchtest.Options{ItemFault: func(_, _ string, attempt int) int {
				if attempt == 1 {
					return http.StatusTooManyRequests
				}
				return 0
			}},
			wantCounts:  indexfn.Counts{Records: 6, Indexed: 5, DLQ: 1, Invalid: 1},
			wantDLQFrom: map[string]string{"enhanced/1/2209": "invalid bar: close: not a number"},
		},
		{
			name:    "a persistent 503 fails the batch and dead-letters nothing",
			opts:    searchtest.Options{ItemFault: func(string, string, int) int { return http.StatusServiceUnavailable }},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, tt.opts)
			kc := broker(t)
			h := indexfn.NewHandler(indexer(t, srv, naming("")), kafkaClient(t, kc), naming(""), "enhanced.dlq", quietLog())
			got, err := h.Handle(t.Context(), fixture(t))
			if tt.wantErr {
				if !errors.Is(err, search.ErrRetriesExhausted) {
					t.Fatalf("Handle: got %v, want a retryable failure", err)
				}
				if dead := deadLetters(t, kc); len(dead) != 0 {
					t.Errorf("dead letters after a failed batch: got %d, want 0 (the retry will decide)", len(dead))
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if got != tt.wantCounts {
				t.Errorf("Counts: got %+v, want %+v", got, tt.wantCounts)
			}
			dead := deadLetters(t, kc)
			if len(dead) != len(tt.wantDLQFrom) {
				t.Fatalf("dead letters: got %d, want %d", len(dead), len(tt.wantDLQFrom))
			}
			for _, d := range dead {
				want, ok := tt.wantDLQFrom[header(d, "source")]
				if !ok || !strings.Contains(header(d, "error"), want) {
					t.Errorf("dead letter from %s: got error %q, want %q", header(d, "source"), header(d, "error"), want)
				}
			}
		})
	}
}

// failingProducer accepts records and fails the flush, as a broker outage would.
type failingProducer struct{}

func (failingProducer) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	promise(r, kgo.ErrRecordTimeout)
}
func (failingProducer) Flush(context.Context) error { return nil }

func TestHandleFailsWhenDeadLettersCannotBeWritten(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	h := indexfn.NewHandler(indexer(t, srv, naming("")), failingProducer{}, naming(""), "enhanced.dlq", quietLog())
	if _, err := h.Handle(t.Context(), fixture(t)); !errors.Is(err, kgo.ErrRecordTimeout) {
		t.Errorf("Handle: got %v, want the produce failure", err)
	}
}

// A batch holding a bar and its correction sends only the correction, so a retry inside Bulk (the first
// attempt at the older version fails, the newer one succeeds, then the older is sent again) cannot put the older
// version back over the newer.
func TestHandleCorrectionInOneBatchIsNeverOverwritten(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{ItemFault: func(_, id string, attempt int) int {
		if id == "AAPL|2025-01-02 14:30:00" && attempt == 1 {
			return http.StatusServiceUnavailable
		}
		return 0
	}})
	h := indexfn.NewHandler(indexer(t, srv, naming("")), kafkaClient(t, broker(t)), naming(""), "enhanced.dlq", quietLog())
	ev := barEvent(0, 10,
		testBar{"AAPL", "2025-01-02 14:30:00", 243.10}, // the first version
		testBar{"MSFT", "2025-01-02 14:30:00", 421.50},
		testBar{"AAPL", "2025-01-02 14:30:00", 243.85}) // its correction, later in the partition
	got, err := h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 3 || got.Indexed != 2 || got.Superseded != 1 || got.DLQ != 0 {
		t.Errorf("counts %+v, want 3 records, 2 indexed, 1 superseded", got)
	}
	doc := srv.Docs("bars-2025.01")["AAPL|2025-01-02 14:30:00"]
	if !strings.Contains(string(doc), `"close":243.85`) {
		t.Errorf("AAPL's document holds %s, want the correction (close 243.85)", doc)
	}
}
