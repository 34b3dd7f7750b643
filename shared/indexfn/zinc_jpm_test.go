package indexfn_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/zinctest"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/search"
)

// jpmEvents enriches the fixture's two days of JPM bars as the enrich function does and groups the enhanced records
// into MSK events of at most size records, as the event source mapping would deliver them.
func jpmEvents(t testing.TB, size int) ([]events.KafkaEvent, map[bar.Indicator]int) {
	t.Helper()
	store, err := prevclose.LoadCSVFile(fixtures.Path(t, fixtures.JPMPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	indicators := map[bar.Indicator]int{}
	var evs []events.KafkaEvent
	var recs []events.KafkaRecord
	sc := bufio.NewScanner(bytes.NewReader(fixtures.Read(t, fixtures.JPMRaw)))
	for off := int64(0); sc.Scan(); off++ {
		raw, err := bar.DecodeRaw(sc.Bytes())
		if err != nil {
			t.Fatalf("fixture line %d: %v", off+1, err)
		}
		en, err := e.Enrich(t.Context(), &raw)
		if err != nil {
			t.Fatal(err)
		}
		indicators[en.Indicator]++
		recs = append(recs, events.KafkaRecord{Topic: "enhanced", Partition: 0, Offset: off,
			Key:   base64.StdEncoding.EncodeToString([]byte(en.Symbol)),
			Value: base64.StdEncoding.EncodeToString(bar.AppendEnriched(nil, &en))})
		if len(recs) == size {
			evs = append(evs, events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{"enhanced-0": recs}})
			recs = nil
		}
	}
	if len(recs) > 0 {
		evs = append(evs, events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{"enhanced-0": recs}})
	}
	return evs, indicators
}

// TestZincIndexesKitSession indexes two days of real JPM bars, enriched as the pipeline enriches them, into
// ZincSearch, then runs the dashboard's own aggregations (indicator counts, close over time) against them.
func TestZincIndexesKitSession(t *testing.T) {
	evs, indicators := jpmEvents(t, 200)
	total := 0
	for _, n := range indicators {
		total += n
	}
	z := zinctest.Start(t)
	cfg := naming("finfeed-")
	c := zincClient(t, z, cfg)
	h := indexfn.NewHandler(search.NewIndexer(c), kafkaClient(t, broker(t)), cfg, "enhanced.dlq", quietLog())
	indexed := 0
	for i, ev := range evs {
		got, err := h.Handle(t.Context(), ev)
		if err != nil {
			t.Fatalf("Handle batch %d: %v", i, err)
		}
		indexed += got.Indexed
		if got.DLQ != 0 {
			t.Errorf("batch %d: %d dead letters, want 0", i, got.DLQ)
		}
	}
	if indexed != total {
		t.Fatalf("indexed: got %d, want %d", indexed, total)
	}

	if got := z.WaitCount(t, "finfeed-bars-2024.10", total); got != total {
		t.Fatalf("documents in finfeed-bars-2024.10 (the JPM fixture is two October days): got %d, want %d", got, total)
	}
	if got := z.Count(t, "bars"); got != total {
		t.Fatalf("documents under alias bars: got %d, want %d", got, total)
	}

	// the dashboard's "indicator counts" panel: a terms aggregation on indicator
	var res struct {
		Aggregations map[string]struct {
			Buckets []struct {
				Key      string `json:"key"`
				DocCount int    `json:"doc_count"`
			} `json:"buckets"`
		} `json:"aggregations"`
	}
	z.JSON(t, http.MethodPost, "/bars/_search", `{"size":0,"aggs":{"indicators":{"terms":{"field":"indicator","size":4}}}}`, &res)
	got := map[bar.Indicator]int{}
	for _, b := range res.Aggregations["indicators"].Buckets {
		got[bar.Indicator(b.Key)] = b.DocCount
	}
	if fmt.Sprint(got) != fmt.Sprint(indicators) {
		t.Errorf("indicator counts: got %v, want %v", got, indicators)
	}

	// the "close over time" panel: a date histogram on timestamp with the average close
	var hist struct {
		Aggregations map[string]struct {
			Buckets []struct {
				KeyAsString string `json:"key_as_string"`
				DocCount    int    `json:"doc_count"`
				Close       struct {
					Value float64 `json:"value"`
				} `json:"close"`
			} `json:"buckets"`
		} `json:"aggregations"`
	}
	z.JSON(t, http.MethodPost, "/bars/_search",
		`{"size":0,"aggs":{"days":{"date_histogram":{"field":"timestamp","calendar_interval":"1d"},"aggs":{"close":{"avg":{"field":"close"}}}}}}`, &hist)
	days, n := 0, 0
	for _, b := range hist.Aggregations["days"].Buckets {
		if b.DocCount > 0 {
			days++
			n += b.DocCount
			if b.Close.Value < 150 || b.Close.Value > 300 {
				t.Errorf("average close on %s: got %v, want a JPM price", b.KeyAsString, b.Close.Value)
			}
		}
	}
	if n != total || days < 2 {
		t.Errorf("date histogram: got %d documents over %d days, want %d over the fixture's UTC days", n, days, total)
	}
}
