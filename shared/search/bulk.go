package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Limits of one bulk request. OpenSearch's smallest instance types accept 10 MiB bodies; 5 MiB leaves room and
// keeps each request short.
const (
	DefaultMaxBytes = 5 << 20
	DefaultMaxDocs  = 1000
)

// Doc is one document to index: its index, its deterministic id and its JSON source (one line, no newline).
type Doc struct {
	Index  string
	ID     string
	Source []byte
	// Alias is the alias Index goes under; empty means the client's Config.Alias (the bars').
	Alias string
}

// Rejection is a document OpenSearch refused for good (a mapping conflict, a malformed document): sending it
// again cannot help, so the caller dead-letters it.
type Rejection struct {
	// Doc is the document's position in the slice given to Bulk.
	Doc    int
	Status int
	Reason string
}

// Result says what a Bulk call did.
type Result struct {
	Indexed  int
	Rejected []Rejection
	// Requests counts bulk requests sent, retries included.
	Requests int
	// Retried counts documents sent again after a retryable item failure or a retryable response.
	Retried int
}

// Backoff is the retry policy for retryable failures (429, 5xx, unreachable server) inside one invocation.
type Backoff struct {
	Initial  time.Duration
	Max      time.Duration
	Attempts int // total attempts, the first included
}

// DefaultBackoff waits about 0.2 s, 0.4 s, 0.8 s, 1.6 s (each randomly shortened by up to half): at most 3 s
// in all, well within a Lambda's timeout.
var DefaultBackoff = Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Attempts: 5}

// ErrRetriesExhausted means documents still failed with retryable statuses after every attempt: the batch must
// fail so the event source retries it.
var ErrRetriesExhausted = errors.New("opensearch bulk: retryable failures persisted")

// ErrBadResponse means the bulk response cannot be trusted (not JSON, wrong item count, a top-level error):
// nothing in the request is taken as indexed.
var ErrBadResponse = errors.New("opensearch bulk: unusable response")

// Indexer sends documents in bounded bulk requests and checks every item's result.
type Indexer struct {
	Client   *Client
	MaxBytes int
	MaxDocs  int
	Backoff  Backoff

	mu      sync.Mutex
	aliased map[string]bool // indexes already put under the alias by this execution environment
}

// NewIndexer is an indexer with the default limits and backoff.
func NewIndexer(c *Client) *Indexer {
	return &Indexer{Client: c, MaxBytes: DefaultMaxBytes, MaxDocs: DefaultMaxDocs, Backoff: DefaultBackoff}
}

