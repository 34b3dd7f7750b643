package prevclose_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// Store is what every adapter offers; the contract below runs against each.
type Store interface {
	enrich.PrevCloses
	Put(ctx context.Context, closes []prevclose.Close) error
}

var (
	_ Store = (*prevclose.Memory)(nil)
	_ Store = (*prevclose.DynamoDB)(nil)
)

// snapshotting rebuilds the snapshots after every Put, as the loader and `feed prevclose import` do, so its
// batch lookups are answered from snapshots where they can be.
type snapshotting struct {
	*prevclose.DynamoDB
}

func (s snapshotting) Put(ctx context.Context, closes []prevclose.Close) error {
	if err := s.DynamoDB.Put(ctx, closes); err != nil {
		return err
	}
	var symbols []string
	for _, c := range closes {
		symbols = append(symbols, c.Symbol)
	}
	_, err := s.RebuildSnapshots(ctx, symbols)
	return err
}

// cachedStore puts a Cache in front of a store's reads. A cache promises a write is seen within its freshness
// bound (TTL), not at once, so each Put moves the cache's clock past it: the next reads must see the write.
type cachedStore struct {
	*prevclose.Cache
	put func(context.Context, []prevclose.Close) error
	clk *clock
}

// cacheTTL is the contract's cache lifetime.
const cacheTTL = 15 * time.Minute

func newCachedStore(src prevclose.Source, put func(context.Context, []prevclose.Close) error) cachedStore {
	clk := &clock{t: time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)}
	return cachedStore{Cache: prevclose.NewCache(src, prevclose.CacheOptions{TTL: cacheTTL, Now: clk.Now}), put: put, clk: clk}
}

func (c cachedStore) Put(ctx context.Context, closes []prevclose.Close) error {
	if err := c.put(ctx, closes); err != nil {
		return err
	}
	c.clk.Add(cacheTTL + time.Second)
	return nil
}

