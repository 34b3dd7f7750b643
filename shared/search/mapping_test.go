package search_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/search"
)

// oldMapping is the mapping of an earlier version: Mapping without the given fields (and with the others'
// types changed as asked).
func oldMapping(without []string, retype map[string]string) map[string]any {
	m := search.Mapping()
	props := map[string]any{}
	for f, p := range m["properties"].(map[string]any) {
		if slices.Contains(without, f) {
			continue
		}
		if typ, ok := retype[f]; ok {
			p = map[string]any{"type": typ}
		}
		props[f] = p
	}
	m["properties"] = props
	return m
}

var indicatorFields = []string{"sma20", "sma50", "ema12", "ema26", "rsi14", "vwapSession", "volumeAlert", "maCross", "outOfSequence"}

// a document with every indicator field
func indicatorDoc(index string, minute int) search.Doc {
	ts := time.Date(2024, 7, 11, 19, minute, 0, 0, time.UTC)
	return search.Doc{Index: index, ID: "AMZN|" + ts.Format("2006-01-02 15:04:05"),
		Source: fmt.Appendf(nil, `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":%q,"indicator":"Unknown","tradingDate":"2024-07-11","sma20":194.5,"sma50":194.7,"ema12":194.6,"ema26":194.65,"rsi14":48.2,"vwapSession":194.61,"volumeAlert":true,"maCross":"bearish","outOfSequence":false}`,
			ts.Format(time.RFC3339))}
}

// Setup gives indexes created before the indicator fields existed (strict mappings without them) the new fields,
// so documents carrying them are indexed instead of dead-lettered; it leaves up-to-date indexes, indexes outside
// the alias and fields an index already maps (whatever their type) alone, and a second Setup changes nothing.
func TestSetupExtendsExistingIndexes(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	srv.CreateIndex("bars-2024.06", search.Mapping(), "bars")
	srv.CreateIndex("bars-2024.07", oldMapping(indicatorFields, nil), "bars")
	srv.CreateIndex("bars-2024.05", oldMapping(indicatorFields[1:], map[string]string{"sma20": "keyword"}), "bars")
	srv.CreateIndex("bars-old", oldMapping(indicatorFields, nil)) // not under the alias
	c := newClient(t, srv, func(c *search.Config) { c.Layout = search.LayoutMonthly })

	applied, err := c.Setup(t.Context())
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if got := strings.Join(applied.Extended, ","); got != "bars-2024.05,bars-2024.07" {
		t.Errorf("extended: got %s, want bars-2024.05,bars-2024.07", got)
	}
	for index, want := range map[string]map[string]string{
		"bars-2024.07": {"sma20": "double", "rsi14": "double", "volumeAlert": "boolean", "maCross": "keyword", "outOfSequence": "boolean"},
		"bars-2024.05": {"sma20": "keyword", "sma50": "double", "volumeAlert": "boolean"}, // sma20 keeps its type
		"bars-old":     {"sma20": "<nil>"},
	} {
		props := srv.Mapping(index)["properties"].(map[string]any)
		for f, typ := range want {
			got := "<nil>"
			if p, ok := props[f].(map[string]any); ok {
				got = fmt.Sprint(p["type"])
			}
			if got != typ {
				t.Errorf("%s: %s mapped as %s, want %s", index, f, got, typ)
			}
		}
	}
	if again, err := c.Setup(t.Context()); err != nil || len(again.Extended) != 0 {
		t.Errorf("second Setup: extended %v, error %v; want nothing to do", again.Extended, err)
	}

	ix := search.NewIndexer(c)
	ix.Backoff = fastBackoff
	res, err := ix.Bulk(t.Context(), []search.Doc{indicatorDoc("bars-2024.07", 1), indicatorDoc("bars-old", 2)})
	if err != nil {
		t.Fatalf("Bulk: %v", err)
	}
	// the extended index takes the new fields; the one Setup could not reach rejects them (strict)
	if res.Indexed != 1 || len(res.Rejected) != 1 || res.Rejected[0].Doc != 1 || !strings.Contains(res.Rejected[0].Reason, "strict") {
		t.Errorf("bulk: got %+v, want bars-2024.07 indexed and bars-old rejected", res)
	}
}

// A fresh domain (no index under the alias yet) needs no mapping update.
func TestSetupWithoutIndexes(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	applied, err := newClient(t, srv, nil).Setup(t.Context())
	if err != nil || len(applied.Extended) != 0 {
		t.Errorf("Setup: extended %v, error %v", applied.Extended, err)
	}
}
