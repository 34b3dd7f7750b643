package prevclose

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/finfeed/finfeed/shared/bar"
)

// Snapshots: besides one item per (symbol, date), which stays the source of truth, the table holds for each
// recent date D a snapshot of every symbol's latest close on or before D, in chunks under the partition key
// SnapshotSymbol with sort key `D#NNNN`. "Closes before D" for a whole market is then one Query for the newest
// snapshot below D plus one BatchGetItem for its other chunks. RebuildSnapshots writes them from the items.
const (
	// SnapshotSymbol is the snapshots' partition key. It holds a space, which no symbol may hold
	// (bar.ValidateSymbol), so no bar and no stored close can ever name it.
	SnapshotSymbol = "# snapshot"
	// AttrChunks (a number, on every chunk) is how many chunks the snapshot has.
	AttrChunks = "chunks"
	// AttrCloses is a chunk's closes, one `SYMBOL<TAB>CLOSE` line each, symbols in order.
	AttrCloses = "closes"
	// SnapshotDays is the window kept: a snapshot for every date with a close in the SnapshotDays calendar days
	// up to the newest close. It covers the loader's lookback (10 days), so a rewrite reaches every snapshot it
	// changes, and any date whose lookup needs a snapshot older than the window falls back to per-symbol queries.
	SnapshotDays = 14
)

// snapshotChunkBytes bounds one chunk's closes text: a quarter of DynamoDB's 400 KB item limit (about 6,000
// symbols a chunk, so the whole US market is two chunks).
const snapshotChunkBytes = 100 << 10

// batchGetMax is DynamoDB's limit of keys per BatchGetItem.
const batchGetMax = 100

func chunkKey(day bar.Date, i int) string { return fmt.Sprintf("%s#%04d", day, i) }

// Snapshot is every symbol's latest close as of one date, read from the table's snapshot items.
type Snapshot struct {
	// Date is the snapshot's date; zero when the table holds no snapshot dated before the lookup date.
	Date bar.Date
	// Closes maps symbol to its latest close on or before Date.
	Closes map[string]float64
	// Complete says every chunk was read (none was missing or rewritten by a concurrent rebuild): a symbol
	// absent from Closes then has no close in the table as of the last rebuild.
	Complete bool
}

// Snapshot reads the newest snapshot dated strictly before day: one Query, plus one BatchGetItem per 100 further
// chunks. No snapshot: a zero Date and no closes.
func (d *DynamoDB) Snapshot(ctx context.Context, day bar.Date) (Snapshot, error) {
	out, err := d.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(d.Table),
		KeyConditionExpression:   aws.String("#s = :s AND #d < :d"),
		ExpressionAttributeNames: map[string]string{"#s": AttrSymbol, "#d": AttrDate},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": &types.AttributeValueMemberS{Value: SnapshotSymbol},
			":d": &types.AttributeValueMemberS{Value: day.String()},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(1),
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("query %s for the snapshot before %s: %w", d.Table, day, err)
	}
	snap := Snapshot{Closes: make(map[string]float64)}
	if len(out.Items) == 0 {
		return snap, nil
	}
	key, n, err := d.parseChunk(out.Items[0], snap.Closes)
	if err != nil {
		return Snapshot{}, err
	}
	snapDay, own, err := splitChunkKey(key)
	if err != nil {
		return Snapshot{}, fmt.Errorf("table %s: %w", d.Table, err)
	}
	snap.Date = snapDay
	var keys []map[string]types.AttributeValue
	for i := range n {
		if i != own {
			keys = append(keys, map[string]types.AttributeValue{
				AttrSymbol: &types.AttributeValueMemberS{Value: SnapshotSymbol},
				AttrDate:   &types.AttributeValueMemberS{Value: chunkKey(snapDay, i)},
			})
		}
	}
	read, consistent := 1, true
	for start := 0; start < len(keys); start += batchGetMax {
		items, err := d.batchGet(ctx, keys[start:min(start+batchGetMax, len(keys))])
		if err != nil {
			return Snapshot{}, fmt.Errorf("snapshot %s: %w", snapDay, err)
		}
		// a chunk a concurrent rebuild removed is simply absent: the snapshot is then incomplete
		for _, it := range items {
			_, m, err := d.parseChunk(it, snap.Closes)
			if err != nil {
				return Snapshot{}, err
			}
			read++
			consistent = consistent && m == n
		}
	}
	snap.Complete = consistent && read == n
	return snap, nil
}

