package search_test

import (
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/search"
)

func candleDoc(index, id string) search.Doc {
	return search.Doc{Index: index, ID: id, Alias: "candles", Source: []byte(`{"symbol":"AMZN","interval":"5m","start":"2024-07-11T19:45:00Z","open":194.58,"high":194.7,"low":194.5,"close":194.64,"volume":2550,"trade_count":90,"vwap":194.61,"bars":5,"final":true}`)}
}

// TestWriterRoleCandles: after the admin's setup and grant, the writer role indexes candles into a new candle
// month (created from the candle template, under the candles alias only, managed by the candle retention policy)
// but not into an index outside the bar and candle patterns; a candle with a field the candle mapping lacks is
// rejected for good (the strict mapping applies to candle indexes too).
func TestWriterRoleCandles(t *testing.T) {
	srv := secureServer(t)
	cfg := monthlyConfig()
	admin := signedClient(t, srv, cfg, adminCreds)
	writer := signedClient(t, srv, cfg, writerCreds)
	ix := search.NewIndexer(writer)
	ix.Backoff = fastBackoff
	a, err := admin.Setup(t.Context())
	if err != nil {
		t.Fatalf("admin setup: %v", err)
	}
	if a.Candles == nil || a.Candles.Template != search.CandlesTemplateName || a.Candles.Policy != search.CandlesPolicyID ||
		strings.Join(a.Candles.Patterns, ",") != "candles-*" {
		t.Fatalf("setup applied %+v for candles, want template %s and policy %s on candles-*", a.Candles, search.CandlesTemplateName, search.CandlesPolicyID)
	}
	if err := admin.GrantWriter(t.Context(), []string{writerARN}); err != nil {
		t.Fatalf("grant writer: %v", err)
	}
	res, err := ix.Bulk(t.Context(), []search.Doc{candleDoc("candles-2024.07", "AMZN|5m|2024-07-11 19:45:00"), barDoc("bars-2024.07", "AMZN|2024-07-11 19:49:00")})
	if err != nil || len(res.Rejected) != 0 || res.Indexed != 2 {
		t.Fatalf("writer bulk: %+v, %v", res, err)
	}
	if got := strings.Join(srv.Alias("candles"), ","); got != "candles-2024.07" {
		t.Errorf("alias candles covers %q, want candles-2024.07", got)
	}
	if got := strings.Join(srv.Alias("bars"), ","); got != "bars-2024.07" {
		t.Errorf("alias bars covers %q, want bars-2024.07 alone", got)
	}
	if got := srv.ManagedBy("candles-2024.07"); got != search.CandlesPolicyID {
		t.Errorf("candles-2024.07 managed by %q, want %s", got, search.CandlesPolicyID)
	}
	bad := candleDoc("candles-2024.07", "AMZN|5m|2024-07-11 19:50:00")
	bad.Source = []byte(`{"symbol":"AMZN","interval":"5m","start":"2024-07-11T19:50:00Z","timestamp":"2024-07-11T19:50:00Z"}`)
	res, err = ix.Bulk(t.Context(), []search.Doc{bad})
	if err != nil || len(res.Rejected) != 1 {
		t.Errorf("candle with a bar field: %+v, %v, want it rejected", res, err)
	}
	if _, err := ix.Bulk(t.Context(), []search.Doc{candleDoc("candlesx-2024.07", "AMZN|5m|2024-07-11 19:45:00")}); err == nil {
		t.Error("writer indexed outside the bar and candle indexes")
	}
}

// TestCandlesConfig: the candle configuration names its own monthly indexes whatever the bars' layout, and an
// alias that would share or overlap the bars' is refused.
func TestCandlesConfig(t *testing.T) {
	c := search.Config{URL: "http://127.0.0.1:9200", Auth: search.AuthNone, Prefix: "ff-", Alias: "bars", Layout: search.LayoutPerSymbol}
	cc := c.Candles()
	if got := cc.IndexName("BRK.B", mustTime(t, "2024-12-31T23:55:00Z")); got != "ff-candles-2024.12" {
		t.Errorf("candle index: got %s, want ff-candles-2024.12", got)
	}
	if cc.Alias != "candles" || cc.Layout != search.LayoutMonthly {
		t.Errorf("candles config: alias %s layout %s, want candles, monthly", cc.Alias, cc.Layout)
	}
	if err := cc.Validate(); err != nil {
		t.Errorf("candles config: %v", err)
	}
	for _, tt := range []struct{ alias, candles, want string }{
		{"bars", "bars", "candles need their own alias"},
		{"bars", "bars-x", "would match the other's pattern"},
		{"bars", "Candles", "must be lower-case"},
	} {
		c := search.Config{URL: "http://127.0.0.1:9200", Auth: search.AuthNone, Alias: tt.alias, CandlesAlias: tt.candles}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("alias %s, candles %s: got %v, want %q", tt.alias, tt.candles, err, tt.want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
