package search_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/search"
)

// fastBackoff keeps retries quick in tests; the attempt count is what matters.
var fastBackoff = search.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, Attempts: 4}

func newClient(t *testing.T, srv *searchtest.Server, mutate func(*search.Config)) *search.Client {
	t.Helper()
	// the bulk tests name their indexes per symbol (amzn), so the template must cover those
	cfg := search.Config{URL: srv.URL, Auth: search.AuthNone, Alias: "bars", Service: "es", Layout: search.LayoutPerSymbol}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := search.NewClient(t.Context(), cfg, search.Deps{Transport: srv.Client().Transport})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func newIndexer(t *testing.T, srv *searchtest.Server) *search.Indexer {
	t.Helper()
	c := newClient(t, srv, nil)
	if _, err := c.Setup(t.Context()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	ix := search.NewIndexer(c)
	ix.Backoff = fastBackoff
	return ix
}

func doc(symbol string, minute int) search.Doc {
	ts := time.Date(2024, 7, 11, 19, minute, 0, 0, time.UTC)
	return search.Doc{
		Index: strings.ToLower(symbol),
		ID:    symbol + "|" + ts.Format("2006-01-02 15:04:05"),
		Source: fmt.Appendf(nil, `{"symbol":%q,"close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":%q,"%%change":-0.87,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11"}`,
			symbol, ts.Format(time.RFC3339)),
	}
}

func docs(n int) []search.Doc {
	out := make([]search.Doc, 0, n)
	syms := []string{"AMZN", "AAPL", "MSFT"}
	for i := range n {
		out = append(out, doc(syms[i%len(syms)], i/len(syms)))
	}
	return out
}

func TestBulk(t *testing.T) {
	tests := []struct {
		name         string
		opts         searchtest.Options
		docs         []search.Doc
		wantIndexed  int
		wantRejected map[int]string // doc position -> substring of the reason
		wantErr      error          // errors.Is target; nil for success
		wantRetried  bool
	}{
		{
			name:        "all indexed over https",
			opts:        searchtest.Options{TLS: true},
			docs:        docs(9),
			wantIndexed: 9,
		},
		{
			name: "item 429 then success is retried inside the call",
			opts: searchtest.Options{ItemFault: func(_, id string, attempt int) int {
				if strings.HasPrefix(id, "AAPL") && attempt == 1 {
					return http.StatusTooManyRequests
				}
				return 0
			}},
			docs:        docs(9),
			wantIndexed: 9,
			wantRetried: true,
		},
		{
			name: "item 503 twice then success",
			opts: searchtest.Options{ItemFault: func(_, _ string, attempt int) int {
				if attempt <= 2 {
					return http.StatusServiceUnavailable
				}
				return 0
			}},
			docs:        docs(3),
			wantIndexed: 3,
			wantRetried: true,
		},
		{
			name: "persistent 500 fails the call",
			opts: searchtest.Options{ItemFault: func(_, id string, _ int) int {
				if strings.HasPrefix(id, "MSFT") {
					return http.StatusInternalServerError
				}
				return 0
			}},
			docs:    docs(6),
			wantErr: search.ErrRetriesExhausted,
		},
		{
			name: "partial success: permanent 400 comes back as a rejection",
			opts: searchtest.Options{ItemFault: func(_, id string, _ int) int {
				if id == "AAPL|2024-07-11 19:00:00" {
					return http.StatusBadRequest
				}
				return 0
			}},
			docs:         docs(6),
			wantIndexed:  5,
			wantRejected: map[int]string{1: "injected_exception"},
		},
		{
			name: "a write block (403 cluster_block_exception) is retried, not dead-lettered",
			opts: searchtest.Options{ItemError: func(_, _ string, attempt int) (int, string) {
				if attempt <= 2 {
					return http.StatusForbidden, "cluster_block_exception"
				}
				return 0, ""
			}},
			docs:        docs(3),
			wantIndexed: 3,
			wantRetried: true,
		},
		{
			name: "a persistent write block fails the call, so the batch is retried",
			opts: searchtest.Options{ItemError: func(_, _ string, _ int) (int, string) {
				return http.StatusForbidden, "cluster_block_exception"
			}},
			docs:    docs(2),
			wantErr: search.ErrRetriesExhausted,
		},
		{
			name: "a lost permission (403 security_exception) fails the call: nothing is dead-lettered for it",
			opts: searchtest.Options{ItemError: func(_, id string, _ int) (int, string) {
				if id == "AAPL|2024-07-11 19:00:00" {
					return http.StatusForbidden, "security_exception"
				}
				return 0, ""
			}},
			docs:    docs(6),
			wantErr: search.ErrRetriesExhausted,
		},
		{
			name: "a conflict on one document (409) is permanent for it",
			opts: searchtest.Options{ItemError: func(_, id string, _ int) (int, string) {
				if id == "AAPL|2024-07-11 19:00:00" {
					return http.StatusConflict, "version_conflict_engine_exception"
				}
				return 0, ""
			}},
			docs:         docs(6),
			wantIndexed:  5,
			wantRejected: map[int]string{1: "version_conflict_engine_exception"},
		},
		{
			name: "mapping conflict and unknown field are rejected, the rest indexed",
			docs: append(docs(2),
				search.Doc{Index: "amzn", ID: "AMZN|x", Source: []byte(`{"symbol":"AMZN","close":"high","timestamp":"2024-07-11T19:00:00Z"}`)},
				search.Doc{Index: "amzn", ID: "AMZN|y", Source: []byte(`{"symbol":"AMZN","colour":"red"}`)},
				search.Doc{Index: "amzn", ID: "AMZN|z", Source: []byte(`{"symbol":"AMZN","timestamp":"2024-07-11 19:00"}`)}),
			wantIndexed:  2,
			wantRejected: map[int]string{2: "mapper_parsing_exception", 3: "strict_dynamic_mapping_exception", 4: "mapper_parsing_exception"},
		},
		{
			name:         "a source that is not one JSON line never reaches the server",
			docs:         append(docs(1), search.Doc{Index: "amzn", ID: "AMZN|n", Source: []byte("{\"symbol\":\n\"AMZN\"}")}),
			wantIndexed:  1,
			wantRejected: map[int]string{1: "not one line of JSON"},
		},
		{
			name: "request-level 429 then success",
			opts: searchtest.Options{RequestFault: func(n int) int {
				if n == 1 {
					return http.StatusTooManyRequests
				}
				return 0
			}},
			docs:        docs(4),
			wantIndexed: 4,
			wantRetried: true,
		},
		{
			name:    "request-level 503 forever",
			opts:    searchtest.Options{RequestFault: func(int) int { return http.StatusServiceUnavailable }},
			docs:    docs(2),
			wantErr: search.ErrRetriesExhausted,
		},
		{
			name:    "a 200 with a missing item is never success",
			opts:    searchtest.Options{DropItem: true},
			docs:    docs(3),
			wantErr: search.ErrBadResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, tt.opts)
			ix := newIndexer(t, srv)
			res, err := ix.Bulk(t.Context(), tt.docs)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Bulk: got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Bulk: %v", err)
			}
			if res.Indexed != tt.wantIndexed {
				t.Errorf("Indexed: got %d, want %d", res.Indexed, tt.wantIndexed)
			}
			if got := srv.Count(); got != tt.wantIndexed {
				t.Errorf("documents on the server: got %d, want %d", got, tt.wantIndexed)
			}
			if len(res.Rejected) != len(tt.wantRejected) {
				t.Errorf("Rejected: got %+v, want positions %v", res.Rejected, tt.wantRejected)
			}
			for _, r := range res.Rejected {
				want, ok := tt.wantRejected[r.Doc]
				if !ok || !strings.Contains(r.Reason, want) {
					t.Errorf("rejection of doc %d: got %q (status %d), want %q", r.Doc, r.Reason, r.Status, want)
				}
				if r.Status < 400 || r.Status == 429 || r.Status >= 500 {
					t.Errorf("rejection of doc %d: got status %d, want a permanent 4xx", r.Doc, r.Status)
				}
			}
			if (res.Retried > 0) != tt.wantRetried {
				t.Errorf("Retried: got %d, want retries %v", res.Retried, tt.wantRetried)
			}
			// every index written is under the alias
			for _, name := range srv.Indexes() {
				if !contains(srv.Alias("bars"), name) {
					t.Errorf("alias bars: got %q, want it to include %q", srv.Alias("bars"), name)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestBulkBounds(t *testing.T) {
	tests := []struct {
		name              string
		maxBytes, maxDocs int
		n                 int
	}{
		{name: "by count", maxBytes: search.DefaultMaxBytes, maxDocs: 7, n: 50},
		{name: "by bytes", maxBytes: 2000, maxDocs: 1000, n: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, searchtest.Options{})
			ix := newIndexer(t, srv)
			ix.MaxBytes, ix.MaxDocs = tt.maxBytes, tt.maxDocs
			res, err := ix.Bulk(t.Context(), docs(tt.n))
			if err != nil {
				t.Fatalf("Bulk: %v", err)
			}
			if res.Indexed != tt.n || srv.Count() != tt.n {
				t.Errorf("indexed: got %d (server %d), want %d", res.Indexed, srv.Count(), tt.n)
			}
			bulks := srv.Bulks()
			if len(bulks) < 2 {
				t.Errorf("requests: got %d, want the batch split", len(bulks))
			}
			total := 0
			for i, b := range bulks {
				total += b.Docs
				if b.Bytes > tt.maxBytes || b.Docs > tt.maxDocs {
					t.Errorf("request %d: got %d bytes, %d docs, want at most %d bytes, %d docs", i, b.Bytes, b.Docs, tt.maxBytes, tt.maxDocs)
				}
			}
			if total != tt.n {
				t.Errorf("documents sent: got %d, want %d", total, tt.n)
			}
		})
	}
}

func TestBulkOversizedDocIsRejected(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	ix := newIndexer(t, srv)
	ix.MaxBytes = 400
	big := doc("AMZN", 1)
	big.Source = []byte(`{"symbol":"AMZN","indicator":"` + strings.Repeat("x", 500) + `"}`)
	res, err := ix.Bulk(t.Context(), []search.Doc{doc("AMZN", 0), big})
	if err != nil {
		t.Fatalf("Bulk: %v", err)
	}
	if res.Indexed != 1 || len(res.Rejected) != 1 || res.Rejected[0].Doc != 1 || res.Rejected[0].Status != http.StatusRequestEntityTooLarge {
		t.Errorf("Bulk: got %+v, want doc 1 rejected as too large and doc 0 indexed", res)
	}
}

func TestBulkSameDocsTwiceLeavesOneEach(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	ix := newIndexer(t, srv)
	batch := docs(12)
	for range 2 {
		if _, err := ix.Bulk(t.Context(), batch); err != nil {
			t.Fatalf("Bulk: %v", err)
		}
	}
	if got := srv.Count(); got != len(batch) {
		t.Errorf("documents: got %d, want %d", got, len(batch))
	}
}

func TestBulkStopsWaitingWhenContextEnds(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{RequestFault: func(int) int { return http.StatusTooManyRequests }})
	ix := newIndexer(t, srv)
	ix.Backoff = search.Backoff{Initial: time.Hour, Max: time.Hour, Attempts: 3}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := ix.Bulk(ctx, docs(2))
		done <- err
	}()
	// cancel once the first request has been answered, while Bulk waits out the hour
	for deadline := time.Now().Add(30 * time.Second); len(srv.Bulks()) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Bulk: got %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Bulk did not return after its context was cancelled")
	}
}

