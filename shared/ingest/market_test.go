package ingest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/ingest"
)

// marketSymbol is the i-th symbol of a generated market: four letters, AAAA, AAAB, ...
func marketSymbol(i int) string {
	b := []byte("AAAA")
	for j := 3; j >= 0; j-- {
		b[j] = byte('A' + i%26)
		i /= 26
	}
	return string(b)
}

// market lists n active tradable symbols on s, and a few that a backfill must not ask for.
func market(s *fakealpaca.Server, n int) (tradable []string, other []string) {
	assets := make([]fakealpaca.Asset, 0, n+3)
	for i := range n {
		tradable = append(tradable, marketSymbol(i))
		assets = append(assets, fakealpaca.Asset{Symbol: marketSymbol(i), Tradable: true})
	}
	assets = append(assets, fakealpaca.Asset{Symbol: "ZZHALT", Tradable: false},
		fakealpaca.Asset{Symbol: "ZZGONE", Tradable: true, Status: "inactive"},
		fakealpaca.Asset{Symbol: "ZZ/USD", Tradable: true, Class: "crypto"})
	s.AddAssets(assets...)
	return tradable, []string{"ZZHALT", "ZZGONE", "ZZ/USD"}
}

// With SYMBOLS=*, the start-up gap is backfilled for every symbol that traded: the asset list says which are
// tradable, requests name at most 100 symbols and pages hold at most a set number of bars, each fetch (100 symbols
// by a 3-minute window) is handed to Kafka before the next, and every bar lands in raw exactly once.
func TestStartGapWithAllSymbolsIsBackfilledForTheWholeMarket(t *testing.T) {
	const symbols, chunk, window, page = 8000, 100, 3 * time.Minute, 150
	now := time.Now().UTC().Truncate(time.Minute)
	want := map[string]string{} // symbol|timestamp -> value
	var tradable, other []string
	var held *heldBars
	r := newRig(t, map[string]string{"SYMBOLS": "*", "BACKFILL_ON_START": "6m"}, func(in *ingest.Ingester, s *fakealpaca.Server) {
		tradable, other = market(s, symbols)
		var bars []bar.Raw
		for i, sym := range append(append([]string{}, tradable...), other...) {
			if i%3 == 0 && i < symbols {
				continue // no trade in the gap
			}
			for m := -5; m <= -1; m++ {
				b := minuteBar(sym, now.Add(time.Duration(m)*time.Minute), 10+float64(i%500)+float64(m)/100)
				bars = append(bars, b)
				if i < symbols {
					want[sym+"|"+b.Time.Format(time.RFC3339)] = string(bar.AppendRaw(nil, &b))
				}
			}
		}
		s.Record(bars...)
		s.SetMaxSymbols(chunk)
		rest := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: s.DataURL, Key: "key", Secret: "secret"}, 0)
		rest.PageLimit = page
		held = &heldBars{next: rest, m: in.Metrics}
		in.History = held
		in.BackfillChunk, in.BackfillWindow = chunk, window
	})
	m := r.svc.Metrics()
	waitFor(t, 3*time.Minute, "every traded bar backfilled", func() bool { return m.Backfilled.Load() >= int64(len(want)) })
	if err := r.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := m.Produced.Load(); got != int64(len(want)) {
		t.Errorf("records produced: got %d, want %d (every traded bar once)", got, len(want))
	}
	recs := consumeUntil(t, r.kafka, atLeast(len(want)))
	got := map[string]int{}
	for _, rec := range recs {
		b, err := bar.DecodeRaw(rec.Value)
		if err != nil {
			t.Fatalf("record %s does not decode: %v", rec.Value, err)
		}
		k := b.Symbol + "|" + b.Time.Format(time.RFC3339)
		got[k]++
		if w, ok := want[k]; !ok || string(rec.Value) != w || string(rec.Key) != b.Symbol {
			t.Errorf("record %s key %s:\n got %s\nwant %s", k, rec.Key, rec.Value, w)
		}
	}
	if len(recs) != len(want) || len(got) != len(want) {
		t.Errorf("raw: got %d records of %d distinct bars, want %d once each", len(recs), len(got), len(want))
	}
	st := r.alpaca.BarsStats()
	if st.Refused != 0 || st.MaxSymbols > chunk || st.MaxPage > page {
		t.Errorf("requests: %d refused, at most %d symbols, pages of at most %d bars; want 0, <= %d, <= %d",
			st.Refused, st.MaxSymbols, st.MaxPage, chunk, page)
	}
	for _, sym := range tradable {
		if st.Symbols[sym] == 0 {
			t.Errorf("tradable %s: never asked for", sym)
			break
		}
	}
	for _, sym := range other {
		if n := st.Symbols[sym]; n != 0 {
			t.Errorf("%s (not an active tradable US equity): asked for in %d requests", sym, n)
		}
	}
	fetches, maxHeld, maxFetch := held.stats()
	if limit := chunk * int(window/time.Minute); maxFetch > limit || maxHeld > maxFetch {
		t.Errorf("bars held: one fetch at most %d, fetched and not yet handed over at most %d (over %d fetches); want <= %d and <= one fetch",
			maxFetch, maxHeld, fetches, limit)
	}
	if calls := r.alpaca.AssetCalls(); calls != 1 {
		t.Errorf("asset list requests: got %d, want 1", calls)
	}
}

