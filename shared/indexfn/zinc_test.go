package indexfn_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/dev/zinctest"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/search"
)

// markers is one new bar per symbol of the fixture, written after everything else.
func markers() events.KafkaEvent {
	var recs []events.KafkaRecord
	for i, sym := range []string{"AAPL", "AMZN", "NVDA", "TSLA"} {
		v := fmt.Sprintf(`{"symbol":%q,"close":100,"open":100,"low":100,"high":100,"volume":1,"timestamp":"2024-07-12 14:00:00","%%change":null,"indicator":"Unknown","prevClose":null,"tradingDate":"2024-07-12"}`, sym)
		recs = append(recs, events.KafkaRecord{Topic: "enhanced", Partition: 0, Offset: int64(9000 + i),
			Key: base64.StdEncoding.EncodeToString([]byte(sym)), Value: base64.StdEncoding.EncodeToString([]byte(v))})
	}
	return events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{"enhanced-0": recs}}
}

// zincClient is a search client on z as its admin user, set up (twice: it is idempotent) for cfg.
func zincClient(t *testing.T, z *zinctest.Server, cfg search.Config) *search.Client {
	t.Helper()
	cfg.URL, cfg.Auth, cfg.Username, cfg.Password, cfg.Service = z.URL, search.AuthBasic, zinctest.User, zinctest.Password, "es"
	c, err := search.NewClient(t.Context(), cfg, search.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	for i := range 2 {
		a, err := c.Setup(t.Context())
		if err != nil {
			t.Fatalf("Setup #%d: %v", i+1, err)
		}
		if cfg.RetentionMonths > 0 {
			want := []search.PolicyChange{search.PolicyCreated, search.PolicyUnchanged}[i]
			if a.PolicyChange != want {
				t.Errorf("Setup #%d: policy %s, want %s", i+1, a.PolicyChange, want)
			}
		}
	}
	return c
}

// TestZincIndexesEnrichedBarsOnce runs the handler against a real Elasticsearch-compatible server (ZincSearch):
// template, retention policy, basic auth, bulk, alias; the same batch twice leaves exactly one document per bar.
func TestZincIndexesEnrichedBarsOnce(t *testing.T) {
	z := zinctest.Start(t)
	cfg := naming("")
	c := zincClient(t, z, cfg)
	kc := broker(t)
	h := indexfn.NewHandler(search.NewIndexer(c), kafkaClient(t, kc), cfg, "enhanced.dlq", quietLog())
	for i := range 2 {
		got, err := h.Handle(t.Context(), fixture(t))
		if err != nil {
			t.Fatalf("Handle #%d: %v", i+1, err)
		}
		if want := (indexfn.Counts{Records: 6, Indexed: 5, DLQ: 1, Invalid: 1}); got != want {
			t.Errorf("Handle #%d: got %+v, want %+v", i+1, got, want)
		}
	}
	if _, err := h.Handle(t.Context(), markers()); err != nil {
		t.Fatalf("Handle markers: %v", err)
	}

	// Zinc indexes asynchronously: wait (bounded) until every marker is searchable. With one shard per index,
	// everything written before a marker is searchable by then, the second batch included.
	if got := z.WaitCount(t, "bars", 9); got != 9 {
		t.Fatalf("documents under alias bars: got %d, want 9 (5 bars once each + 4 markers)", got)
	}
	if got := z.Count(t, "bars-2024.07"); got != 9 {
		t.Errorf("documents in bars-2024.07: got %d, want 9", got)
	}

	var res struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Index  string         `json:"_index"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	z.JSON(t, http.MethodPost, "/bars/_search", `{"size":100,"query":{"range":{"timestamp":{"gte":"2024-07-11T00:00:00Z","lt":"2024-07-12T00:00:00Z"}}}}`, &res)
	var ids []string
	for _, h := range res.Hits.Hits {
		ids = append(ids, h.Index+"/"+h.ID)
		if h.Source["symbol"] == nil {
			t.Errorf("document %s has no symbol", h.ID)
		}
	}
	slices.Sort(ids)
	want := []string{"bars-2024.07/AAPL|2024-07-11 19:49:00", "bars-2024.07/AMZN|2024-07-11 19:49:00", "bars-2024.07/AMZN|2024-07-11 19:50:00",
		"bars-2024.07/NVDA|2024-07-11 19:49:00", "bars-2024.07/TSLA|2024-07-11 13:31:00"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("bars of 2024-07-11 by timestamp range: got %v, want %v", ids, want)
	}

	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]struct{ Type string }
		}
	}
	z.JSON(t, http.MethodGet, "/bars-2024.07/_mapping", "", &mapping)
	props := mapping["bars-2024.07"].Mappings.Properties
	for field, typ := range map[string]string{"timestamp": "date", "tradingDate": "date", "symbol": "keyword", "indicator": "keyword", "close": "numeric"} {
		if props[field].Type != typ {
			t.Errorf("mapping of %s: got %q, want %q (zinc collapses numeric types)", field, props[field].Type, typ)
		}
	}

	// the retention policy as the server stored it
	var policy struct {
		SeqNo  int64 `json:"_seq_no"`
		Policy struct {
			PolicyID     string `json:"policy_id"`
			DefaultState string `json:"default_state"`
			States       []struct {
				Name        string           `json:"name"`
				Actions     []map[string]any `json:"actions"`
				Transitions []struct {
					StateName  string            `json:"state_name"`
					Conditions map[string]string `json:"conditions"`
				} `json:"transitions"`
			} `json:"states"`
			ISMTemplate []struct {
				IndexPatterns []string `json:"index_patterns"`
			} `json:"ism_template"`
		} `json:"policy"`
	}
	z.JSON(t, http.MethodGet, "/_plugins/_ism/policies/"+search.PolicyID, "", &policy)
	p := policy.Policy
	if p.PolicyID != search.PolicyID || p.DefaultState != "hot" || len(p.States) != 2 ||
		p.States[0].Transitions[0].Conditions["min_index_age"] != "124d" || p.States[1].Actions[0]["delete"] == nil ||
		len(p.ISMTemplate) != 1 || strings.Join(p.ISMTemplate[0].IndexPatterns, ",") != "bars-*" {
		t.Errorf("stored policy: got %+v, want hot -> delete after 124d for bars-*", p)
	}
	if len(deadLetters(t, kc)) != 2 {
		t.Errorf("dead letters: want the bad record once per delivery (2)")
	}

	// an index from before the indicator fields, under the alias: Setup adds the fields it lacks, once
	var ack map[string]any
	z.JSON(t, http.MethodPut, "/legacy-amzn", `{"mappings":{"properties":{"symbol":{"type":"keyword"},"close":{"type":"numeric"}}}}`, &ack)
	z.JSON(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"legacy-amzn","alias":"bars"}}]}`, &ack)
	for i, want := range []string{"legacy-amzn", ""} {
		a, err := c.Setup(t.Context())
		if err != nil {
			t.Fatalf("Setup after the legacy index #%d: %v", i+1, err)
		}
		if got := strings.Join(a.Extended, ","); got != want {
			t.Errorf("Setup after the legacy index #%d: extended %q, want %q", i+1, got, want)
		}
	}
	var legacy map[string]struct {
		Mappings struct {
			Properties map[string]struct{ Type string }
		}
	}
	z.JSON(t, http.MethodGet, "/legacy-amzn/_mapping", "", &legacy)
	if got := legacy["legacy-amzn"].Mappings.Properties; got["volumeAlert"].Type == "" || got["sma20"].Type != "numeric" || got["symbol"].Type != "keyword" {
		t.Errorf("legacy index mapping after Setup: %+v, want the indicator fields added", got)
	}
}