// parseChunk adds a chunk's closes to snap and returns its sort key and chunk count.
func (d *DynamoDB) parseChunk(item map[string]types.AttributeValue, snap map[string]float64) (string, int, error) {
	key, _ := item[AttrDate].(*types.AttributeValueMemberS)
	nv, _ := item[AttrChunks].(*types.AttributeValueMemberN)
	text, _ := item[AttrCloses].(*types.AttributeValueMemberS)
	if key == nil || nv == nil || text == nil {
		return "", 0, fmt.Errorf("table %s: snapshot item lacks %q, %q or %q", d.Table, AttrDate, AttrChunks, AttrCloses)
	}
	n, err := strconv.Atoi(nv.Value)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("table %s: snapshot %s: chunk count %q", d.Table, key.Value, nv.Value)
	}
	for line := range strings.Lines(text.Value) {
		sym, num, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		v, err := strconv.ParseFloat(num, 64)
		if !ok || err != nil {
			return "", 0, fmt.Errorf("table %s: snapshot %s: bad line %q", d.Table, key.Value, line)
		}
		snap[sym] = v
	}
	return key.Value, n, nil
}

func splitChunkKey(key string) (bar.Date, int, error) {
	ds, ns, ok := strings.Cut(key, "#")
	day, err := bar.ParseDate(ds)
	i, nerr := strconv.Atoi(ns)
	if !ok || err != nil || nerr != nil || i < 0 {
		return bar.Date{}, 0, fmt.Errorf("snapshot sort key %q is not DATE#CHUNK", key)
	}
	return day, i, nil
}

// batchGet reads keys, retrying unprocessed keys with backoff.
func (d *DynamoDB) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	attempts := d.MaxWriteAttempts
	if attempts <= 0 {
		attempts = 8
	}
	backoff := 50 * time.Millisecond
	var items []map[string]types.AttributeValue
	for attempt := 1; ; attempt++ {
		out, err := d.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{d.Table: {Keys: keys}},
		})
		if err != nil {
			return nil, fmt.Errorf("batch get %d items from %s: %w", len(keys), d.Table, err)
		}
		items = append(items, out.Responses[d.Table]...)
		keys = out.UnprocessedKeys[d.Table].Keys
		if len(keys) == 0 {
			return items, nil
		}
		if attempt >= attempts {
			return nil, fmt.Errorf("batch get from %s: %w: %d keys after %d attempts", d.Table, ErrUnprocessed, len(keys), attempt)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("batch get from %s: %w", d.Table, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// SnapshotResult says what RebuildSnapshots wrote.
type SnapshotResult struct {
	Dates   int `json:"dates"`   // snapshots written
	Symbols int `json:"symbols"` // symbols in the newest
	Chunks  int `json:"chunks"`  // items written
	Deleted int `json:"deleted"` // stale items removed (dates out of the window, leftover chunks)
}

// RebuildSnapshots rewrites the snapshots from the per-(symbol, date) items: one for every date with a close in
// the SnapshotDays calendar days up to the newest close, each holding the latest close on or before its date of
// every symbol in symbols or in the current newest snapshot; snapshots older than the window and leftover
// chunks are deleted. Run it after writing closes (the loader and `feed prevclose import` do), so a snapshot
// never hides a close written before the rebuild. It costs one Query per symbol. A symbol missing from the
// snapshots is still answered, by its own Query.
func (d *DynamoDB) RebuildSnapshots(ctx context.Context, symbols []string) (SnapshotResult, error) {
	var res SnapshotResult
	existing, err := d.snapshotKeys(ctx)
	if err != nil {
		return res, err
	}
	set := make(map[string]bool, len(symbols))
	for _, s := range symbols {
		set[s] = true
	}
	if len(existing) > 0 {
		newest, err := d.Snapshot(ctx, bar.Date{Year: 9999, Month: 12, Day: 31})
		if err != nil {
			return res, err
		}
		for s := range newest.Closes {
			set[s] = true
		}
	}
	all := make([]string, 0, len(set))
	for s := range set {
		all = append(all, s)
	}
	slices.Sort(all)
	latest, err := d.latestCloses(ctx, all, SnapshotDays+1)
	if err != nil {
		return res, err
	}
	var end bar.Date
	for _, cs := range latest {
		if len(cs) > 0 && end.Before(cs[0].Date) {
			end = cs[0].Date
		}
	}
	keep := make(map[string]bool)
	var reqs []types.WriteRequest
	if !end.IsZero() {
		start := end.AddDays(-(SnapshotDays - 1))
		days := make(map[bar.Date]bool)
		for _, cs := range latest {
			for _, c := range cs {
				if !c.Date.Before(start) {
					days[c.Date] = true
				}
			}
		}
		for day := range days {
			chunks, n := snapshotChunks(all, latest, day)
			for i, text := range chunks {
				keep[chunkKey(day, i)] = true
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
					AttrSymbol: &types.AttributeValueMemberS{Value: SnapshotSymbol},
					AttrDate:   &types.AttributeValueMemberS{Value: chunkKey(day, i)},
					AttrChunks: &types.AttributeValueMemberN{Value: strconv.Itoa(len(chunks))},
					AttrCloses: &types.AttributeValueMemberS{Value: text},
				}}})
			}
			res.Dates++
			if day == end {
				res.Symbols = n
			}
		}
		res.Chunks = len(reqs)
	}
	for _, k := range existing {
		if !keep[k] {
			res.Deleted++
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
				AttrSymbol: &types.AttributeValueMemberS{Value: SnapshotSymbol},
				AttrDate:   &types.AttributeValueMemberS{Value: k},
			}}})
		}
	}
	// puts first, then deletes: a reader meanwhile sees old or new chunks, and a symbol it misses is queried
	for start := 0; start < len(reqs); start += batchWriteMax {
		if err := d.writeBatch(ctx, reqs[start:min(start+batchWriteMax, len(reqs))]); err != nil {
			return res, fmt.Errorf("write snapshots: %w", err)
		}
	}
	return res, nil
}

