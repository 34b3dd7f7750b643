package indexfn_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/dev/zinctest"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/search"
)

// candleEvent is an MSK event of candle records (raw JSON values) on one partition of the candles topic.
func candleEvent(partition int, first int64, values ...string) events.KafkaEvent {
	recs := make([]events.KafkaRecord, 0, len(values))
	for i, v := range values {
		var sym struct{ Symbol string }
		if json.Unmarshal([]byte(v), &sym) != nil {
			sym.Symbol = "" // a value that is not JSON has no key
		}
		recs = append(recs, events.KafkaRecord{Topic: "candles", Partition: int64(partition), Offset: first + int64(i),
			Key: base64.StdEncoding.EncodeToString([]byte(sym.Symbol)), Value: base64.StdEncoding.EncodeToString([]byte(v))})
	}
	return events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{fmt.Sprintf("candles-%d", partition): recs}}
}

// candle is a candles record as the enrich function writes it (candles.AppendCandle).
func candle(sym, interval, start string, closePrice float64, bars int, final bool) string {
	c, err := candles.DecodeCandle(fmt.Appendf(nil, `{"symbol":%q,"interval":%q,"start":%q,"open":%v,"high":%v,"low":%v,"close":%v,"volume":%d,"trade_count":%d,"vwap":%v,"bars":%d,"final":%v}`,
		sym, interval, start, closePrice, closePrice+1, closePrice-1, closePrice, 100*bars, 3*bars, closePrice, bars, final))
	if err != nil {
		panic(err)
	}
	return string(candles.AppendCandle(nil, &c))
}

// TestHandleCandles: candle records from the candles topic become documents SYMBOL|interval|start in the candle
// month of their start (a year end included) under the candles alias, managed by the candle retention policy;
// the newest version in a batch wins, a final candle is never replaced by a partial version of it that comes
// later, a correction in a later batch replaces the final candle, a retried batch changes nothing, and a bad
// candle goes to the DLQ with its reason and source while the batch goes on.
func TestHandleCandles(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	kc := broker(t)
	cfg := naming("")
	h := indexfn.NewHandler(indexer(t, srv, cfg), kafkaClient(t, kc), cfg, "enhanced.dlq", quietLog(), indexfn.WithCandlesTopic("candles"))
	first := candleEvent(0, 40,
		candle("JPM", "5m", "2024-12-31 23:55:00", 210, 2, false),
		candle("JPM", "5m", "2024-12-31 23:55:00", 211, 5, true),
		candle("JPM", "5m", "2024-12-31 23:55:00", 209, 3, false), // a partial version resent after the final one
		candle("JPM", "1h", "2025-01-01 00:00:00", 212, 60, true),
		candle("AAPL", "15m", "2024-12-31 23:45:00", 250, 15, false),
		`{"symbol":"AAPL","interval":"5m","start":"2024-12-31 23:56:00","open":1,"high":1,"low":1,"close":1,"volume":1,"trade_count":null,"vwap":1,"bars":1,"final":true}`,
	)
	second := candleEvent(0, 46,
		candle("AAPL", "15m", "2024-12-31 23:45:00", 251, 15, true),
		candle("JPM", "5m", "2024-12-31 23:55:00", 211.5, 5, true), // a correction
	)
	var total indexfn.Counts
	for _, ev := range []events.KafkaEvent{first, first, second} { // the first batch twice, as MSK retries
		c, err := h.Handle(t.Context(), ev)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		total.Add(c)
	}
	want := indexfn.Counts{Records: 14, Indexed: 8, DLQ: 2, Invalid: 2, Superseded: 4, Candles: 14}
	if total != want {
		t.Errorf("counts: got %+v, want %+v", total, want)
	}
	wantDocs := map[string]map[string]float64{ // index -> id -> close
		"candles-2024.12": {"JPM|5m|2024-12-31 23:55:00": 211.5, "AAPL|15m|2024-12-31 23:45:00": 251},
		"candles-2025.01": {"JPM|1h|2025-01-01 00:00:00": 212},
	}
	for index, ids := range wantDocs {
		docs := srv.Docs(index)
		if len(docs) != len(ids) {
			t.Errorf("index %s: got %v, want %d documents", index, keys(docs), len(ids))
		}
		for id, closePrice := range ids {
			var d struct {
				Close float64 `json:"close"`
				Final bool    `json:"final"`
				Start string  `json:"start"`
				Bars  int     `json:"bars"`
			}
			if err := json.Unmarshal(docs[id], &d); err != nil {
				t.Errorf("index %s: document %s: %v (%s)", index, id, err, docs[id])
				continue
			}
			if d.Close != closePrice || !d.Final || !strings.HasSuffix(d.Start, "Z") {
				t.Errorf("index %s: document %s = %s, want final with close %v", index, id, docs[id], closePrice)
			}
		}
		if got := srv.ManagedBy(index); got != search.CandlesPolicyID {
			t.Errorf("index %s: managed by %q, want %s", index, got, search.CandlesPolicyID)
		}
	}
	if got := strings.Join(srv.Alias("candles"), ","); got != "candles-2024.12,candles-2025.01" {
		t.Errorf("alias candles: got %s", got)
	}
	if got := srv.Alias("bars"); len(got) != 0 {
		t.Errorf("alias bars covers candle indexes %v", got)
	}
	dead := deadLetters(t, kc)
	if len(dead) != 2 {
		t.Fatalf("dead letters: got %d, want the bad candle twice", len(dead))
	}
	for _, d := range dead {
		if string(d.Key) != "AAPL" || header(d, "source") != "candles/0/45" || !strings.Contains(header(d, "error"), "start: 2024-12-31 23:56:00 is not aligned to 5m") {
			t.Errorf("dead letter: key %s source %q error %q", d.Key, header(d, "source"), header(d, "error"))
		}
	}
}

