package indexfn

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/search"
)

// BulkIndexer writes documents and says which were refused for good (a *search.Indexer).
type BulkIndexer interface {
	Bulk(ctx context.Context, docs []search.Doc) (search.Result, error)
}

// Producer is the part of a Kafka client the handler writes dead letters with (a *kgo.Client).
type Producer = kafka.Producer

// Handler processes MSK batches of the enhanced topic.
type Handler struct {
	indexer  BulkIndexer
	producer Producer
	naming   search.Config
	dlqTopic string
	log      *slog.Logger
}

// NewHandler assembles a handler from its parts; naming gives the index names (prefix).
func NewHandler(ix BulkIndexer, p Producer, naming search.Config, dlqTopic string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{indexer: ix, producer: p, naming: naming, dlqTopic: dlqTopic, log: log}
}

// Counts say what one batch became.
type Counts struct {
	Records int `json:"records"`
	Indexed int `json:"indexed"`
	DLQ     int `json:"dlq"`
	// Invalid records could not be decoded; Rejected ones were refused by OpenSearch. Both went to the DLQ.
	Invalid  int `json:"invalid"`
	Rejected int `json:"rejected"`
}

// Add sums counts.
func (c *Counts) Add(o Counts) {
	c.Records += o.Records
	c.Indexed += o.Indexed
	c.DLQ += o.DLQ
	c.Invalid += o.Invalid
	c.Rejected += o.Rejected
}

const maxLoggedRejects = 10

// Handle is the Lambda entry point: decode, bulk-index, dead-letter what can never be indexed. Any error fails
// the whole batch so the event source retries it; document ids are deterministic, so a retry overwrites.
func (h *Handler) Handle(ctx context.Context, ev events.KafkaEvent) (Counts, error) {
	start := time.Now()
	var c Counts
	keys := make([]string, 0, len(ev.Records))
	for k, recs := range ev.Records {
		keys = append(keys, k)
		c.Records += len(recs)
	}
	slices.Sort(keys)
	docs := make([]search.Doc, 0, c.Records)
	from := make([]*events.KafkaRecord, 0, c.Records)
	var dead []*kgo.Record
	var reasons []string
	reject := func(in *events.KafkaRecord, value []byte, reason string) {
		r := deadletter.Record(h.dlqTopic, in, value, reason)
		dead = append(dead, r)
		if len(reasons) < maxLoggedRejects {
			reasons = append(reasons, deadletter.Source(in)+": "+reason)
		}
	}
	for _, k := range keys {
		for i := range ev.Records[k] {
			in := &ev.Records[k][i]
			value, err := base64.StdEncoding.DecodeString(in.Value)
			if err != nil {
				c.Invalid++
				reject(in, []byte(in.Value), "value: invalid base64: "+err.Error())
				continue
			}
			e, err := bar.DecodeEnriched(value)
			if err != nil {
				c.Invalid++
				reject(in, value, err.Error())
				continue
			}
			d, err := Doc(h.naming, &e)
			if err != nil {
				c.Invalid++
				reject(in, value, err.Error())
				continue
			}
			docs = append(docs, d)
			from = append(from, in)
		}
	}
	if len(docs) > 0 {
		res, err := h.indexer.Bulk(ctx, docs)
		if err != nil {
			h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", c.Records)
			return c, fmt.Errorf("index %d documents: %w", len(docs), err)
		}
		c.Indexed = res.Indexed
		for _, rj := range res.Rejected {
			in := from[rj.Doc]
			value, err := base64.StdEncoding.DecodeString(in.Value)
			if err != nil { // decoded once already; keep the raw text rather than lose the record
				value = []byte(in.Value)
			}
			c.Rejected++
			reject(in, value, fmt.Sprintf("opensearch rejected document %s/%s: status %d: %s", docs[rj.Doc].Index, docs[rj.Doc].ID, rj.Status, rj.Reason))
		}
		if res.Retried > 0 {
			h.log.WarnContext(ctx, "retried documents after retryable failures", "retried", res.Retried, "requests", res.Requests)
		}
	}
	c.DLQ = len(dead)
	if err := kafka.ProduceAll(ctx, h.producer, dead); err != nil {
		h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", c.Records)
		return c, err
	}
	for _, r := range reasons {
		h.log.WarnContext(ctx, "record sent to dead-letter topic", "topic", h.dlqTopic, "reason", r)
	}
	h.log.InfoContext(ctx, "batch done", "records", c.Records, "indexed", c.Indexed, "dlq", c.DLQ,
		"invalid", c.Invalid, "rejected", c.Rejected, "durationMs", time.Since(start).Milliseconds())
	return c, nil
}