// snapshotChunks formats the latest close on or before day of each symbol (in order) into chunks of at most
// snapshotChunkBytes; n is how many symbols it holds.
func snapshotChunks(symbols []string, latest map[string][]Close, day bar.Date) (chunks []string, n int) {
	var b strings.Builder
	for _, s := range symbols {
		i := slices.IndexFunc(latest[s], func(c Close) bool { return !day.Before(c.Date) })
		if i < 0 {
			continue
		}
		line := s + "\t" + strconv.FormatFloat(latest[s][i].Close, 'f', -1, 64) + "\n"
		if b.Len()+len(line) > snapshotChunkBytes {
			chunks = append(chunks, b.String())
			b.Reset()
		}
		b.WriteString(line)
		n++
	}
	if b.Len() > 0 || len(chunks) == 0 {
		chunks = append(chunks, b.String())
	}
	return chunks, n
}

// latestCloses reads each symbol's newest closes (up to limit, newest first), Parallel queries at a time.
func (d *DynamoDB) latestCloses(ctx context.Context, symbols []string, limit int) (map[string][]Close, error) {
	par := d.Parallel
	if par <= 0 {
		par = defaultParallel
	}
	out := make(map[string][]Close, len(symbols))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for _, s := range symbols {
		g.Go(func() error {
			q, err := d.Client.Query(gctx, &dynamodb.QueryInput{
				TableName:                aws.String(d.Table),
				KeyConditionExpression:   aws.String("#s = :s"),
				ExpressionAttributeNames: map[string]string{"#s": AttrSymbol, "#d": AttrDate, "#c": AttrClose},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":s": &types.AttributeValueMemberS{Value: s},
				},
				ProjectionExpression: aws.String("#d, #c"),
				ScanIndexForward:     aws.Bool(false),
				Limit:                aws.Int32(int32(limit)),
			})
			if err != nil {
				return fmt.Errorf("query %s for the closes of %s: %w", d.Table, s, err)
			}
			cs := make([]Close, 0, len(q.Items))
			for _, it := range q.Items {
				c, err := d.parseClose(s, it)
				if err != nil {
					return err
				}
				cs = append(cs, c)
			}
			mu.Lock()
			out[s] = cs
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *DynamoDB) parseClose(symbol string, item map[string]types.AttributeValue) (Close, error) {
	ds, _ := item[AttrDate].(*types.AttributeValueMemberS)
	n, _ := item[AttrClose].(*types.AttributeValueMemberN)
	if ds == nil {
		return Close{}, fmt.Errorf("table %s: an item of %s has no %q", d.Table, symbol, AttrDate)
	}
	day, err := bar.ParseDate(ds.Value)
	if err != nil {
		return Close{}, fmt.Errorf("table %s: item %s: %w", d.Table, symbol, err)
	}
	if n == nil { // kept as Corrupt (NaN, "NaN" in the snapshot) so the bars that need it are refused one by one
		return Close{Symbol: symbol, Date: day, Close: Corrupt}, nil
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		return Close{}, fmt.Errorf("table %s: item %s %s: close %q: %w", d.Table, symbol, ds.Value, n.Value, err)
	}
	return Close{Symbol: symbol, Date: day, Close: v}, nil
}

// snapshotKeys lists the sort keys of every snapshot item.
func (d *DynamoDB) snapshotKeys(ctx context.Context) ([]string, error) {
	var keys []string
	var startKey map[string]types.AttributeValue
	for {
		out, err := d.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(d.Table),
			KeyConditionExpression:   aws.String("#s = :s"),
			ExpressionAttributeNames: map[string]string{"#s": AttrSymbol, "#d": AttrDate},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":s": &types.AttributeValueMemberS{Value: SnapshotSymbol},
			},
			ProjectionExpression: aws.String("#d"),
			ExclusiveStartKey:    startKey,
		})
		if err != nil {
			return nil, fmt.Errorf("list snapshots in %s: %w", d.Table, err)
		}
		for _, it := range out.Items {
			if k, ok := it[AttrDate].(*types.AttributeValueMemberS); ok {
				keys = append(keys, k.Value)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return keys, nil
		}
		startKey = out.LastEvaluatedKey
	}
}
