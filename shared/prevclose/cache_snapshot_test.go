package prevclose_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// snapshotCache is a Cache over the market's table through a counting client, on a settable clock.
func snapshotCache(m *market) (*prevclose.Cache, *counting, *clock) {
	c := &counting{DynamoDBAPI: m.db.Client}
	clk := &clock{t: time.Date(2024, 7, 11, 13, 30, 0, 0, time.UTC)}
	cache := prevclose.NewCache(prevclose.NewDynamoDB(c, m.db.Table), prevclose.CacheOptions{TTL: 15 * time.Minute, Now: clk.Now})
	return cache, c, clk
}

// checkSome compares a batch answer with the market's closes for the lookups asked (unknown symbols: none).
func (m *market) checkSome(tb testing.TB, asked []enrich.Lookup, got map[enrich.Lookup]float64) {
	tb.Helper()
	want := 0
	for _, l := range asked {
		v, ok := m.want[l]
		if g, has := got[l]; has != ok || g != v {
			tb.Fatalf("%v: got %v, %v; want %v, %v", l, g, has, v, ok)
		}
		if ok {
			want++
		}
	}
	if len(got) > want {
		tb.Fatalf("got %d closes, want %d", len(got), want)
	}
}

// A warm environment keeps the whole-market snapshot: a cold batch of 8,000 symbols costs its two reads, later
// batches with symbols not seen before, known or not, cost nothing, and a refresh costs the two reads again.
func TestCacheSnapshotRequests(t *testing.T) {
	m := newMarket(t, 8500)
	if m.built.Chunks < 4 {
		t.Fatalf("rebuild: %+v, want the snapshots in at least 2 chunks each", m.built)
	}
	ctx := context.Background()
	cache, c, clk := snapshotCache(m)
	start := clk.Now()

	cold := m.lookups[:8000]
	got, err := cache.PrevCloses(ctx, cold)
	if err != nil {
		t.Fatal(err)
	}
	m.checkSome(t, cold, got)
	if n := c.requests(); n != 2 {
		t.Fatalf("cold batch of 8000 symbols: %d requests (%d queries, %d batch gets), want 2", n, c.queries.Load(), c.batchGets.Load())
	}

	// ten minutes' batches, each with symbols seen before, symbols not seen yet and symbols with no close
	for i := range 10 {
		clk.Add(40 * time.Second) // 6m40s in all: before the earliest refresh point (7m30s)
		batch := append([]enrich.Lookup(nil), m.lookups[i*100:i*100+100]...)
		batch = append(batch, m.lookups[8000+i*50:8000+i*50+50]...)
		for j := range 5 {
			batch = append(batch, enrich.Lookup{Symbol: fmt.Sprintf("NEW%d%d", i, j), Before: d("2024-07-11")})
		}
		got, err := cache.PrevCloses(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		m.checkSome(t, batch, got)
	}
	cache.Wait()
	if n := c.requests(); n != 2 {
		t.Fatalf("after 10 warm batches with new and unknown symbols: %d requests, want still 2", n)
	}
	if n := cache.Len(); n != 0 {
		t.Errorf("%d per-symbol entries, want every answer from the snapshot", n)
	}

	// the loader rewrites a close (a split) and loads a new listing, then rebuilds the snapshots
	split, listing := m.lookups[1], enrich.Lookup{Symbol: "LIST", Before: d("2024-07-11")}
	if err := m.db.Put(ctx, []prevclose.Close{{Symbol: split.Symbol, Date: d("2024-07-10"), Close: 2.5}, {Symbol: listing.Symbol, Date: d("2024-07-10"), Close: 30}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.RebuildSnapshots(ctx, []string{listing.Symbol}); err != nil {
		t.Fatal(err)
	}
	// past every refresh point (at most 13m30s), before expiry: the known snapshot is served while it refreshes
	clk.Add(start.Add(14 * time.Minute).Sub(clk.Now()))
	pair := []enrich.Lookup{split, listing}
	got, err = cache.PrevCloses(ctx, pair)
	if err != nil {
		t.Fatal(err)
	}
	if got[split] != m.want[split] || len(got) != 1 {
		t.Errorf("while refreshing: got %v, want the known %v and no close for %s", got, m.want[split], listing.Symbol)
	}
	cache.Wait()
	if n := c.requests(); n != 4 {
		t.Fatalf("after the refresh: %d requests, want 4 (2 more)", n)
	}
	got, err = cache.PrevCloses(ctx, pair)
	if err != nil {
		t.Fatal(err)
	}
	if got[split] != 2.5 || got[listing] != 30 {
		t.Errorf("after the refresh: got %v, want %s 2.5 and %s 30", got, split.Symbol, listing.Symbol)
	}
	if n := c.requests(); n != 4 {
		t.Errorf("%d requests, want no more after the refresh", n)
	}

	// the store goes down and the snapshot expires: the known one is served, every answer counted as stale
	c.down.Store(true)
	clk.Add(16 * time.Minute)
	batch := append([]enrich.Lookup{split, listing, {Symbol: "NONE", Before: d("2024-07-11")}}, m.lookups[2:5]...)
	got, err = cache.PrevCloses(ctx, batch)
	if err != nil {
		t.Fatalf("store down, snapshot known: got %v, want the known closes", err)
	}
	if got[split] != 2.5 || got[listing] != 30 || len(got) != 5 {
		t.Errorf("store down: got %v, want the last known closes", got)
	}
	if n := cache.StaleServed(); n != int64(len(batch)) {
		t.Errorf("StaleServed = %d, want %d (each lookup of the batch)", n, len(batch))
	}
	// nothing known for another trading date: the batch fails
	if _, err := cache.PrevCloses(ctx, []enrich.Lookup{{Symbol: split.Symbol, Before: d("2024-07-12")}}); !errors.Is(err, errOutage) {
		t.Errorf("store down, nothing known: got %v, want %v", err, errOutage)
	}
	// recovered: fresh answers, nothing more counted
	c.down.Store(false)
	stale := cache.StaleServed()
	if got, err = cache.PrevCloses(ctx, batch); err != nil || got[split] != 2.5 || len(got) != 5 {
		t.Errorf("recovered: got %v, %v", got, err)
	}
	if n := cache.StaleServed(); n != stale {
		t.Errorf("StaleServed went from %d to %d with the store up", stale, n)
	}
	m.want[split] = 2.5
	checkIncomplete(t, m)
}

// checkIncomplete: a snapshot missing a chunk (a rebuild running concurrently) answers what it holds; the symbols
// it lacks are read one by one, never taken for "no close".
func checkIncomplete(t *testing.T, m *market) {
	ctx := context.Background()
	client, ok := m.db.Client.(*dynamodb.Client)
	if !ok {
		t.Fatalf("client is %T", m.db.Client)
	}
	if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(m.db.Table), Key: map[string]types.AttributeValue{
		prevclose.AttrSymbol: &types.AttributeValueMemberS{Value: prevclose.SnapshotSymbol},
		prevclose.AttrDate:   &types.AttributeValueMemberS{Value: "2024-07-10#0001"},
	}}); err != nil {
		t.Fatal(err)
	}
	snap, err := m.db.Snapshot(ctx, d("2024-07-11"))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Complete || len(snap.Closes) == 0 || len(snap.Closes) >= len(m.lookups) {
		t.Fatalf("snapshot without chunk 1: complete %v with %d closes, want incomplete with some", snap.Complete, len(snap.Closes))
	}
	batch := []enrich.Lookup{{Symbol: "NONE", Before: d("2024-07-11")}}
	held, lacked := 0, 0
	for _, l := range m.lookups {
		if _, in := snap.Closes[l.Symbol]; in && held < 2 {
			batch, held = append(batch, l), held+1
		} else if !in && lacked < 2 {
			batch, lacked = append(batch, l), lacked+1
		}
	}
	cache, c, _ := snapshotCache(m)
	got, err := cache.PrevCloses(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	m.checkSome(t, batch, got)
	t.Logf("%d requests (%d queries, %d batch gets)", c.requests(), c.queries.Load(), c.batchGets.Load())
}

// Concurrent cold batches (a burst meeting a new environment) read the snapshot once.
func TestCacheSnapshotSharedRead(t *testing.T) {
	m := newMarket(t, 2000)
	cache, c, _ := snapshotCache(m)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			part := m.lookups[i*250 : i*250+250]
			got, err := cache.PrevCloses(context.Background(), part)
			if err != nil {
				t.Error(err)
				return
			}
			m.checkSome(t, part, got)
		})
	}
	wg.Wait()
	if n := c.requests(); n != 1 { // 2,000 symbols fit in one chunk: one Query
		t.Errorf("8 concurrent cold batches: %d requests, want 1 (one shared snapshot read)", n)
	}
}

