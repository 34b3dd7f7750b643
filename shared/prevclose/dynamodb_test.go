package prevclose_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// unprocessing wraps a real client and hands back part of each batch as unprocessed, as DynamoDB does under
// throttling (dynalite never does).
type unprocessing struct {
	prevclose.DynamoDBAPI
	times   int // how many calls return unprocessed items
	calls   int
	failing error
}

func (u *unprocessing) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	u.calls++
	if u.failing != nil {
		return nil, u.failing
	}
	if u.calls > u.times {
		return u.DynamoDBAPI.BatchWriteItem(ctx, in, opts...)
	}
	// write the first item, hand back the rest
	for table, reqs := range in.RequestItems {
		if _, err := u.DynamoDBAPI.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:1]}}, opts...); err != nil {
			return nil, err
		}
		return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{table: reqs[1:]}}, nil
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func TestDynamoDBUnprocessedItemsRetried(t *testing.T) {
	db := newDynamo(t)
	u := &unprocessing{DynamoDBAPI: db.Client, times: 3}
	db.Client = u
	closes := []prevclose.Close{
		{Symbol: "A", Date: d("2024-07-10"), Close: 1},
		{Symbol: "B", Date: d("2024-07-10"), Close: 2},
		{Symbol: "C", Date: d("2024-07-10"), Close: 3},
		{Symbol: "D", Date: d("2024-07-10"), Close: 4},
		{Symbol: "E", Date: d("2024-07-10"), Close: 5},
	}
	if err := db.Put(context.Background(), closes); err != nil {
		t.Fatal(err)
	}
	if u.calls != 4 {
		t.Errorf("BatchWriteItem called %d times, want 4 (3 partial + 1)", u.calls)
	}
	for _, c := range closes {
		if v, ok, err := db.PrevClose(context.Background(), c.Symbol, d("2024-07-11")); err != nil || !ok || v != c.Close {
			t.Errorf("%s: got %v, %v, %v; want %v", c.Symbol, v, ok, err, c.Close)
		}
	}
}

func TestDynamoDBUnprocessedItemsGiveUp(t *testing.T) {
	db := newDynamo(t)
	db.Client = &unprocessing{DynamoDBAPI: db.Client, times: 100}
	db.MaxWriteAttempts = 3
	err := db.Put(context.Background(), []prevclose.Close{{Symbol: "A", Date: d("2024-07-10"), Close: 1}, {Symbol: "B", Date: d("2024-07-10"), Close: 2}, {Symbol: "C", Date: d("2024-07-10"), Close: 3}, {Symbol: "D", Date: d("2024-07-10"), Close: 4}})
	if !errors.Is(err, prevclose.ErrUnprocessed) {
		t.Errorf("got %v, want ErrUnprocessed", err)
	}
}

func TestDynamoDBFaults(t *testing.T) {
	db := newDynamo(t)
	boom := errors.New("connection reset")
	db.Client = &unprocessing{DynamoDBAPI: db.Client, failing: boom}
	if err := db.Put(context.Background(), []prevclose.Close{{Symbol: "A", Date: d("2024-07-10"), Close: 1}}); !errors.Is(err, boom) {
		t.Errorf("Put: got %v, want %v", err, boom)
	}
	// a table that does not exist is a fault, never "not found"
	missing := prevclose.NewDynamoDB(db.Client, "no-such-table")
	if _, _, err := missing.PrevClose(context.Background(), "A", d("2024-07-11")); err == nil || !strings.Contains(err.Error(), "no-such-table") {
		t.Errorf("PrevClose on a missing table: got %v", err)
	}
}

// An item whose close is not a number (written by hand or by another tool) is answered as Corrupt, not as an
// error: the enricher refuses the one bar that needs it instead of failing every batch of its partition. Snapshots
// rebuild around it and answer the same.
func TestDynamoDBCorruptItem(t *testing.T) {
	db := newDynamo(t)
	ctx := context.Background()
	if err := db.Put(ctx, []prevclose.Close{{Symbol: "GOOD", Date: d("2024-07-10"), Close: 10}}); err != nil {
		t.Fatal(err)
	}
	_, err := db.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		db.Table: {{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			prevclose.AttrSymbol: &types.AttributeValueMemberS{Value: "BAD"},
			prevclose.AttrDate:   &types.AttributeValueMemberS{Value: "2024-07-10"},
			prevclose.AttrClose:  &types.AttributeValueMemberS{Value: "twelve"},
		}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := db.PrevClose(ctx, "BAD", d("2024-07-11")); err != nil || !ok || !math.IsNaN(v) {
		t.Errorf("PrevClose of the corrupt item: %v %v %v, want Corrupt (NaN), true, nil", v, ok, err)
	}
	lookups := []enrich.Lookup{{Symbol: "BAD", Before: d("2024-07-11")}, {Symbol: "GOOD", Before: d("2024-07-11")}}
	check := func(stage string) {
		t.Helper()
		got, err := db.PrevCloses(ctx, lookups)
		if err != nil {
			t.Fatalf("%s: PrevCloses: %v", stage, err)
		}
		if v, ok := got[lookups[0]]; !ok || !math.IsNaN(v) {
			t.Errorf("%s: BAD: %v %v, want Corrupt", stage, v, ok)
		}
		if got[lookups[1]] != 10 {
			t.Errorf("%s: GOOD: %v, want 10", stage, got[lookups[1]])
		}
	}
	check("without snapshots")
	if _, err := db.RebuildSnapshots(ctx, nil); err != nil {
		t.Fatalf("RebuildSnapshots around a corrupt item: %v", err)
	}
	check("from the snapshot")
}