// TestLoadCandlesTopic: CANDLES_TOPIC names the candles topic (default candles); the DLQ may not be it.
func TestLoadCandlesTopic(t *testing.T) {
	env := map[string]string{"KAFKA_BROKERS": "127.0.0.1:1", "OPENSEARCH_URL": "http://127.0.0.1:9200", "OPENSEARCH_AUTH": "none"}
	c, err := indexfn.Load(func(k string) string { return env[k] })
	if err != nil || c.CandlesTopic != "candles" {
		t.Fatalf("default: %q, %v, want candles", c.CandlesTopic, err)
	}
	env["CANDLES_TOPIC"], env["DLQ_TOPIC"] = "bars.candles", "bars.candles"
	if _, err := indexfn.Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "is the candles topic") {
		t.Errorf("DLQ_TOPIC = CANDLES_TOPIC: got %v", err)
	}
}

// TestZincIndexesCandles runs the handler on candle batches against ZincSearch: the candle template makes
// candles-2024.12 with the candle mapping under the candles alias (not bars), a correction replaces the final
// candle, and a query on the alias (the 5m candles of one symbol, by start range) finds them.
func TestZincIndexesCandles(t *testing.T) {
	z := zinctest.Start(t)
	cfg := naming("")
	c := zincClient(t, z, cfg)
	kc := broker(t)
	h := indexfn.NewHandler(search.NewIndexer(c), kafkaClient(t, kc), cfg, "enhanced.dlq", quietLog())
	for _, ev := range []events.KafkaEvent{
		candleEvent(0, 0,
			candle("JPM", "5m", "2024-12-31 23:50:00", 210, 5, true),
			candle("JPM", "5m", "2024-12-31 23:55:00", 211, 2, false),
			candle("JPM", "5m", "2024-12-31 23:55:00", 211, 5, true),
			candle("JPM", "15m", "2024-12-31 23:45:00", 212, 15, true),
			candle("AAPL", "5m", "2024-12-31 23:55:00", 250, 5, true)),
		candleEvent(0, 5, candle("JPM", "5m", "2024-12-31 23:50:00", 210.5, 5, true)), // a correction
	} {
		if _, err := h.Handle(t.Context(), ev); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	if got := z.WaitCount(t, "candles", 4); got != 4 {
		t.Fatalf("documents under alias candles: got %d, want 4", got)
	}
	if got := z.Count(t, "candles-2024.12"); got != 4 {
		t.Errorf("documents in candles-2024.12: got %d, want 4", got)
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	z.JSON(t, http.MethodPost, "/candles/_search", `{"size":100,"query":{"bool":{"filter":[{"term":{"symbol":"JPM"}},{"term":{"interval":"5m"}},`+
		`{"range":{"start":{"gte":"2024-12-31T23:50:00Z","lt":"2025-01-01T00:00:00Z"}}}]}}}`, &res)
	got := map[string]any{}
	for _, hit := range res.Hits.Hits {
		got[hit.ID] = hit.Source["close"]
		if hit.Source["final"] != true {
			t.Errorf("candle %s: final %v, want true", hit.ID, hit.Source["final"])
		}
	}
	if len(got) != 2 || got["JPM|5m|2024-12-31 23:50:00"] != 210.5 || got["JPM|5m|2024-12-31 23:55:00"] != 211.0 {
		t.Errorf("JPM 5m candles by start range: got %v, want 23:50 at 210.5 (the correction) and 23:55 at 211", got)
	}
	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]struct{ Type string }
		}
	}
	z.JSON(t, http.MethodGet, "/candles-2024.12/_mapping", "", &mapping)
	props := mapping["candles-2024.12"].Mappings.Properties
	for field, typ := range map[string]string{"start": "date", "symbol": "keyword", "interval": "keyword", "close": "numeric", "bars": "numeric", "final": "bool"} {
		if props[field].Type != typ {
			t.Errorf("mapping of %s: got %q, want %q (zinc collapses numeric types)", field, props[field].Type, typ)
		}
	}
	if status, body := z.Do(t, http.MethodGet, "/bars/_count", ""); status != http.StatusNotFound {
		t.Errorf("alias bars after candles only: status %d %s, want 404 (no bar index, candles not under bars)", status, body)
	}
}
