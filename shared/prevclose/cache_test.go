package prevclose_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// countingSource counts lookups and can block them or fail them: a fault injector around a real store.
type countingSource struct {
	inner   prevclose.Source
	calls   atomic.Int64  // source calls (a batch is one)
	lookups atomic.Int64  // lookups asked in batches
	gate    chan struct{} // when non-nil, lookups wait for it to close
	mu      sync.Mutex
	err     error
}

func (c *countingSource) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	c.calls.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	if err := c.fault(); err != nil {
		return 0, false, err
	}
	return c.inner.PrevClose(ctx, symbol, before)
}

func (c *countingSource) PrevCloses(ctx context.Context, lookups []enrich.Lookup) (map[enrich.Lookup]float64, error) {
	c.calls.Add(1)
	c.lookups.Add(int64(len(lookups)))
	if c.gate != nil {
		<-c.gate
	}
	if err := c.fault(); err != nil {
		return nil, err
	}
	return c.inner.PrevCloses(ctx, lookups)
}

func (c *countingSource) fault() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *countingSource) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

// clock is a settable clock, safe for the cache's background refreshes.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func memory(t *testing.T, closes ...prevclose.Close) *prevclose.Memory {
	t.Helper()
	m, err := prevclose.NewMemory(closes...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCacheSingleflight(t *testing.T) {
	src := &countingSource{inner: memory(t, prevclose.Close{Symbol: "X", Date: d("2024-07-10"), Close: 10}), gate: make(chan struct{})}
	c := prevclose.NewCache(src, prevclose.CacheOptions{})
	var wg sync.WaitGroup
	results := make([]float64, 50)
	for i := range results {
		wg.Go(func() {
			v, _, err := c.PrevClose(context.Background(), "X", d("2024-07-11"))
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	// let the goroutines pile up on the one in-flight lookup, then release it
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(src.gate)
	wg.Wait()
	if n := src.calls.Load(); n > 2 { // the first wave shares one call; a straggler may start one more
		t.Errorf("source called %d times for one key, want 1 (or 2 with a straggler)", n)
	}
	for i, v := range results {
		if v != 10 {
			t.Fatalf("result %d = %v, want 10", i, v)
		}
	}
	// warm: no more source calls
	before := src.calls.Load()
	for range 100 {
		if _, _, err := c.PrevClose(context.Background(), "X", d("2024-07-11")); err != nil {
			t.Fatal(err)
		}
	}
	if src.calls.Load() != before {
		t.Errorf("warm lookups reached the source")
	}
}

func TestCacheTTLs(t *testing.T) {
	m := memory(t, prevclose.Close{Symbol: "X", Date: d("2024-07-10"), Close: 10})
	src := &countingSource{inner: m}
	clk := &clock{t: time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)}
	c := prevclose.NewCache(src, prevclose.CacheOptions{TTL: 10 * time.Minute, NegativeTTL: time.Minute, Now: clk.Now})
	ctx := context.Background()

	// not found is cached for NegativeTTL only: a close loaded later is seen after it
	if _, ok, _ := c.PrevClose(ctx, "Y", d("2024-07-11")); ok {
		t.Fatal("Y: found before it was stored")
	}
	if err := m.Put(ctx, []prevclose.Close{{Symbol: "Y", Date: d("2024-07-10"), Close: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.PrevClose(ctx, "Y", d("2024-07-11")); ok {
		t.Error("Y: negative answer not cached")
	}
	clk.Add(61 * time.Second)
	if v, ok, _ := c.PrevClose(ctx, "Y", d("2024-07-11")); !ok || v != 5 {
		t.Errorf("Y after NegativeTTL: got %v, %v; want 5", v, ok)
	}

	// found is cached for TTL: a rewrite (split adjustment) is seen after it
	if v, _, _ := c.PrevClose(ctx, "X", d("2024-07-11")); v != 10 {
		t.Fatalf("X: got %v", v)
	}
	if err := m.Put(ctx, []prevclose.Close{{Symbol: "X", Date: d("2024-07-10"), Close: 1}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(9 * time.Minute)
	if v, _, _ := c.PrevClose(ctx, "X", d("2024-07-11")); v != 10 {
		t.Errorf("X within TTL: got %v, want cached 10", v)
	}
	clk.Add(2 * time.Minute)
	if v, _, _ := c.PrevClose(ctx, "X", d("2024-07-11")); v != 1 {
		t.Errorf("X after TTL: got %v, want 1", v)
	}
}

func TestCacheDoesNotCacheErrors(t *testing.T) {
	boom := errors.New("throttled")
	src := &countingSource{inner: memory(t, prevclose.Close{Symbol: "X", Date: d("2024-07-10"), Close: 10}), err: boom}
	c := prevclose.NewCache(src, prevclose.CacheOptions{})
	if _, _, err := c.PrevClose(context.Background(), "X", d("2024-07-11")); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	src.setErr(nil)
	if v, ok, err := c.PrevClose(context.Background(), "X", d("2024-07-11")); err != nil || !ok || v != 10 {
		t.Errorf("after recovery: got %v, %v, %v", v, ok, err)
	}
}

func TestCacheBounded(t *testing.T) {
	src := &countingSource{inner: memory(t, prevclose.Close{Symbol: "X", Date: d("2024-01-01"), Close: 10})}
	c := prevclose.NewCache(src, prevclose.CacheOptions{MaxEntries: 16})
	for i := range 1000 {
		if _, _, err := c.PrevClose(context.Background(), "X", d("2024-01-02").AddDays(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n > 16 {
		t.Errorf("cache holds %d entries, want at most 16", n)
	}
}

func lookups(symbols ...string) []enrich.Lookup {
	ls := make([]enrich.Lookup, len(symbols))
	for i, s := range symbols {
		ls[i] = enrich.Lookup{Symbol: s, Before: d("2024-07-11")}
	}
	return ls
}

// A batch asks the source once, for what the cache does not know; a warm batch asks nothing.
func TestCacheBatch(t *testing.T) {
	src := &countingSource{inner: memory(t,
		prevclose.Close{Symbol: "A", Date: d("2024-07-10"), Close: 1},
		prevclose.Close{Symbol: "B", Date: d("2024-07-10"), Close: 2},
		prevclose.Close{Symbol: "C", Date: d("2024-07-10"), Close: 3})}
	c := prevclose.NewCache(src, prevclose.CacheOptions{})
	ctx := context.Background()
	if v, ok, err := c.PrevClose(ctx, "A", d("2024-07-11")); err != nil || !ok || v != 1 {
		t.Fatalf("A: got %v, %v, %v", v, ok, err)
	}
	got, err := c.PrevCloses(ctx, lookups("A", "B", "C", "NEW", "B"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[enrich.Lookup]float64{lookups("A")[0]: 1, lookups("B")[0]: 2, lookups("C")[0]: 3}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for l, v := range want {
		if got[l] != v {
			t.Errorf("%v: got %v, want %v", l, got[l], v)
		}
	}
	if n, m := src.calls.Load(), src.lookups.Load(); n != 2 || m != 4 {
		t.Errorf("source: %d calls for %d lookups, want 2 calls for 4 (A, then B C NEW once each)", n, m)
	}
	if _, err := c.PrevCloses(ctx, lookups("C", "B", "A", "NEW")); err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("a warm batch reached the source: %d calls", n)
	}
}

// Concurrent batches with overlapping misses ask the source once per lookup.
func TestCacheBatchSharesInflight(t *testing.T) {
	src := &countingSource{inner: memory(t, prevclose.Close{Symbol: "A", Date: d("2024-07-10"), Close: 1}), gate: make(chan struct{})}
	c := prevclose.NewCache(src, prevclose.CacheOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		_, err := c.PrevCloses(context.Background(), lookups("A", "B"))
		errs <- err
	})
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	wg.Go(func() {
		got, err := c.PrevCloses(context.Background(), lookups("A", "B", "C"))
		if err == nil && got[lookups("A")[0]] != 1 {
			t.Errorf("second batch: A = %v, want 1", got[lookups("A")[0]])
		}
		errs <- err
	})
	for src.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(src.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := src.lookups.Load(); m != 3 {
		t.Errorf("source asked %d lookups, want 3 (A and B once, then only C)", m)
	}
}

// A store error serves the last known close (counted) instead of failing; with nothing known it fails.
func TestCacheServesStaleOnError(t *testing.T) {
	m := memory(t, prevclose.Close{Symbol: "X", Date: d("2024-07-10"), Close: 10})
	src := &countingSource{inner: m}
	clk := &clock{t: time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)}
	c := prevclose.NewCache(src, prevclose.CacheOptions{TTL: 10 * time.Minute, Now: clk.Now})
	ctx := context.Background()
	if _, err := c.PrevCloses(ctx, lookups("X", "NONE")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("throttled")
	src.setErr(boom)
	clk.Add(11 * time.Minute) // both expired: read through, which fails
	got, err := c.PrevCloses(ctx, lookups("X", "NONE"))
	if err != nil {
		t.Fatalf("known answers: got error %v, want the stale answers", err)
	}
	if v, ok := got[lookups("X")[0]]; !ok || v != 10 || len(got) != 1 {
		t.Errorf("got %v, want X=10 and NONE still unknown", got)
	}
	if n := c.StaleServed(); n != 2 {
		t.Errorf("StaleServed = %d, want 2", n)
	}
	// nothing known: the error fails the lookup
	if _, err := c.PrevCloses(ctx, lookups("X", "Y")); !errors.Is(err, boom) {
		t.Errorf("unknown Y with a failing store: got %v, want %v", err, boom)
	}
	// recovered: fresh answers, no more stale ones
	src.setErr(nil)
	if err := m.Put(ctx, []prevclose.Close{{Symbol: "X", Date: d("2024-07-10"), Close: 1}}); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.PrevClose(ctx, "X", d("2024-07-11")); err != nil || !ok || v != 1 {
		t.Errorf("after recovery: got %v, %v, %v; want 1", v, ok, err)
	}
	if n := c.StaleServed(); n != 3 { // the failed batch served X stale once more
		t.Errorf("StaleServed = %d, want 3", n)
	}
}

// Entries are refreshed ahead in the background at jittered points while the known value is served, so a
// cache loaded at once does not expire at once.
func TestCacheRefreshAhead(t *testing.T) {
	var closes []prevclose.Close
	var syms []string
	for i := range 200 {
		s := "S" + strconv.Itoa(i)
		syms = append(syms, s)
		closes = append(closes, prevclose.Close{Symbol: s, Date: d("2024-07-10"), Close: 10})
	}
	m := memory(t, closes...)
	src := &countingSource{inner: m}
	clk := &clock{t: time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)}
	advance := clk.Add
	c := prevclose.NewCache(src, prevclose.CacheOptions{TTL: 10 * time.Minute, Now: clk.Now})
	ctx := context.Background()
	if _, err := c.PrevCloses(ctx, lookups(syms...)); err != nil {
		t.Fatal(err)
	}
	// a split rewrites every close
	for i := range closes {
		closes[i].Close = 1
	}
	if err := m.Put(ctx, closes); err != nil {
		t.Fatal(err)
	}
	advance(4 * time.Minute) // before any refresh point (5 to 9 minutes)
	got, err := c.PrevCloses(ctx, lookups(syms...))
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	if n := src.lookups.Load(); n != 200 {
		t.Fatalf("source asked %d lookups before any refresh point, want 200", n)
	}
	advance(3 * time.Minute) // 7 minutes: some entries are due, not all
	got, err = c.PrevCloses(ctx, lookups(syms...))
	if err != nil {
		t.Fatal(err)
	}
	for l, v := range got {
		if v != 10 {
			t.Fatalf("%v: got %v, want the known 10 while refreshing", l, v)
		}
	}
	c.Wait()
	refreshed := src.lookups.Load() - 200
	if refreshed == 0 || refreshed == 200 {
		t.Errorf("%d of 200 entries refreshed at 7 of 10 minutes, want some but not all (jitter)", refreshed)
	}
	got, err = c.PrevCloses(ctx, lookups(syms...))
	if err != nil {
		t.Fatal(err)
	}
	ones := 0
	for _, v := range got {
		if v == 1 {
			ones++
		}
	}
	if int64(ones) != refreshed {
		t.Errorf("%d entries show the rewritten close, want the %d refreshed", ones, refreshed)
	}
	// the bound: past TTL from the first read, nothing old is served
	advance(3*time.Minute + time.Second)
	got, err = c.PrevCloses(ctx, lookups(syms...))
	if err != nil {
		t.Fatal(err)
	}
	for l, v := range got {
		if v != 1 {
			t.Fatalf("%v: got %v past TTL, want the rewritten 1", l, v)
		}
	}
	if c.StaleServed() != 0 {
		t.Errorf("StaleServed = %d with a healthy store", c.StaleServed())
	}
}
