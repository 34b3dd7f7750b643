package indexfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/search"
	"github.com/finfeed/finfeed/shared/search/searchtest"
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

func naming(prefix string) search.Config {
	return search.Config{Prefix: prefix, Alias: "bars", Auth: search.AuthNone, Service: "es"}
}

// indexer is a search.Indexer on the fake, template applied.
func indexer(t *testing.T, srv *searchtest.Server, prefix string) *search.Indexer {
	t.Helper()
	cfg := naming(prefix)
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
	if err := c.Setup(t.Context()); err != nil {
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
	srv := searchtest.NewServer(t, searchtest.Options{TLS: true})
	kc := broker(t)
	h := indexfn.NewHandler(indexer(t, srv, ""), kafkaClient(t, kc), naming(""), "enhanced.dlq", quietLog())

	got, err := h.Handle(t.Context(), fixture(t))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	want := indexfn.Counts{Records: 6, Indexed: 5, DLQ: 1, Invalid: 1}
	if got != want {
		t.Errorf("Counts: got %+v, want %+v", got, want)
	}
	wantDocs := map[string][]string{
		"amzn": {"AMZN|2024-07-11 19:49:00", "AMZN|2024-07-11 19:50:00"},
		"aapl": {"AAPL|2024-07-11 19:49:00"},
		"nvda": {"NVDA|2024-07-11 19:49:00"},
		"tsla": {"TSLA|2024-07-11 13:31:00"},
	}
	for index, ids := range wantDocs {
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
	if got := strings.Join(srv.Alias("bars"), ","); got != "aapl,amzn,nvda,tsla" {
		t.Errorf("alias bars: got %s, want aapl,amzn,nvda,tsla", got)
	}

	var amzn map[string]any
	if err := json.Unmarshal(srv.Docs("amzn")["AMZN|2024-07-11 19:49:00"], &amzn); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"symbol": "AMZN", "timestamp": "2024-07-11T19:49:00Z", "tradingDate": "2024-07-11",
		"%change": -0.8784661217630548, "prevClose": 196.365, "indicator": "Neutral", "close": 194.64} {
		if amzn[k] != v {
			t.Errorf("AMZN document %s: got %v, want %v", k, amzn[k], v)
		}
	}
	var nvda map[string]any
	if err := json.Unmarshal(srv.Docs("nvda")["NVDA|2024-07-11 19:49:00"], &nvda); err != nil {
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
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestHandleSameBatchTwiceLeavesOneDocumentPerBar(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	kc := broker(t)
	h := indexfn.NewHandler(indexer(t, srv, "bars-"), kafkaClient(t, kc), naming("bars-"), "enhanced.dlq", quietLog())
	for range 2 {
		if _, err := h.Handle(t.Context(), fixture(t)); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	if got := srv.Count(); got != 5 {
		t.Errorf("documents after the same batch twice: got %d, want 5", got)
	}
	if got := strings.Join(srv.Indexes(), ","); got != "bars-aapl,bars-amzn,bars-nvda,bars-tsla" {
		t.Errorf("indexes: got %s, want the prefixed symbol indexes", got)
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
				"enhanced/1/2208": "opensearch rejected document tsla/TSLA|2024-07-11 13:31:00: status 400",
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
			h := indexfn.NewHandler(indexer(t, srv, ""), kafkaClient(t, kc), naming(""), "enhanced.dlq", quietLog())
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
	h := indexfn.NewHandler(indexer(t, srv, ""), failingProducer{}, naming(""), "enhanced.dlq", quietLog())
	if _, err := h.Handle(t.Context(), fixture(t)); !errors.Is(err, kgo.ErrRecordTimeout) {
		t.Errorf("Handle: got %v, want the produce failure", err)
	}
}
