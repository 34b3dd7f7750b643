package indexfn

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/mskbatch"
	"github.com/finfeed/finfeed/shared/search"
	"github.com/finfeed/finfeed/shared/topics"
)

// BulkIndexer writes documents and says which were refused for good (a *search.Indexer).
type BulkIndexer interface {
	Bulk(ctx context.Context, docs []search.Doc) (search.Result, error)
}

// Producer is the part of a Kafka client the handler writes dead letters with (a *kgo.Client).
type Producer = kafka.Producer

// Handler processes MSK batches of the enhanced topic and of the candles topic (a record is a candle when it
// comes from the candles topic, an enriched bar otherwise).
type Handler struct {
	indexer      BulkIndexer
	producer     Producer
	naming       search.Config
	dlqTopic     string
	candlesTopic string
	log          *slog.Logger
	// fault, when set (by tests only), runs before each record is processed: a way to make one record panic.
	fault func(in *events.KafkaRecord)
}

// Option changes a Handler NewHandler builds.
type Option func(*Handler)

// WithCandlesTopic names the candles topic (default topics.Candles): its records are indexed as candles.
func WithCandlesTopic(name string) Option { return func(h *Handler) { h.candlesTopic = name } }

// NewHandler assembles a handler from its parts; naming gives the index names (prefix) of bars and candles.
func NewHandler(ix BulkIndexer, p Producer, naming search.Config, dlqTopic string, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{indexer: ix, producer: p, naming: naming, dlqTopic: dlqTopic, candlesTopic: topics.Candles, log: log}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Counts say what one batch became.
type Counts struct {
	Records int `json:"records"`
	Indexed int `json:"indexed"`
	DLQ     int `json:"dlq"`
	// Invalid records could not be decoded; Rejected ones were refused by OpenSearch. Both went to the DLQ.
	Invalid  int `json:"invalid"`
	Rejected int `json:"rejected"`
	// Panics counts records whose processing panicked; each went to the DLQ and is counted Invalid too.
	Panics int `json:"panics,omitempty"`
	// Superseded records were older versions of a bar or candle that the same batch also holds newer (a
	// correction; a partial candle and its final version): only the newest is sent, so a retried chunk can never
	// write an older version over a newer one.
	Superseded int `json:"superseded"`
	// Candles counts the records that were candles (from the candles topic), whatever became of them.
	Candles int `json:"candles,omitempty"`
}

// Add sums counts.
func (c *Counts) Add(o Counts) {
	c.Records += o.Records
	c.Indexed += o.Indexed
	c.DLQ += o.DLQ
	c.Invalid += o.Invalid
	c.Superseded += o.Superseded
	c.Rejected += o.Rejected
	c.Panics += o.Panics
	c.Candles += o.Candles
}

// Batch is what Build makes of one event: the documents to index and the dead letters of the records that can
// never be indexed, in input order (partitions in name order).
type Batch struct {
	Docs []search.Doc
	// From and Values are each document's input record and its decoded value, for the dead letter of a
	// document OpenSearch refuses.
	From   []*events.KafkaRecord
	Values [][]byte
	// final marks the documents of final candles: in keepNewest, a final candle is never superseded by a partial
	// version of it (final:false) that comes later.
	final  []bool
	Dead   []*kgo.Record
	Counts Counts
	// Rejects holds up to mskbatch.MaxReasons DLQ reasons, for the log.
	Rejects []string
}

// reject adds the dead letter of in.
func (b *Batch) reject(dlqTopic string, in *events.KafkaRecord, value []byte, reason string) {
	b.Dead = append(b.Dead, deadletter.Record(dlqTopic, in, value, reason))
	b.Rejects = mskbatch.NoteReason(b.Rejects, in, reason)
}

// Handle is the Lambda entry point: Build, then Write. Any error fails the whole batch so the event source
// retries it; document ids are deterministic, so a retry overwrites.
func (h *Handler) Handle(ctx context.Context, ev events.KafkaEvent) (Counts, error) {
	start := time.Now()
	b := h.Build(ev)
	if err := h.Write(ctx, &b); err != nil {
		h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", b.Counts.Records)
		return b.Counts, err
	}
	for _, r := range b.Rejects {
		h.log.WarnContext(ctx, "record sent to dead-letter topic", "topic", h.dlqTopic, "reason", r)
	}
	c := b.Counts
	h.log.InfoContext(ctx, "batch done", "records", c.Records, "indexed", c.Indexed, "dlq", c.DLQ,
		"candles", c.Candles, "invalid", c.Invalid, "rejected", c.Rejected, "superseded", c.Superseded, "panics", c.Panics, "durationMs", time.Since(start).Milliseconds())
	return c, nil
}

// Build turns an event into documents and dead letters without any I/O: a record that is not base64, not an
// enriched bar or not a document becomes a dead letter. The same event always builds the same batch.
func (h *Handler) Build(ev events.KafkaEvent) Batch {
	n, size := mskbatch.Size(ev)
	b := Batch{Docs: make([]search.Doc, 0, n), From: make([]*events.KafkaRecord, 0, n), Values: make([][]byte, 0, n),
		final: make([]bool, 0, n)}
	b.Counts.Records = n
	// One arena for the decoded values (3/4 of their base64); slices stay valid if it has to grow.
	arena := make([]byte, 0, size/4*3)
	for _, in := range mskbatch.Records(ev) {
		arena = h.add(&b, in, arena)
	}
	b.keepNewest()
	b.Counts.DLQ = len(b.Dead)
	return b
}

// add decodes in and adds its document to b, or its dead letter when it is not base64, not an enriched bar or
// not a document. A panic while doing so dead-letters in alone (reason "panic: ...", the stack in the log) and
// the batch goes on: a bug one input trips must not fail the batch on every retry and stall the partition.
func (h *Handler) add(b *Batch, in *events.KafkaRecord, arena []byte) (_ []byte) {
	start := len(arena)
	var value []byte
	defer func() {
		if v := recover(); v != nil {
			h.recovered(b, in, value, v)
			arena = arena[:start]
		}
	}()
	if h.fault != nil {
		h.fault(in)
	}
	var err error
	arena, err = mskbatch.AppendValue(arena, in)
	value = arena[start:len(arena):len(arena)]
	if err != nil {
		b.Counts.Invalid++
		b.Dead = append(b.Dead, mskbatch.DeadLetter(h.dlqTopic, in, err))
		b.Rejects = mskbatch.NoteReason(b.Rejects, in, err.Error())
		return arena
	}
	var d search.Doc
	final := false
	if in.Topic == h.candlesTopic {
		b.Counts.Candles++
		var c candles.Candle
		if c, err = candles.DecodeCandle(value); err == nil {
			d, err = CandleDoc(h.naming, &c)
			final = c.Final
		}
	} else {
		var e bar.Enriched
		if e, err = bar.DecodeEnriched(value); err == nil {
			d, err = Doc(h.naming, &e)
		}
	}
	if err != nil {
		b.Counts.Invalid++
		b.reject(h.dlqTopic, in, value, err.Error())
		return arena
	}
	b.Docs = append(b.Docs, d)
	b.final = append(b.final, final)
	b.From = append(b.From, in)
	b.Values = append(b.Values, value)
	return arena
}

// recovered dead-letters in, whose processing panicked with v, and logs the stack. value is its decoded value
// when decoding got that far.
func (h *Handler) recovered(b *Batch, in *events.KafkaRecord, value []byte, v any) {
	reason := deadletter.PanicReason(v)
	h.log.Error("panic while processing a record: sent to the dead-letter topic", "source", deadletter.Source(in),
		"reason", reason, "stack", string(debug.Stack()))
	if len(value) == 0 { // not decoded yet: decode it on its own, or keep it as the event carried it
		var err error
		if value, err = base64.StdEncoding.DecodeString(in.Value); err != nil {
			value = []byte(in.Value)
		}
	} else {
		value = bytes.Clone(value) // it sits in the part of the arena the next record reuses
	}
	b.Counts.Invalid++
	b.Counts.Panics++
	b.reject(h.dlqTopic, in, value, reason)
}

// keepNewest drops every document the batch holds a later version of (same index and id: a corrected bar, a
// re-published candle). The event source hands a partition's batches over in order and retries a failed one whole
// before the next, and a symbol stays in one partition (bars and candles are keyed by symbol), so the newest
// version in the batch is the newest there is: sending only it means no retry order inside Bulk (a failed chunk
// sent again after a later one succeeded) can put an older version back. A final candle supersedes the partial
// versions of it (final:false) even when one of those comes later (a partial record resent after the final one).
func (b *Batch) keepNewest() {
	type key struct{ index, id string }
	best := make(map[key]int, len(b.Docs))
	for i := range b.Docs {
		k := key{b.Docs[i].Index, b.Docs[i].ID}
		if j, ok := best[k]; ok && b.final[j] && !b.final[i] {
			continue // a partial version after the final one
		}
		best[k] = i
	}
	keep := make([]bool, len(b.Docs))
	for _, i := range best {
		keep[i] = true
	}
	b.Counts.Superseded = len(b.Docs) - len(best)
	if b.Counts.Superseded == 0 {
		return
	}
	n := 0
	for i := range b.Docs {
		if keep[i] {
			b.Docs[n], b.From[n], b.Values[n], b.final[n] = b.Docs[i], b.From[i], b.Values[i], b.final[i]
			n++
		}
	}
	b.Docs, b.From, b.Values, b.final = b.Docs[:n], b.From[:n], b.Values[:n], b.final[:n]
}

// Write bulk-indexes b's documents, adds the dead letters of those OpenSearch refuses for good, and produces
// every dead letter, updating b's counts. An error (OpenSearch or Kafka unavailable) means the batch must be
// retried.
func (h *Handler) Write(ctx context.Context, b *Batch) error {
	if len(b.Docs) > 0 {
		res, err := h.indexer.Bulk(ctx, b.Docs)
		if err != nil {
			return fmt.Errorf("index %d documents: %w", len(b.Docs), err)
		}
		b.Counts.Indexed = res.Indexed
		for _, rj := range res.Rejected {
			d := b.Docs[rj.Doc]
			b.Counts.Rejected++
			b.reject(h.dlqTopic, b.From[rj.Doc], b.Values[rj.Doc],
				fmt.Sprintf("opensearch rejected document %s/%s: status %d: %s", d.Index, d.ID, rj.Status, rj.Reason))
		}
		if res.Retried > 0 {
			h.log.WarnContext(ctx, "retried documents after retryable failures", "retried", res.Retried, "requests", res.Requests)
		}
	}
	b.Counts.DLQ = len(b.Dead)
	return kafka.ProduceAll(ctx, h.producer, b.Dead)
}
