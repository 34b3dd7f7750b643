package prevclose_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// counting counts the requests sent to a real table and can hand back BatchGetItem keys as unprocessed (as a
// throttled table does; dynalite never does) or fail them, or fail every read (down: an outage).
type counting struct {
	prevclose.DynamoDBAPI
	queries, batchGets atomic.Int64
	down               atomic.Bool
	mu                 sync.Mutex
	unprocessed        int   // how many BatchGetItem calls return half their keys unprocessed
	getErr             error // every BatchGetItem fails with it
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	if c.down.Load() {
		return nil, errOutage
	}
	return c.DynamoDBAPI.Query(ctx, in, opts...)
}

func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batchGets.Add(1)
	if c.down.Load() {
		return nil, errOutage
	}
	c.mu.Lock()
	err, partial := c.getErr, c.unprocessed > 0
	if partial {
		c.unprocessed--
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !partial {
		return c.DynamoDBAPI.BatchGetItem(ctx, in, opts...)
	}
	part := map[string]types.KeysAndAttributes{}
	rest := map[string]types.KeysAndAttributes{}
	for tbl, ka := range in.RequestItems {
		half := len(ka.Keys) / 2
		if half > 0 {
			part[tbl] = types.KeysAndAttributes{Keys: ka.Keys[:half]}
		}
		rest[tbl] = types.KeysAndAttributes{Keys: ka.Keys[half:]}
	}
	if len(part) == 0 { // nothing processed at all, as DynamoDB may answer
		return &dynamodb.BatchGetItemOutput{UnprocessedKeys: rest}, nil
	}
	out, err := c.DynamoDBAPI.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: part}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedKeys = rest
	return out, nil
}

// errOutage is what a counting client that is down answers.
var errOutage = errors.New("dial tcp: connection refused")

func (c *counting) requests() int64 { return c.queries.Load() + c.batchGets.Load() }

// market is a whole market in a table: n symbols with closes on 2024-07-09 and (all but every 100th) 2024-07-10,
// and their snapshots. want answers the lookups before 2024-07-11.
type market struct {
	db      *prevclose.DynamoDB
	lookups []enrich.Lookup
	want    map[enrich.Lookup]float64
	built   prevclose.SnapshotResult
}

func newMarket(tb testing.TB, n int) *market {
	tb.Helper()
	db := newDynamo(tb)
	m := &market{db: db, want: make(map[enrich.Lookup]float64, n)}
	var closes []prevclose.Close
	var symbols []string
	for i := range n {
		s := fmt.Sprintf("S%04d", i)
		symbols = append(symbols, s)
		closes = append(closes, prevclose.Close{Symbol: s, Date: d("2024-07-09"), Close: 10 + float64(i)/100})
		l := enrich.Lookup{Symbol: s, Before: d("2024-07-11")}
		m.lookups = append(m.lookups, l)
		m.want[l] = 10 + float64(i)/100
		if i%100 != 0 {
			closes = append(closes, prevclose.Close{Symbol: s, Date: d("2024-07-10"), Close: 20 + float64(i)/100})
			m.want[l] = 20 + float64(i)/100
		}
	}
	ctx := context.Background()
	if err := db.Put(ctx, closes); err != nil {
		tb.Fatal(err)
	}
	var err error
	if m.built, err = db.RebuildSnapshots(ctx, symbols); err != nil {
		tb.Fatal(err)
	}
	return m
}

// check compares a batch answer with the market's closes.
func (m *market) check(tb testing.TB, got map[enrich.Lookup]float64) {
	tb.Helper()
	if len(got) != len(m.want) {
		tb.Fatalf("got %d closes, want %d", len(got), len(m.want))
	}
	for l, v := range m.want {
		if got[l] != v {
			tb.Fatalf("%v: got %v, want %v", l, got[l], v)
		}
	}
}

