package loader_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/loader"
	"github.com/finfeed/finfeed/shared/prevclose"
)

const table = "prev-closes"

func date(t *testing.T, s string) bar.Date {
	t.Helper()
	d, err := bar.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// market is a fake Alpaca with two weeks of NVDA (10:1 split effective Monday 2024-06-10) and AAPL closes.
func market(t *testing.T) *fakealpaca.Server {
	t.Helper()
	srv := fakealpacatest.Start(t, "k", "s")
	nvda := map[string]float64{"2024-06-03": 1150.00, "2024-06-04": 1164.37, "2024-06-05": 1224.40,
		"2024-06-06": 1209.98, "2024-06-07": 1208.88, "2024-06-10": 121.79, "2024-06-11": 120.91,
		"2024-06-12": 125.20, "2024-06-13": 129.61, "2024-06-14": 131.88}
	for d, c := range nvda {
		srv.AddDaily(fakealpaca.DailyBar{Symbol: "NVDA", Date: date(t, d), Close: c, Volume: 1000})
		srv.AddDaily(fakealpaca.DailyBar{Symbol: "AAPL", Date: date(t, d), Close: 190 + c/1000, Volume: 1000})
	}
	srv.AddSplit(fakealpaca.Split{Symbol: "NVDA", Date: date(t, "2024-06-10"), Ratio: 10})
	return srv
}

// dynamo starts dynalite with the table; wrap may put a fault injector around the client.
func dynamo(t *testing.T) *dynamodb.Client {
	t.Helper()
	client := dynalite.StartT(t).Client()
	if err := prevclose.CreateTable(context.Background(), client, table); err != nil {
		t.Fatal(err)
	}
	return client
}

func newLoader(srv *fakealpaca.Server, api prevclose.DynamoDBAPI) (*loader.Loader, *prevclose.DynamoDB) {
	store := prevclose.NewDynamoDB(api, table)
	store.Source = loader.Source
	rest := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: srv.DataURL, Key: "k", Secret: "s"}, 0)
	return &loader.Loader{Bars: rest, Store: store, Snapshots: store, Symbols: []string{"AAPL", "NVDA"}, Log: slog.New(slog.DiscardHandler)}, store
}

// scan returns the table as symbol|date -> close.
func scan(t *testing.T, client *dynamodb.Client) map[string]float64 {
	t.Helper()
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, item := range out.Items {
		s := item[prevclose.AttrSymbol].(*types.AttributeValueMemberS).Value
		if s == prevclose.SnapshotSymbol {
			continue
		}
		d := item[prevclose.AttrDate].(*types.AttributeValueMemberS).Value
		c, err := strconv.ParseFloat(item[prevclose.AttrClose].(*types.AttributeValueMemberN).Value, 64)
		if err != nil {
			t.Fatal(err)
		}
		m[s+"|"+d] = c
	}
	return m
}