// The cache keeps the snapshots of at most MaxSnapshots trading dates, dropping the oldest date first.
func TestCacheSnapshotsBounded(t *testing.T) {
	db := newDynamo(t)
	ctx := context.Background()
	var closes []prevclose.Close
	for day := d("2024-07-01"); day.Before(d("2024-07-06")); day = day.AddDays(1) {
		closes = append(closes, prevclose.Close{Symbol: "AAA", Date: day, Close: float64(day.Day)})
	}
	if err := db.Put(ctx, closes); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RebuildSnapshots(ctx, []string{"AAA"}); err != nil {
		t.Fatal(err)
	}
	c := &counting{DynamoDBAPI: db.Client}
	cache := prevclose.NewCache(prevclose.NewDynamoDB(c, db.Table), prevclose.CacheOptions{MaxSnapshots: 2})
	ask := func(before string) {
		t.Helper()
		l := enrich.Lookup{Symbol: "AAA", Before: d(before)}
		got, err := cache.PrevCloses(ctx, []enrich.Lookup{l})
		if want := float64(d(before).Day - 1); err != nil || got[l] != want {
			t.Fatalf("before %s: got %v, %v; want %v", before, got, err, want)
		}
	}
	for _, day := range []string{"2024-07-02", "2024-07-03", "2024-07-04", "2024-07-05"} {
		ask(day)
	}
	if n := c.requests(); n != 4 {
		t.Fatalf("4 dates: %d requests, want 4 (one snapshot each)", n)
	}
	ask("2024-07-05")
	ask("2024-07-04")
	if n := c.requests(); n != 4 {
		t.Errorf("the 2 newest dates again: %d requests, want none more", n)
	}
	ask("2024-07-02")
	if n := c.requests(); n != 5 {
		t.Errorf("an evicted date again: %d requests, want 1 more", n)
	}
}