func TestBulkUnreachableServerIsRetryable(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	ix := newIndexer(t, srv)
	srv.Close()
	_, err := ix.Bulk(t.Context(), docs(1))
	if err == nil || !search.IsRetryable(err) {
		t.Errorf("Bulk to a closed server: got %v, want a retryable error", err)
	}
}

func TestSetupAppliesTemplateIdempotently(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	c := newClient(t, srv, func(c *search.Config) { c.Prefix = "bars-"; c.Alias = "all"; c.Layout = search.LayoutPerSymbol })
	for range 2 {
		if _, err := c.Setup(t.Context()); err != nil {
			t.Fatalf("Setup: %v", err)
		}
	}
	tpl := srv.Template(search.TemplateName)
	if tpl == nil {
		t.Fatal("template not stored")
	}
	if got := fmt.Sprint(tpl["index_patterns"]); got != "[bars-*]" {
		t.Errorf("index_patterns: got %s, want [bars-*]", got)
	}
	inner := tpl["template"].(map[string]any)
	if _, ok := inner["aliases"].(map[string]any)["all"]; !ok {
		t.Errorf("aliases: got %v, want all", inner["aliases"])
	}
	props := inner["mappings"].(map[string]any)["properties"].(map[string]any)
	want := map[string]string{"timestamp": "date", "tradingDate": "date", "symbol": "keyword", "indicator": "keyword",
		"close": "double", "open": "double", "high": "double", "low": "double", "volume": "double", "%change": "double", "prevClose": "double",
		"sma20": "double", "sma50": "double", "ema12": "double", "ema26": "double", "rsi14": "double", "vwapSession": "double",
		"volumeAlert": "boolean", "maCross": "keyword", "outOfSequence": "boolean"}
	for f, typ := range want {
		if got := props[f].(map[string]any)["type"]; got != typ {
			t.Errorf("mapping of %s: got %v, want %s", f, got, typ)
		}
	}
}
