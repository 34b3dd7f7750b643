package enrichfn

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/kafka"
)

// Producer is the part of a Kafka client the handler writes with (a *kgo.Client).
type Producer = kafka.Producer

// ErrProduce wraps a failure to write the batch's output: transient, so the whole batch is retried.
var ErrProduce = kafka.ErrProduce

// SchemaVersion is the enhanced record's schema version, sent in every record's schema-version header. Fields
// are only ever added within a version; a breaking change gets a new version on a new topic (docs/feed.md).
const SchemaVersion = "1"

// EnhancedHeaders are the headers of every enhanced record (shared, never modified).
var EnhancedHeaders = []kgo.RecordHeader{
	{Key: "content-type", Value: []byte("application/json")},
	{Key: "schema-version", Value: []byte(SchemaVersion)},
}

// Handler processes MSK batches.
type Handler struct {
	enricher      *enrich.Enricher
	producer      Producer
	enhancedTopic string
	dlqTopic      string
	log           *slog.Logger
}

// NewHandler assembles a handler from its parts.
func NewHandler(e *enrich.Enricher, p Producer, enhancedTopic, dlqTopic string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{enricher: e, producer: p, enhancedTopic: enhancedTopic, dlqTopic: dlqTopic, log: log}
}

// Counts say what one batch became.
type Counts struct {
	Records  int `json:"records"`
	Enhanced int `json:"enhanced"`
	DLQ      int `json:"dlq"`
	Bullish  int `json:"bullish"`
	Bearish  int `json:"bearish"`
	Neutral  int `json:"neutral"`
	Unknown  int `json:"unknown"`
}

// Add sums counts.
func (c *Counts) Add(o Counts) {
	c.Records += o.Records
	c.Enhanced += o.Enhanced
	c.DLQ += o.DLQ
	c.Bullish += o.Bullish
	c.Bearish += o.Bearish
	c.Neutral += o.Neutral
	c.Unknown += o.Unknown
}

// Batch is the output of one event: records ready to produce, in input order (partitions in name order).
type Batch struct {
	Records []*kgo.Record
	Counts  Counts
	// Rejects holds up to maxLoggedRejects DLQ reasons, for the log.
	Rejects []string
}

const maxLoggedRejects = 10

// Handle is the Lambda entry point: build the batch, produce it, flush. Any error fails the whole batch so the
// event source retries it; the output is deterministic, so a retry writes identical records.
func (h *Handler) Handle(ctx context.Context, ev events.KafkaEvent) (Counts, error) {
	start := time.Now()
	b, err := h.Build(ctx, ev)
	if err != nil {
		h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", b.Counts.Records)
		return b.Counts, err
	}
	if err := kafka.ProduceAll(ctx, h.producer, b.Records); err != nil {
		h.abortBuffered(ctx)
		h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", b.Counts.Records)
		return b.Counts, err
	}
	for _, r := range b.Rejects {
		h.log.WarnContext(ctx, "record sent to dead-letter topic", "topic", h.dlqTopic, "reason", r)
	}
	h.log.InfoContext(ctx, "batch done",
		"records", b.Counts.Records, "enhanced", b.Counts.Enhanced, "dlq", b.Counts.DLQ,
		"bullish", b.Counts.Bullish, "bearish", b.Counts.Bearish, "neutral", b.Counts.Neutral,
		"unknown", b.Counts.Unknown, "durationMs", time.Since(start).Milliseconds())
	return b.Counts, nil
}