// A cold batch of 8,000 symbols costs a handful of requests when the snapshot exists.
func TestDynamoDBColdBatch8kRequests(t *testing.T) {
	m := newMarket(t, 8000)
	if m.built.Dates != 2 || m.built.Symbols != 8000 || m.built.Chunks < 4 {
		t.Fatalf("rebuild: %+v, want 2 dates of 8000 symbols in at least 2 chunks each", m.built)
	}
	ctx := context.Background()
	t.Run("cold", func(t *testing.T) {
		c := &counting{DynamoDBAPI: m.db.Client}
		db := prevclose.NewDynamoDB(c, m.db.Table)
		got, err := db.PrevCloses(ctx, m.lookups)
		if err != nil {
			t.Fatal(err)
		}
		m.check(t, got)
		if n := c.requests(); n > 10 {
			t.Errorf("cold batch of 8000 symbols: %d requests (%d queries, %d batch gets), want at most 10", n, c.queries.Load(), c.batchGets.Load())
		}
		t.Logf("cold batch of 8000 symbols: %d requests (%d queries, %d batch gets)", c.requests(), c.queries.Load(), c.batchGets.Load())
	})
	t.Run("symbols the snapshot lacks are queried", func(t *testing.T) {
		c := &counting{DynamoDBAPI: m.db.Client}
		db := prevclose.NewDynamoDB(c, m.db.Table)
		if err := m.db.Put(ctx, []prevclose.Close{{Symbol: "LATE", Date: d("2024-07-08"), Close: 5}}); err != nil {
			t.Fatal(err)
		}
		late, none := enrich.Lookup{Symbol: "LATE", Before: d("2024-07-11")}, enrich.Lookup{Symbol: "NONE", Before: d("2024-07-11")}
		got, err := db.PrevCloses(ctx, append(slices.Clone(m.lookups), late, none))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got[late]; !ok || v != 5 {
			t.Errorf("LATE: got %v, %v; want 5", v, ok)
		}
		if _, ok := got[none]; ok {
			t.Errorf("NONE: got a close, want none")
		}
		delete(got, late)
		m.check(t, got)
		if n := c.requests(); n > 12 {
			t.Errorf("%d requests, want the snapshot's and one query per missing symbol", n)
		}
	})
	t.Run("unprocessed keys are retried", func(t *testing.T) {
		c := &counting{DynamoDBAPI: m.db.Client, unprocessed: 2}
		db := prevclose.NewDynamoDB(c, m.db.Table)
		got, err := db.PrevCloses(ctx, m.lookups)
		if err != nil {
			t.Fatal(err)
		}
		m.check(t, got)
		if c.batchGets.Load() < 2 {
			t.Errorf("%d batch gets, want the partial ones retried", c.batchGets.Load())
		}
	})
	t.Run("unprocessed keys give up", func(t *testing.T) {
		c := &counting{DynamoDBAPI: m.db.Client, unprocessed: 100}
		db := prevclose.NewDynamoDB(c, m.db.Table)
		db.MaxWriteAttempts = 2
		if _, err := db.PrevCloses(ctx, m.lookups); !errors.Is(err, prevclose.ErrUnprocessed) {
			t.Errorf("got %v, want ErrUnprocessed", err)
		}
	})
	t.Run("a failing batch get fails the batch", func(t *testing.T) {
		boom := errors.New("connection reset")
		c := &counting{DynamoDBAPI: m.db.Client, getErr: boom}
		db := prevclose.NewDynamoDB(c, m.db.Table)
		if _, err := db.PrevCloses(ctx, m.lookups); !errors.Is(err, boom) || !strings.Contains(err.Error(), "snapshot") {
			t.Errorf("got %v, want the error in context", err)
		}
	})
}

// snapshotDates lists the snapshot items' sort keys.
func snapshotDates(t *testing.T, db *prevclose.DynamoDB) []string {
	t.Helper()
	out, err := db.Client.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(db.Table),
		KeyConditionExpression:    aws.String("symbol = :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: prevclose.SnapshotSymbol}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range out.Items {
		keys = append(keys, it[prevclose.AttrDate].(*types.AttributeValueMemberS).Value)
	}
	return keys
}

