package prevclose_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// countingSource counts lookups and can block them or fail them: a fault injector around a real store.
type countingSource struct {
	inner prevclose.Source
	calls atomic.Int64
	gate  chan struct{} // when non-nil, lookups wait for it to close
	err   error
}

func (c *countingSource) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	c.calls.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	if c.err != nil {
		return 0, false, c.err
	}
	return c.inner.PrevClose(ctx, symbol, before)
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
	now := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	c := prevclose.NewCache(src, prevclose.CacheOptions{TTL: 10 * time.Minute, NegativeTTL: time.Minute, Now: func() time.Time { return now }})
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
	now = now.Add(61 * time.Second)
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
	now = now.Add(9 * time.Minute)
	if v, _, _ := c.PrevClose(ctx, "X", d("2024-07-11")); v != 10 {
		t.Errorf("X within TTL: got %v, want cached 10", v)
	}
	now = now.Add(2 * time.Minute)
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
	src.err = nil
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