// Bulk indexes docs (action "index", so a document with an existing id is replaced). Permanent item errors come
// back as Rejections; retryable ones are retried with backoff and, if they persist, Bulk returns an error
// wrapping ErrRetriesExhausted. Any other error means nothing can be assumed indexed; documents are
// idempotent, so the caller retries the whole batch.
func (ix *Indexer) Bulk(ctx context.Context, docs []Doc) (Result, error) {
	var res Result
	maxBytes, maxDocs := ix.MaxBytes, ix.MaxDocs
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxDocs <= 0 {
		maxDocs = DefaultMaxDocs
	}
	lines := make([][]byte, len(docs))
	pending := make([]int, 0, len(docs))
	for i := range docs {
		lines[i] = appendItem(nil, &docs[i])
		if bytes.IndexByte(docs[i].Source, '\n') >= 0 || !json.Valid(docs[i].Source) {
			res.Rejected = append(res.Rejected, Rejection{Doc: i, Status: http.StatusBadRequest,
				Reason: "document source is not one line of JSON"})
			continue
		}
		if len(lines[i]) > maxBytes {
			res.Rejected = append(res.Rejected, Rejection{Doc: i, Status: http.StatusRequestEntityTooLarge,
				Reason: fmt.Sprintf("document is %d bytes with its action line, over the %d-byte bulk limit", len(lines[i]), maxBytes)})
			continue
		}
		pending = append(pending, i)
	}
	bo := ix.Backoff
	if bo.Attempts <= 0 {
		bo = DefaultBackoff
	}
	wait := bo.Initial
	var lastErr error
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			res.Retried += len(pending)
			// full jitter in [wait/2, wait]: concurrent invocations throttled together do not retry together
			if err := sleep(ctx, wait/2+rand.N(wait/2+1)); err != nil {
				return res, fmt.Errorf("opensearch bulk: %d documents not indexed: %w (last failure: %w)", len(pending), err, lastErr)
			}
			wait = min(wait*2, bo.Max)
		}
		var retry []int
		for start := 0; start < len(pending); {
			end, size := start, 0
			for end < len(pending) && end-start < maxDocs && size+len(lines[pending[end]]) <= maxBytes {
				size += len(lines[pending[end]])
				end++
			}
			chunk := pending[start:end]
			start = end
			res.Requests++
			items, err := ix.send(ctx, lines, chunk, size)
			if err != nil {
				if !IsRetryable(err) {
					return res, err
				}
				lastErr = err
				retry = append(retry, chunk...)
				continue
			}
			for k, it := range items {
				i := chunk[k]
				switch {
				case it.Status >= 200 && it.Status <= 299:
					res.Indexed++
				case retryableStatus(it.Status) || notTheDocument(it.Status) || retryableItemError[it.errType()]:
					lastErr = fmt.Errorf("item %s/%s: status %d: %s", docs[i].Index, docs[i].ID, it.Status, it.reason())
					retry = append(retry, i)
				default:
					res.Rejected = append(res.Rejected, Rejection{Doc: i, Status: it.Status, Reason: it.reason()})
				}
			}
		}
		pending = retry
		if len(pending) > 0 && attempt >= bo.Attempts {
			return res, fmt.Errorf("%w: %d documents after %d attempts: %w", ErrRetriesExhausted, len(pending), attempt, lastErr)
		}
	}
	slices.SortFunc(res.Rejected, func(a, b Rejection) int { return a.Doc - b.Doc })
	if err := ix.ensureAlias(ctx, docs, res.Rejected); err != nil {
		return res, err
	}
	return res, nil
}

// ensureAlias puts every index this call wrote to under the alias, once per execution environment.
func (ix *Indexer) ensureAlias(ctx context.Context, docs []Doc, rejected []Rejection) error {
	bad := make(map[int]bool, len(rejected))
	for _, r := range rejected {
		bad[r.Doc] = true
	}
	ix.mu.Lock()
	fresh := map[string][]string{} // alias -> indexes
	seen := map[string]bool{}
	for i := range docs {
		name := docs[i].Index
		if bad[i] || seen[name] || ix.aliased[name] {
			continue
		}
		seen[name] = true
		alias := docs[i].Alias
		if alias == "" {
			alias = ix.Client.cfg.Alias
		}
		fresh[alias] = append(fresh[alias], name)
	}
	ix.mu.Unlock()
	for _, alias := range slices.Sorted(maps.Keys(fresh)) {
		names := fresh[alias]
		slices.Sort(names)
		if err := ix.Client.addAlias(ctx, alias, names); err != nil {
			return err
		}
		ix.mu.Lock()
		if ix.aliased == nil {
			ix.aliased = map[string]bool{}
		}
		for _, name := range names {
			ix.aliased[name] = true
		}
		ix.mu.Unlock()
	}
	return nil
}