// The asset list cannot be had: each attempt is counted in BackfillErrors, the start-up gap (nothing seen on the
// stream yet) is logged and counted as missing, and the ingester keeps streaming.
func TestAssetListFailureIsCountedAndTheIngesterKeepsStreaming(t *testing.T) {
	r := newRig(t, map[string]string{"SYMBOLS": "*", "BACKFILL_ON_START": "5m"}, func(in *ingest.Ingester, s *fakealpaca.Server) {
		market(s, 10)
		s.FailAssets(1000, 500)
		in.BackfillAttempts = 3
	})
	m := r.svc.Metrics()
	// 3 failed attempts, then the gap counted as unfilled
	eventually(t, "the start-up gap given up", func() bool { return strings.Contains(r.logs.String(), "backfill impossible") })
	if got := m.BackfillErrors.Load(); got != 4 {
		t.Errorf("backfill errors: got %d, want 4 (3 asset-list attempts, 1 gap)", got)
	}
	if got := r.alpaca.AssetCalls(); got != 3 {
		t.Errorf("asset list requests: got %d, want 3", got)
	}
	live := minuteBar("AAAB", time.Now().UTC().Truncate(time.Minute), 12)
	if err := r.alpaca.Publish(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	recs := consumeUntil(t, r.kafka, atLeast(1))
	if w := bar.AppendRaw(nil, &live); string(recs[0].Value) != string(w) {
		t.Errorf("live bar after the failure:\n got %s\nwant %s", recs[0].Value, w)
	}
	if err := r.svc.Ready(); err != nil {
		t.Errorf("ready: %v", err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := emfSum(t, r.metrics.String(), "BackfillErrors"); got != 4 {
		t.Errorf("BackfillErrors over the EMF lines: got %d, want 4", got)
	}
}

// The asset list is cached between backfills; once it is due for a refresh, a failed refresh is counted and
// the previous list still backfills every symbol.
func TestAssetListIsCachedAndAFailedRefreshKeepsThePreviousList(t *testing.T) {
	tests := []struct {
		name       string
		refresh    time.Duration
		failSecond bool
		wantCalls  int
		wantErrors int64
	}{
		{name: "cached", refresh: ingest.DefaultOptions().AssetsRefresh, wantCalls: 1},
		{name: "refreshed", refresh: time.Nanosecond, wantCalls: 2},
		{name: "refresh fails", refresh: time.Nanosecond, failSecond: true, wantCalls: 2, wantErrors: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Minute)
			var tradable []string
			r := newRig(t, map[string]string{"SYMBOLS": "*", "BACKFILL_ON_START": "5m", "BACKFILL_OVERLAP": "5m"},
				func(in *ingest.Ingester, s *fakealpaca.Server) {
					tradable, _ = market(s, 3)
					for i, sym := range tradable {
						s.Record(minuteBar(sym, now.Add(-3*time.Minute), 10+float64(i)))
					}
					in.AssetsRefresh = tt.refresh
					in.MarketOpen = func(time.Time) bool { return false }
				})
			m := r.svc.Metrics()
			eventually(t, "the start-up gap backfilled", func() bool { return m.Backfilled.Load() == 3 })
			var second []bar.Raw
			for i, sym := range tradable {
				second = append(second, minuteBar(sym, now.Add(-2*time.Minute), 20+float64(i)))
			}
			r.alpaca.Record(second...)
			if tt.failSecond {
				r.alpaca.FailAssets(1, 503)
			}
			r.alpaca.DropAll()
			// the second gap refetches the first bars (same bytes) and the new ones
			eventually(t, "the drop's gap backfilled", func() bool { return m.Backfilled.Load() == 9 })
			recs := consumeUntil(t, r.kafka, atLeast(9))
			values := map[string]bool{}
			for _, rec := range recs {
				values[string(rec.Value)] = true
			}
			for _, b := range second {
				if v := string(bar.AppendRaw(nil, &b)); !values[v] {
					t.Errorf("missing from raw: %s", v)
				}
			}
			if got := r.alpaca.AssetCalls(); got != tt.wantCalls {
				t.Errorf("asset list requests: got %d, want %d", got, tt.wantCalls)
			}
			if got := m.BackfillErrors.Load(); got != tt.wantErrors {
				t.Errorf("backfill errors: got %d, want %d", got, tt.wantErrors)
			}
		})
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// emfSum adds up one counter over EMF lines (each line holds the increase over its interval).
func emfSum(t *testing.T, lines, name string) int64 {
	t.Helper()
	var sum int64
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("EMF line %q: %v", l, err)
		}
		v, ok := m[name].(float64)
		if !ok {
			t.Fatalf("EMF line %q: no %s", l, name)
		}
		sum += int64(v)
	}
	return sum
}