func TestPreMarketRunPutsTheSplitAdjustedCloseInPlace(t *testing.T) {
	srv := market(t)
	client := dynamo(t)
	l, store := newLoader(srv, client)
	ctx := context.Background()
	exDate := date(t, "2024-06-10")
	firstBar := alpaca.Raw("NVDA", 121, 122, 120.5, 121.5, 1000, 10, 121.3, time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC)) // 04:00 ET
	rules := enrich.Rules{Threshold: enrich.DefaultThreshold}

	// Friday after the close: the split is not effective yet, so Friday's close is stored as traded
	srv.SetToday(date(t, "2024-06-07"))
	if _, err := l.Scheduled(ctx, time.Date(2024, 6, 7, 20, 30, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	before, ok, err := store.PrevClose(ctx, "NVDA", exDate)
	if err != nil || !ok || before != 1208.88 {
		t.Fatalf("prev close for %s after Friday's run: got %v %v %v, want 1208.88", exDate, before, ok, err)
	}
	if e := rules.Apply(&firstBar, before, ok); e.Indicator != bar.Bearish {
		t.Fatalf("sanity: with the unadjusted close the first bar is %s (%.1f%%), want the fake Bearish", e.Indicator, e.Change)
	}

	// Monday 03:30 ET, before the first pre-market bar: Alpaca now adjusts Friday's close
	srv.SetToday(exDate)
	if _, err := l.Scheduled(ctx, time.Date(2024, 6, 10, 7, 30, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	after, ok, err := store.PrevClose(ctx, "NVDA", exDate)
	if err != nil || !ok || math.Abs(after-120.888) > 1e-9 {
		t.Fatalf("prev close for %s after the pre-market run: got %v %v %v, want 120.888", exDate, after, ok, err)
	}
	if e := rules.Apply(&firstBar, after, ok); e.Indicator != bar.Neutral || math.Abs(e.Change-0.5063) > 0.001 {
		t.Errorf("first post-split bar: got %s %.4f%%, want Neutral +0.5063%%", e.Indicator, e.Change)
	}
	// the enrich function's batch read sees the adjusted close too, from the snapshot the run rebuilt: one request
	reads := &countingAPI{DynamoDBAPI: client}
	nvda, aapl := enrich.Lookup{Symbol: "NVDA", Before: exDate}, enrich.Lookup{Symbol: "AAPL", Before: exDate}
	found, err := prevclose.NewDynamoDB(reads, table).PrevCloses(ctx, []enrich.Lookup{nvda, aapl})
	if err != nil || math.Abs(found[nvda]-120.888) > 1e-9 || found[aapl] != 190+1208.88/1000 {
		t.Fatalf("batch read after the pre-market run: got %v, %v; want NVDA 120.888, AAPL %v", found, err, 190+1208.88/1000)
	}
	if n := reads.n.Load(); n != 1 {
		t.Errorf("batch read of 2 symbols: %d requests, want 1 (the snapshot)", n)
	}
	got := scan(t, client)
	if got["NVDA|2024-06-03"] != 115 || got["AAPL|2024-06-07"] != 190+1208.88/1000 {
		t.Errorf("lookback rewrite: got NVDA 06-03 %v, AAPL 06-07 %v; want 115 and %v", got["NVDA|2024-06-03"], got["AAPL|2024-06-07"], 190+1208.88/1000)
	}
}

func TestRangeIsIdempotentAndWindowed(t *testing.T) {
	srv := market(t)
	srv.SetToday(date(t, "2024-06-20"))
	client := dynamo(t)
	l, _ := newLoader(srv, client)
	l.WindowDays = 3
	ctx := context.Background()
	var results []loader.Result
	for range 2 {
		res, err := l.Range(ctx, date(t, "2024-06-04"), date(t, "2024-06-13"))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	want := loader.Result{From: "2024-06-04", To: "2024-06-13", Symbols: 2, Closes: 16, Snapshots: 8}
	for i, r := range results {
		if r != want {
			t.Errorf("run %d: got %+v, want %+v", i+1, r, want)
		}
	}
	got := scan(t, client)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 16 || keys[0] != "AAPL|2024-06-04" || keys[15] != "NVDA|2024-06-13" {
		t.Errorf("items: got %v, want 16 from AAPL|2024-06-04 to NVDA|2024-06-13", keys)
	}
	if got["NVDA|2024-06-07"] != 120.888 {
		t.Errorf("NVDA 06-07: got %v, want the adjusted 120.888", got["NVDA|2024-06-07"])
	}
	if _, err := l.Range(ctx, date(t, "2024-06-13"), date(t, "2024-06-04")); err == nil {
		t.Errorf("reversed range: got no error")
	}
}

// countingAPI counts the requests sent to a real table.
type countingAPI struct {
	prevclose.DynamoDBAPI
	n atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.DynamoDBAPI.Query(ctx, in, opts...)
}

func (c *countingAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.DynamoDBAPI.BatchGetItem(ctx, in, opts...)
}

// flaky leaves part of each of the first batches unprocessed, as a throttled table does.
type flaky struct {
	prevclose.DynamoDBAPI
	mu       sync.Mutex
	failures int
	calls    int
}

func (f *flaky) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.mu.Lock()
	f.calls++
	fail := f.failures > 0
	if fail {
		f.failures--
	}
	f.mu.Unlock()
	if !fail {
		return f.DynamoDBAPI.BatchWriteItem(ctx, in, opts...)
	}
	part := map[string][]types.WriteRequest{}
	rest := map[string][]types.WriteRequest{}
	for tbl, reqs := range in.RequestItems {
		half := len(reqs) / 2
		part[tbl], rest[tbl] = reqs[:half], reqs[half:]
	}
	out, err := f.DynamoDBAPI.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: part}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedItems = rest
	return out, nil
}

func TestUnprocessedItemsAreRetried(t *testing.T) {
	srv := market(t)
	srv.SetToday(date(t, "2024-06-20"))
	client := dynamo(t)
	f := &flaky{DynamoDBAPI: client, failures: 3}
	l, _ := newLoader(srv, f)
	res, err := l.Range(context.Background(), date(t, "2024-06-03"), date(t, "2024-06-14"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(scan(t, client)); got != 20 || res.Closes != 20 {
		t.Errorf("items: got %d stored, %d reported; want 20", got, res.Closes)
	}
	if f.calls < 4 {
		t.Errorf("batch writes: got %d, want at least 4 (3 partial + the rest)", f.calls)
	}
}

func TestHandleEventFixtures(t *testing.T) {
	srv := market(t)
	srv.SetToday(date(t, "2024-06-20"))
	client := dynamo(t)
	l, _ := newLoader(srv, client)
	tests := []struct {
		file string
		want loader.Result
	}{
		{"prevclose-scheduled.json", loader.Result{From: "2024-05-31", To: "2024-06-10", Symbols: 2, Closes: 12, Snapshots: 6}},
		{"prevclose-range.json", loader.Result{From: "2024-06-03", To: "2024-06-14", Symbols: 2, Closes: 20, Snapshots: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Handle(context.Background(), json.RawMessage(raw), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("result: got %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("scheduler payload without a time uses the clock", func(t *testing.T) {
		got, err := l.Handle(context.Background(), json.RawMessage(`{}`), time.Date(2024, 6, 14, 21, 0, 0, 0, time.UTC))
		if err != nil || got.To != "2024-06-14" || got.From != "2024-06-04" {
			t.Errorf("got %+v %v, want 2024-06-04..2024-06-14", got, err)
		}
	})
	t.Run("bad range", func(t *testing.T) {
		if _, err := l.Handle(context.Background(), json.RawMessage(`{"from":"2024-06-03"}`), time.Now()); err == nil {
			t.Errorf("got no error for a range without to")
		}
	})
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{"SYMBOLS": "*", "ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s", "LOOKBACK_DAYS": "0"}
	_, err := loader.Load(func(k string) string { return env[k] })
	for _, want := range []string{"PREV_CLOSE_TABLE", "explicit list", "LOOKBACK_DAYS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want a mention of %q", err, want)
		}
	}
	env = map[string]string{"SYMBOLS": "nvda", "ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s", "PREV_CLOSE_TABLE": "t"}
	c, err := loader.Load(func(k string) string { return env[k] })
	if err != nil || c.LookbackDays != 10 || !reflect.DeepEqual(c.Alpaca.Symbols, []string{"NVDA"}) {
		t.Errorf("got %+v %v", c, err)
	}
}

// failingBars fails the first calls, as a rate-limited API does.
type failingBars struct {
	loader.DailyBars
	failures int
	calls    int
}

func (f *failingBars) DailyCloses(ctx context.Context, symbols []string, from, to bar.Date) ([]alpaca.DailyClose, error) {
	f.calls++
	if f.calls <= f.failures {
		return nil, errors.New("429 too many requests")
	}
	return f.DailyBars.DailyCloses(ctx, symbols, from, to)
}

func TestFailedRequestsAreRetriedThenReported(t *testing.T) {
	srv := market(t)
	srv.SetToday(date(t, "2024-06-20"))
	client := dynamo(t)
	tests := []struct {
		name      string
		failures  int
		wantErr   bool
		wantCalls int
	}{
		{"recovers", 2, false, 3},
		{"gives up", 5, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLoader(srv, client)
			f := &failingBars{DailyBars: l.Bars, failures: tt.failures}
			l.Bars, l.RetryDelay = f, time.Millisecond
			_, err := l.Range(context.Background(), date(t, "2024-06-03"), date(t, "2024-06-07"))
			if (err != nil) != tt.wantErr || f.calls != tt.wantCalls {
				t.Errorf("got error %v after %d calls; want error %v after %d", err, f.calls, tt.wantErr, tt.wantCalls)
			}
		})
	}
}