// send posts one bulk request and returns one result per document, in order.
func (ix *Indexer) send(ctx context.Context, lines [][]byte, chunk []int, size int) ([]bulkItem, error) {
	body := make([]byte, 0, size)
	for _, i := range chunk {
		body = append(body, lines[i]...)
	}
	status, data, err := ix.Client.do(ctx, http.MethodPost, "/_bulk", nil, body, "application/x-ndjson")
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, &StatusError{Method: http.MethodPost, Path: "/_bulk", Status: status, Body: short(data)}
	}
	var resp bulkResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("%w: status %d: not a bulk response: %w", ErrBadResponse, status, err)
	}
	if len(resp.Error) > 0 && string(resp.Error) != "null" && string(resp.Error) != `""` {
		return nil, fmt.Errorf("%w: status %d with a top-level error: %s", ErrBadResponse, status, short(resp.Error))
	}
	if len(resp.Items) != len(chunk) {
		return nil, fmt.Errorf("%w: %d items for %d documents", ErrBadResponse, len(resp.Items), len(chunk))
	}
	items := make([]bulkItem, len(chunk))
	for k, m := range resp.Items {
		it, ok := m["index"]
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("%w: item %d is not an index result", ErrBadResponse, k)
		}
		if it.Status == 0 {
			return nil, fmt.Errorf("%w: item %d has no status", ErrBadResponse, k)
		}
		if it.Status >= 200 && it.Status <= 299 && len(it.Error) > 0 && string(it.Error) != "null" && string(it.Error) != "{}" {
			return nil, fmt.Errorf("%w: item %d has status %d and an error", ErrBadResponse, k, it.Status)
		}
		items[k] = it
	}
	if resp.Errors != nil && !*resp.Errors {
		for k, it := range items {
			if it.Status < 200 || it.Status > 299 {
				return nil, fmt.Errorf("%w: errors is false but item %d has status %d", ErrBadResponse, k, it.Status)
			}
		}
	}
	return items, nil
}

type bulkResponse struct {
	Errors *bool                 `json:"errors"`
	Error  json.RawMessage       `json:"error"`
	Items  []map[string]bulkItem `json:"items"`
}

type bulkItem struct {
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// retryableItemError lists the item error types that say the cluster, not the document, is the problem, whatever
// their status (a write block is 403 on older versions, 429 on newer): the document is sent again, and if the
// condition persists the batch fails and is retried, never dead-lettered.
var retryableItemError = map[string]bool{
	"cluster_block_exception":                 true, // read-only / flood-stage disk watermark / write block
	"unavailable_shards_exception":            true, // primary shard not active
	"no_shard_available_action_exception":     true,
	"es_rejected_execution_exception":         true, // write queue full
	"opensearch_rejected_execution_exception": true,
	"process_cluster_event_timeout_exception": true, // index creation timed out (a new monthly index)
	"node_not_connected_exception":            true,
	"node_disconnected_exception":             true,
	"circuit_breaking_exception":              true,
	"security_exception":                      true, // a permission, not the document
	"index_not_found_exception":               true,
}

// notTheDocument reports statuses that an index action only gets for reasons outside the document: 401/403 (the
// role lost its permission), 404 (the index is missing and may not be created). Dead-lettering on them would
// drain the feed into the DLQ during a misconfiguration; failing the batch keeps it, and the alarms say why.
func notTheDocument(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound
}

// errType is the item error's type ("" when it has none).
func (it bulkItem) errType() string {
	var e struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(it.Error, &e) != nil {
		return ""
	}
	return e.Type
}

// reason is the item error as OpenSearch describes it: "type: reason".
func (it bulkItem) reason() string {
	var e struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(it.Error, &e); err != nil || (e.Type == "" && e.Reason == "") {
		if len(it.Error) == 0 {
			return "status " + strconv.Itoa(it.Status)
		}
		return short(it.Error)
	}
	if e.Type == "" {
		return e.Reason
	}
	return e.Type + ": " + e.Reason
}

// appendItem appends a document's action and source lines.
func appendItem(b []byte, d *Doc) []byte {
	b = append(b, `{"index":{"_index":`...)
	b = appendJSONString(b, d.Index)
	b = append(b, `,"_id":`...)
	b = appendJSONString(b, d.ID)
	b = append(b, "}}\n"...)
	b = append(b, d.Source...)
	return append(b, '\n')
}

func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // a Go string always encodes
		panic(fmt.Sprintf("search: encode string: %v", err))
	}
	return append(b, q...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