// Build turns an event into output records without producing them. A bad record becomes a DLQ record; a
// previous-close store fault is returned as an error.
func (h *Handler) Build(ctx context.Context, ev events.KafkaEvent) (Batch, error) {
	keys := make([]string, 0, len(ev.Records))
	n, size := 0, 0
	for k, recs := range ev.Records {
		keys = append(keys, k)
		n += len(recs)
		for i := range recs {
			size += len(recs[i].Value)
		}
	}
	slices.Sort(keys)
	b := Batch{Records: make([]*kgo.Record, 0, n)}
	// One arena for all output bytes: the decoded value (3/4 of its base64) and the enriched record (about the
	// same size again, plus the key). Slices stay valid if it has to grow.
	arena := make([]byte, 0, size/4*3*2+n*48)
	recs := make([]kgo.Record, n)
	for _, k := range keys {
		for i := range ev.Records[k] {
			in := &ev.Records[k][i]
			out := &recs[len(b.Records)]
			var err error
			arena, err = h.one(ctx, in, out, arena, &b)
			if err != nil {
				return b, err
			}
			b.Records = append(b.Records, out)
		}
	}
	b.Counts.Records = n
	return b, nil
}

// one processes a single input record into out.
func (h *Handler) one(ctx context.Context, in *events.KafkaRecord, out *kgo.Record, arena []byte, b *Batch) ([]byte, error) {
	start := len(arena)
	arena, err := appendBase64(arena, in.Value)
	if err != nil {
		h.reject(in, out, []byte(in.Value), "value: "+err.Error(), b)
		return arena[:start], nil
	}
	value := arena[start:len(arena):len(arena)]
	raw, err := bar.DecodeRaw(value)
	if err != nil {
		h.reject(in, out, value, err.Error(), b)
		return arena, nil
	}
	e, err := h.enricher.Enrich(ctx, &raw)
	if errors.Is(err, bar.ErrInvalid) {
		h.reject(in, out, value, err.Error(), b)
		return arena, nil
	}
	if err != nil {
		return arena, fmt.Errorf("%s/%d/%d: %w", in.Topic, in.Partition, in.Offset, err)
	}
	start = len(arena)
	arena = append(arena, e.Symbol...)
	mid := len(arena)
	arena = bar.AppendEnriched(arena, &e)
	*out = kgo.Record{
		Topic: h.enhancedTopic,
		Key:   arena[start:mid:mid],
		Value: arena[mid:len(arena):len(arena)],
		// The bar's start time, not the time of writing: a retried batch's duplicates are byte-identical,
		// timestamp included, and customers can seek by bar time with ListOffsets (docs/feed.md).
		Timestamp: e.Time,
		Headers:   EnhancedHeaders,
	}
	b.Counts.Enhanced++
	switch e.Indicator {
	case bar.Bullish:
		b.Counts.Bullish++
	case bar.Bearish:
		b.Counts.Bearish++
	case bar.Neutral:
		b.Counts.Neutral++
	default:
		b.Counts.Unknown++
	}
	return arena, nil
}

// reject builds the DLQ record: original key, value and headers, plus error and source headers.
func (h *Handler) reject(in *events.KafkaRecord, out *kgo.Record, value []byte, reason string, b *Batch) {
	*out = *deadletter.Record(h.dlqTopic, in, value, reason)
	b.Counts.DLQ++
	if len(b.Rejects) < maxLoggedRejects {
		b.Rejects = append(b.Rejects, deadletter.Source(in)+": "+reason)
	}
}

func appendBase64(dst []byte, s string) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(s))
	dst = slices.Grow(dst, n)
	// Decode only reads src: view the string's bytes instead of copying them
	m, err := base64.StdEncoding.Decode(dst[len(dst):len(dst)+n], unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		return dst, fmt.Errorf("invalid base64: %w", err)
	}
	return dst[:len(dst)+m], nil
}

// aborter is implemented by *kgo.Client.
type aborter interface {
	AbortBufferedRecords(ctx context.Context) error
}

// abortTimeout bounds the wait for in-flight requests when a batch is abandoned.
const abortTimeout = 2 * time.Second

// abortBuffered drops what a failed batch left buffered, so a later invocation starts clean instead of
// sending the abandoned records next to the retried ones (which would only add identical duplicates).
func (h *Handler) abortBuffered(ctx context.Context) {
	a, ok := h.producer.(aborter)
	if !ok {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	if err := a.AbortBufferedRecords(actx); err != nil {
		h.log.WarnContext(ctx, "abort buffered records", "err", err)
	}
}