// Snapshots cover the dates with closes in the SnapshotDays up to the newest close; older ones are deleted, a
// rewrite reaches every snapshot after it, and lookups before the window are answered by per-symbol queries.
func TestRebuildSnapshots(t *testing.T) {
	db := newDynamo(t)
	ctx := context.Background()
	// AAA trades every weekday of June 2024, BBB only on the 3rd
	var closes []prevclose.Close
	for day := d("2024-06-03"); day.Before(d("2024-07-01")); day = day.AddDays(1) {
		if wd := day.Time().Weekday(); wd != 0 && wd != 6 {
			closes = append(closes, prevclose.Close{Symbol: "AAA", Date: day, Close: float64(day.Day)})
		}
	}
	closes = append(closes, prevclose.Close{Symbol: "BBB", Date: d("2024-06-03"), Close: 7})
	if err := db.Put(ctx, closes); err != nil {
		t.Fatal(err)
	}
	res, err := db.RebuildSnapshots(ctx, []string{"AAA", "BBB"})
	if err != nil {
		t.Fatal(err)
	}
	// the window: 2024-06-15..2024-06-28, weekdays 17-21 and 24-28
	want := []string{"2024-06-17#0000", "2024-06-18#0000", "2024-06-19#0000", "2024-06-20#0000", "2024-06-21#0000",
		"2024-06-24#0000", "2024-06-25#0000", "2024-06-26#0000", "2024-06-27#0000", "2024-06-28#0000"}
	if got := snapshotDates(t, db); !slices.Equal(got, want) || res.Dates != 10 || res.Symbols != 2 || res.Deleted != 0 {
		t.Fatalf("snapshots %v (%+v), want %v", got, res, want)
	}
	lookups := func(before string) []enrich.Lookup {
		return []enrich.Lookup{{Symbol: "AAA", Before: d(before)}, {Symbol: "BBB", Before: d(before)}}
	}
	for _, tt := range []struct {
		before   string
		aaa, bbb float64
	}{
		{"2024-07-01", 28, 7}, // Monday: Friday's snapshot
		{"2024-06-24", 21, 7},
		{"2024-06-17", 14, 7}, // before the window: per-symbol queries
		{"2024-06-04", 3, 7},
	} {
		got, err := db.PrevCloses(ctx, lookups(tt.before))
		if err != nil {
			t.Fatal(err)
		}
		if got[lookups(tt.before)[0]] != tt.aaa || got[lookups(tt.before)[1]] != tt.bbb {
			t.Errorf("before %s: got %v, want AAA %v BBB %v", tt.before, got, tt.aaa, tt.bbb)
		}
	}
	// a split rewrites the last days, a new day arrives: the window moves, the old snapshots go
	split := []prevclose.Close{{Symbol: "AAA", Date: d("2024-06-27"), Close: 2.7}, {Symbol: "AAA", Date: d("2024-06-28"), Close: 2.8},
		{Symbol: "AAA", Date: d("2024-07-01"), Close: 0.1}}
	if err := db.Put(ctx, split); err != nil {
		t.Fatal(err)
	}
	res, err = db.RebuildSnapshots(ctx, nil) // the symbols come from the snapshots
	if err != nil {
		t.Fatal(err)
	}
	want = append(want[1:], "2024-07-01#0000")
	if got := snapshotDates(t, db); !slices.Equal(got, want) || res.Deleted != 1 || res.Symbols != 2 {
		t.Fatalf("after the split: snapshots %v (%+v), want %v and 1 deleted", got, res, want)
	}
	got, err := db.PrevCloses(ctx, lookups("2024-07-01"))
	if err != nil || got[lookups("2024-07-01")[0]] != 2.8 || got[lookups("2024-07-01")[1]] != 7 {
		t.Errorf("after the split: got %v, %v; want AAA 2.8 BBB 7", got, err)
	}
	// a store with no closes has no snapshots
	empty := newDynamo(t)
	if res, err := empty.RebuildSnapshots(ctx, []string{"AAA"}); err != nil || res != (prevclose.SnapshotResult{}) {
		t.Errorf("empty table: got %+v, %v", res, err)
	}
}

// No symbol can be stored or looked up under the snapshots' key.
func TestSnapshotSymbolIsNoSymbol(t *testing.T) {
	if err := bar.ValidateSymbol(prevclose.SnapshotSymbol); err == nil {
		t.Fatalf("ValidateSymbol(%q) accepts it", prevclose.SnapshotSymbol)
	}
	c := prevclose.Close{Symbol: prevclose.SnapshotSymbol, Date: d("2024-07-10"), Close: 1}
	if err := c.Validate(); !errors.Is(err, prevclose.ErrInvalidClose) {
		t.Errorf("Validate: got %v, want ErrInvalidClose", err)
	}
}