func d(s string) bar.Date {
	v, err := bar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestContract(t *testing.T) {
	adapters := map[string]func(t *testing.T) Store{
		"memory": func(t *testing.T) Store {
			m, err := prevclose.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		"csv": func(t *testing.T) Store {
			p := filepath.Join(t.TempDir(), "closes.csv")
			if err := os.WriteFile(p, []byte("symbol,date,close\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := prevclose.LoadCSVFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		"dynamodb": func(t *testing.T) Store {
			return newDynamo(t)
		},
		"dynamodb+cache": func(t *testing.T) Store {
			db := newDynamo(t)
			return newCachedStore(db, db.Put)
		},
		"dynamodb+snapshots": func(t *testing.T) Store {
			return snapshotting{newDynamo(t)}
		},
		"dynamodb+snapshots+cache": func(t *testing.T) Store {
			db := snapshotting{newDynamo(t)}
			return newCachedStore(db, db.Put)
		},
		"memory+cache": func(t *testing.T) Store {
			m, err := prevclose.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			return newCachedStore(m, m.Put)
		},
	}
	for name, mk := range adapters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testStore(t, mk(t))
		})
	}
}

func newDynamo(t testing.TB) *prevclose.DynamoDB {
	t.Helper()
	s := dynalite.StartT(t)
	client := s.Client()
	table := "prev-closes"
	if err := prevclose.CreateTable(context.Background(), client, table); err != nil {
		t.Fatal(err)
	}
	if err := prevclose.CreateTable(context.Background(), client, table); err != nil {
		t.Fatalf("CreateTable is not idempotent: %v", err)
	}
	db := prevclose.NewDynamoDB(client, table)
	db.Source = "test"
	return db
}

func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	seed := []prevclose.Close{
		{Symbol: "AMZN", Date: d("2024-07-03"), Close: 197.59},
		{Symbol: "AMZN", Date: d("2024-07-05"), Close: 200.00},
		{Symbol: "AMZN", Date: d("2024-07-08"), Close: 199.29},
		{Symbol: "AMZN", Date: d("2024-07-10"), Close: 196.365},
		{Symbol: "NVDA", Date: d("2024-07-10"), Close: 134.91},
		{Symbol: "BRK.B", Date: d("2023-12-29"), Close: 356.66},
	}
	if err := s.Put(ctx, seed); err != nil {
		t.Fatalf("Put: %v", err)
	}
	tests := []struct {
		name   string
		symbol string
		before string
		want   float64
		ok     bool
	}{
		{"the day before", "AMZN", "2024-07-11", 196.365, true},
		{"strictly before: same date excluded", "AMZN", "2024-07-10", 199.29, true},
		{"a gap (weekend, holiday) falls back to the latest", "AMZN", "2024-07-05", 197.59, true},
		{"Monday looks back to Friday", "AMZN", "2024-07-08", 200.00, true},
		{"long after the last close", "AMZN", "2025-01-01", 196.365, true},
		{"before the first close", "AMZN", "2024-07-03", 0, false},
		{"symbols do not mix", "NVDA", "2024-07-11", 134.91, true},
		{"across a year end", "BRK.B", "2024-01-02", 356.66, true},
		{"unknown symbol", "MSFT", "2024-07-11", 0, false},
		{"symbol is case-sensitive", "amzn", "2024-07-11", 0, false},
	}
	var batch []enrich.Lookup
	for _, tt := range tests {
		got, ok, err := s.PrevClose(ctx, tt.symbol, d(tt.before))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: PrevClose(%s, %s) = %v, %v; want %v, %v", tt.name, tt.symbol, tt.before, got, ok, tt.want, tt.ok)
		}
		batch = append(batch, enrich.Lookup{Symbol: tt.symbol, Before: d(tt.before)})
	}
	// the same lookups in one batch call (a lookup twice, several dates): the same answers
	batch = append(batch, batch[0])
	found, err := s.PrevCloses(ctx, batch)
	if err != nil {
		t.Fatalf("PrevCloses: %v", err)
	}
	known := 0
	for _, tt := range tests {
		got, ok := found[enrich.Lookup{Symbol: tt.symbol, Before: d(tt.before)}]
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: PrevCloses[%s, %s] = %v, %v; want %v, %v", tt.name, tt.symbol, tt.before, got, ok, tt.want, tt.ok)
		}
		if tt.ok {
			known++
		}
	}
	if n := known; len(found) != n {
		t.Errorf("PrevCloses answered %d lookups, want the %d known: %v", len(found), n, found)
	}
	if found, err := s.PrevCloses(ctx, nil); err != nil || len(found) != 0 {
		t.Errorf("PrevCloses(nil) = %v, %v; want nothing", found, err)
	}
	// Put is idempotent and a later write of the same key wins (a split-adjusted rewrite).
	if err := s.Put(ctx, []prevclose.Close{{Symbol: "NVDA", Date: d("2024-07-09"), Close: 13.1}, {Symbol: "NVDA", Date: d("2024-07-09"), Close: 13.2}}); err != nil {
		t.Fatalf("Put duplicate keys: %v", err)
	}
	if err := s.Put(ctx, []prevclose.Close{{Symbol: "NVDA", Date: d("2024-07-09"), Close: 13.2}}); err != nil {
		t.Fatalf("Put again: %v", err)
	}
	if got, ok, err := s.PrevClose(ctx, "NVDA", d("2024-07-10")); err != nil || !ok || got != 13.2 {
		t.Errorf("after rewrite: got %v, %v, %v; want 13.2", got, ok, err)
	}
	nvda := enrich.Lookup{Symbol: "NVDA", Before: d("2024-07-10")}
	if found, err := s.PrevCloses(ctx, []enrich.Lookup{nvda}); err != nil || found[nvda] != 13.2 {
		t.Errorf("after rewrite, batch: got %v, %v; want 13.2", found, err)
	}
	// many closes: more than one BatchWriteItem
	var many []prevclose.Close
	for i := range 60 {
		many = append(many, prevclose.Close{Symbol: "SPY", Date: d("2024-01-01").AddDays(i), Close: float64(400 + i)})
	}
	if err := s.Put(ctx, many); err != nil {
		t.Fatalf("Put 60: %v", err)
	}
	if got, ok, err := s.PrevClose(ctx, "SPY", d("2024-01-01").AddDays(59)); err != nil || !ok || got != 458 {
		t.Errorf("SPY: got %v, %v, %v; want 458", got, ok, err)
	}
	// invalid closes are refused whole
	for _, bad := range []prevclose.Close{{Symbol: "", Date: d("2024-01-01"), Close: 1}, {Symbol: "X", Close: 1}, {Symbol: "X", Date: d("2024-01-01"), Close: 0}, {Symbol: "X", Date: d("2024-01-01"), Close: -3}} {
		err := s.Put(ctx, []prevclose.Close{bad})
		if err == nil || !strings.Contains(err.Error(), "invalid close") {
			t.Errorf("Put(%+v): got %v, want invalid close", bad, err)
		}
	}
}