// TestZincLayouts indexes through the handler into ZincSearch in both layouts: the monthly one with a
// multi-symbol batch over three months (a correction, a late bar, a retried batch), and the reference's
// per-symbol one.
func TestZincLayouts(t *testing.T) {
	mm := multiMonth()
	tests := []struct {
		name    string
		naming  search.Config
		batches []events.KafkaEvent
		want    map[string]int // index -> documents
	}{
		{
			name:   "monthly",
			naming: naming(""),
			batches: []events.KafkaEvent{mm[0], mm[0], mm[1], barEvent(0, 300, // the first batch retried; then one marker per month
				testBar{"ZZZZ", "2024-11-30 15:00:00", 1}, testBar{"ZZZZ", "2024-12-02 15:00:00", 1}, testBar{"ZZZZ", "2025-01-03 15:00:00", 1})},
			want: map[string]int{"bars-2024.11": 3, "bars-2024.12": 3, "bars-2025.01": 3},
		},
		{
			name:    "per symbol",
			naming:  perSymbol("finfeed-"),
			batches: []events.KafkaEvent{fixture(t), fixture(t), markers()},
			want:    map[string]int{"finfeed-amzn": 3, "finfeed-aapl": 2, "finfeed-nvda": 2, "finfeed-tsla": 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := zinctest.Start(t)
			c := zincClient(t, z, tt.naming)
			h := indexfn.NewHandler(search.NewIndexer(c), kafkaClient(t, broker(t)), tt.naming, "enhanced.dlq", quietLog())
			for i, ev := range tt.batches {
				if _, err := h.Handle(t.Context(), ev); err != nil {
					t.Fatalf("Handle batch %d: %v", i+1, err)
				}
			}
			total := 0
			for _, n := range tt.want {
				total += n
			}
			if got := z.WaitCount(t, "bars", total); got != total {
				t.Fatalf("documents under alias bars: got %d, want %d", got, total)
			}
			for index, n := range tt.want {
				if got := z.Count(t, index); got != n {
					t.Errorf("documents in %s: got %d, want %d", index, got, n)
				}
			}
			if tt.naming.Layout != search.LayoutMonthly {
				return
			}
			var res struct {
				Hits struct {
					Hits []struct {
						Source map[string]any `json:"_source"`
					}
				}
			}
			z.JSON(t, http.MethodPost, "/bars-2025.01/_search", `{"size":10,"query":{"term":{"symbol":"AAPL"}}}`, &res)
			if len(res.Hits.Hits) != 1 || res.Hits.Hits[0].Source["close"] != 250.55 {
				t.Errorf("AAPL in bars-2025.01: got %v, want the corrected bar alone (close 250.55)", res.Hits.Hits)
			}
		})
	}
}
