package prevclose

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/bar"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses.
type DynamoDBAPI interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Attribute names of the previous-close table: partition key symbol, sort key date (YYYY-MM-DD).
const (
	AttrSymbol    = "symbol"
	AttrDate      = "date"
	AttrClose     = "close"
	AttrSource    = "source"
	AttrUpdatedAt = "updatedAt"
)

// DynamoDB is the store on a DynamoDB table. Wrap it in a Cache for the hot path.
type DynamoDB struct {
	Client DynamoDBAPI
	Table  string
	// Source is written with each item as provenance (e.g. "alpaca:1Day:split").
	Source string
	// MaxWriteAttempts bounds retries of unprocessed items in Put, RebuildSnapshots and batch reads (default 8).
	MaxWriteAttempts int
	// Parallel bounds the per-symbol queries in flight in PrevCloses and RebuildSnapshots (default 32).
	Parallel int
	// Now is the clock for updatedAt (default time.Now).
	Now func() time.Time
}

// NewDynamoDB returns a store on table.
func NewDynamoDB(client DynamoDBAPI, table string) *DynamoDB {
	return &DynamoDB{Client: client, Table: table}
}

// PrevClose queries `symbol = S AND date < D`, newest first, limit 1.
func (d *DynamoDB) PrevClose(ctx context.Context, symbol string, before bar.Date) (float64, bool, error) {
	if symbol == SnapshotSymbol {
		return 0, false, nil
	}
	out, err := d.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(d.Table),
		KeyConditionExpression: aws.String("#s = :s AND #d < :d"),
		ExpressionAttributeNames: map[string]string{
			"#s": AttrSymbol,
			"#d": AttrDate,
			"#c": AttrClose,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: symbol},
			":d": &types.AttributeValueMemberS{Value: before.String()},
		},
		ProjectionExpression: aws.String("#d, #c"),
		ScanIndexForward:     aws.Bool(false),
		Limit:                aws.Int32(1),
	})
	if err != nil {
		return 0, false, fmt.Errorf("query %s for %s before %s: %w", d.Table, symbol, before, err)
	}
	if len(out.Items) == 0 {
		return 0, false, nil
	}
	n, ok := out.Items[0][AttrClose].(*types.AttributeValueMemberN)
	if !ok {
		return Corrupt, true, nil
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		return 0, false, fmt.Errorf("table %s: item %s: close %q: %w", d.Table, symbol, n.Value, err)
	}
	return v, true, nil
}

// Corrupt is the close a store answers for an item whose close is missing or not a number (written by hand, or
// by another tool). It is NaN, which the enricher refuses for the one record that needs it (to raw.dlq with
// "previous close: not a finite number"): an error instead would fail every batch holding that symbol, and the
// partition would stall until the item is fixed.
var Corrupt = math.NaN()

// batchWriteMax is DynamoDB's limit of items per BatchWriteItem.
const batchWriteMax = 25

// Put writes closes in batches of 25, retrying unprocessed items with backoff. Writing the same close again
// overwrites it (idempotent).
func (d *DynamoDB) Put(ctx context.Context, closes []Close) error {
	for _, c := range closes {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	stamp := now().UTC().Format(time.RFC3339)
	// a batch may not name the same key twice: the last close for a key wins
	type key struct {
		s string
		d bar.Date
	}
	idx := make(map[key]int, len(closes))
	var uniq []Close
	for _, c := range closes {
		k := key{c.Symbol, c.Date}
		if i, ok := idx[k]; ok {
			uniq[i] = c
			continue
		}
		idx[k] = len(uniq)
		uniq = append(uniq, c)
	}
	for start := 0; start < len(uniq); start += batchWriteMax {
		end := min(start+batchWriteMax, len(uniq))
		reqs := make([]types.WriteRequest, 0, end-start)
		for _, c := range uniq[start:end] {
			item := map[string]types.AttributeValue{
				AttrSymbol:    &types.AttributeValueMemberS{Value: c.Symbol},
				AttrDate:      &types.AttributeValueMemberS{Value: c.Date.String()},
				AttrClose:     &types.AttributeValueMemberN{Value: strconv.FormatFloat(c.Close, 'f', -1, 64)},
				AttrUpdatedAt: &types.AttributeValueMemberS{Value: stamp},
			}
			if d.Source != "" {
				item[AttrSource] = &types.AttributeValueMemberS{Value: d.Source}
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		if err := d.writeBatch(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}

// ErrUnprocessed means DynamoDB kept returning unprocessed items until the attempts ran out.
var ErrUnprocessed = errors.New("unprocessed items remain")

func (d *DynamoDB) writeBatch(ctx context.Context, reqs []types.WriteRequest) error {
	attempts := d.MaxWriteAttempts
	if attempts <= 0 {
		attempts = 8
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := d.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{d.Table: reqs},
		})
		if err != nil {
			return fmt.Errorf("batch write %d items to %s: %w", len(reqs), d.Table, err)
		}
		reqs = out.UnprocessedItems[d.Table]
		if len(reqs) == 0 {
			return nil
		}
		if attempt >= attempts {
			return fmt.Errorf("batch write to %s: %w: %d after %d attempts", d.Table, ErrUnprocessed, len(reqs), attempt)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("batch write to %s: %w", d.Table, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}
