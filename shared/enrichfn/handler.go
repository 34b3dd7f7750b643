package enrichfn

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/mskbatch"
	"github.com/finfeed/finfeed/shared/state"
)

// State is the engine that keeps each raw partition's fold (indicator series) across batches, retries and
// containers.
type State = state.Engine[*fold.Partition]

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
	state         *State
	candlesTopic  string // "" writes no candles
	producer      Producer
	enhancedTopic string
	dlqTopic      string
	log           *slog.Logger
	// fault, when set (by tests only), runs before each stage of each record: a way to make one record panic.
	fault func(stage string, in *events.KafkaRecord)
	// metrics, when set (EmitMetrics), gets one EMF line per batch; now is the clock of its ages.
	metrics      io.Writer
	functionName string
	now          func() time.Time
	// spare is the output memory of the last batch Handle finished, kept for the next Build (Release).
	spare []byte
}

// NewHandler assembles a handler from its parts.
func NewHandler(e *enrich.Enricher, st *State, p Producer, enhancedTopic, dlqTopic string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{enricher: e, state: st, producer: p, enhancedTopic: enhancedTopic, dlqTopic: dlqTopic, log: log, now: time.Now}
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
	// StaleServed counts previous closes served past their cache lifetime because the store failed.
	StaleServed int `json:"staleServed,omitempty"`
	// Panics counts records whose processing panicked; each went to the DLQ (and is in DLQ too).
	Panics int `json:"panics,omitempty"`
	// Candles counts the candle records written.
	Candles int `json:"candles"`
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
	c.StaleServed += o.StaleServed
	c.Panics += o.Panics
	c.Candles += o.Candles
}

// SetCandlesTopic makes the handler write the candles its folds publish to topic ("" writes none).
func (h *Handler) SetCandlesTopic(topic string) { h.candlesTopic = topic }

// Batch is the output of one event: records ready to produce, in input order (partitions in name order).
type Batch struct {
	Records []*kgo.Record
	Counts  Counts
	// Rejects holds up to mskbatch.MaxReasons DLQ reasons, for the log.
	Rejects []string
	// leases are the folds of the batch's partitions, each with the offset after its last record: Commit keeps
	// them once the records are written; a batch that fails never commits them.
	leases []partitionLease
	// arena holds the bytes the records' keys and values point into (Release hands it to the next Build).
	arena []byte
}

type partitionLease struct {
	lease *state.Lease[*fold.Partition]
	next  int64
}

// Handle is the Lambda entry point: build the batch, produce it, flush. Any error fails the whole batch so the
// event source retries it; the output is deterministic, so a retry writes identical records.
func (h *Handler) Handle(ctx context.Context, ev events.KafkaEvent) (Counts, error) {
	b, err := h.handle(ctx, ev)
	h.emit(ctx, ev, &b, err != nil)
	if err == nil { // a failed batch may have records still buffered in the producer: its memory is not reused
		h.Release(&b)
	}
	return b.Counts, err
}

// Release hands the output memory of a batch whose records are written (produced and flushed, nothing keeps
// them) to the next Build: a warm container then writes each batch's records into the same arena instead of
// allocating and zeroing megabytes per invocation. b's records must not be used after it.
func (h *Handler) Release(b *Batch) {
	if cap(b.arena) > cap(h.spare) {
		h.spare = b.arena[:0]
	}
	b.arena, b.Records = nil, nil
}

// handle builds, produces and logs one batch.
func (h *Handler) handle(ctx context.Context, ev events.KafkaEvent) (Batch, error) {
	start := time.Now()
	b, err := h.Build(ctx, ev)
	if err != nil {
		h.Abort(&b)
		h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", b.Counts.Records)
		return b, err
	}
	if err := kafka.ProduceAll(ctx, h.producer, b.Records); err != nil {
		h.abortBuffered(ctx)
		h.Abort(&b)
		h.log.ErrorContext(ctx, "batch failed, will be retried", "err", err, "records", b.Counts.Records)
		return b, err
	}
	h.Commit(ctx, &b)
	if b.Counts.StaleServed > 0 {
		h.log.WarnContext(ctx, "previous-close store failing: served last known closes", "staleServed", b.Counts.StaleServed)
	}
	for _, r := range b.Rejects {
		h.log.WarnContext(ctx, "record sent to dead-letter topic", "topic", h.dlqTopic, "reason", r)
	}
	h.log.InfoContext(ctx, "batch done",
		"records", b.Counts.Records, "enhanced", b.Counts.Enhanced, "dlq", b.Counts.DLQ,
		"bullish", b.Counts.Bullish, "bearish", b.Counts.Bearish, "neutral", b.Counts.Neutral,
		"unknown", b.Counts.Unknown, "staleServed", b.Counts.StaleServed, "panics", b.Counts.Panics, "durationMs", time.Since(start).Milliseconds())
	return b, nil
}

// Commit keeps the state of a batch whose records are written (Handle calls it after the produce succeeded):
// each partition's fold stays in memory at the batch's end, checkpointed when due.
func (h *Handler) Commit(ctx context.Context, b *Batch) {
	for _, l := range b.leases {
		h.state.Commit(ctx, l.lease, l.next)
	}
	b.leases = nil
}

// Abort drops the state of a batch that failed: memory keeps nothing of its partitions, so the retry starts
// from a checkpoint and never sees what the failed attempt folded.
func (h *Handler) Abort(b *Batch) {
	for _, l := range b.leases {
		h.state.Abort(l.lease)
	}
	b.leases = nil
}

// indicatorBytes is the most the indicator fields add to an enriched record: six numbers of up to 24 characters
// under their keys, the two booleans and maCross.
const indicatorBytes = 6*(len(`,"vwapSession":`)+24) + len(`,"volumeAlert":false,"maCross":"bullish","outOfSequence":false`)

// Build turns an event into output records without producing them. A bad record becomes a DLQ record; a
// previous-close store fault or a state that cannot be recovered (checkpoint store or Kafka unavailable) is
// returned as an error. It decodes every record first, folding each valid one into its partition's state in
// offset order, resolves the distinct (symbol, trading date) lookups of the batch with one store call, then
// enriches. The caller must Commit or Abort the batch.
func (h *Handler) Build(ctx context.Context, ev events.KafkaEvent) (Batch, error) {
	n, size := mskbatch.Size(ev)
	b := Batch{Records: make([]*kgo.Record, 0, n)}
	// One arena for all output bytes: the decoded value (3/4 of its base64) and the enriched record (about the
	// same size again, plus the key and the indicator fields). Slices stay valid if it has to grow, but growing
	// copies everything written so far, so it is sized for the indicators' longest form up front.
	var arena []byte
	if need := size/4*3*2 + n*(48+indicatorBytes); cap(h.spare) >= need {
		arena = h.spare[:0] // a released batch's memory (Release)
	} else {
		arena = make([]byte, 0, need)
	}
	h.spare = nil
	recs := make([]kgo.Record, n)
	ds := make([]decoded, n)
	lookups := make([]enrich.Lookup, 0, 64)
	seen := make(map[enrich.Lookup]struct{}, 64)
	var cur *partitionLease
	for i, in := range mskbatch.Records(ev) {
		if cur == nil || in.Topic != cur.lease.Topic || int32(in.Partition) != cur.lease.Partition {
			l, err := h.state.Begin(ctx, in.Topic, int32(in.Partition), in.Offset)
			if err != nil {
				return b, err
			}
			b.leases = append(b.leases, partitionLease{lease: l})
			cur = &b.leases[len(b.leases)-1]
		}
		cur.next = in.Offset + 1
		ds[i].in = in
		arena, ds[i].ok = h.decodeSafe(&ds[i], &recs[i], arena, &b)
		if ds[i].ok {
			ds[i].state = cur.lease.Fold.Apply(&ds[i].raw)
			l := enrich.LookupOf(&ds[i].raw)
			if _, dup := seen[l]; !dup {
				seen[l] = struct{}{}
				lookups = append(lookups, l)
			}
		}
	}
	b.Counts.Records = n
	stale := h.staleServed()
	closes, err := h.enricher.Resolve(ctx, lookups)
	b.Counts.StaleServed = int(h.staleServed() - stale)
	if err != nil {
		return b, err
	}
	var crecs []kgo.Record
	if h.candlesTopic != "" {
		total := 0
		for i := range ds {
			total += len(ds[i].state.Candles)
		}
		crecs = make([]kgo.Record, 0, total) // never grows: b.Records points into it
	}
	for i := range recs {
		if d := &ds[i]; d.ok {
			arena = h.enrichSafe(d, closes, &recs[i], arena, &b)
		}
		b.Records = append(b.Records, &recs[i])
		if h.candlesTopic == "" {
			continue
		}
		for j := range ds[i].state.Candles { // the candles this bar made due, after its own record
			c := &ds[i].state.Candles[j]
			start := len(arena)
			arena = append(arena, c.Symbol...)
			mid := len(arena)
			arena = candles.AppendCandle(arena, c)
			crecs = append(crecs, kgo.Record{Topic: h.candlesTopic, Key: arena[start:mid:mid], Value: arena[mid:len(arena):len(arena)],
				Timestamp: c.Start, Headers: EnhancedHeaders})
			b.Records = append(b.Records, &crecs[len(crecs)-1])
			b.Counts.Candles++
		}
	}
	b.arena = arena
	return b, nil
}

// staleServed reads the store's count of answers served stale, when it keeps one (prevclose.Cache).
func (h *Handler) staleServed() int64 {
	if s, ok := h.enricher.Store.(staleCounter); ok {
		return s.StaleServed()
	}
	return 0
}

// staleCounter is a store that serves the last known close when its source fails, and counts it.
type staleCounter interface {
	StaleServed() int64
}

// decoded is an input record read in the first pass.
type decoded struct {
	in    *events.KafkaRecord
	value []byte
	raw   bar.Raw
	ok    bool // false: out is already its DLQ record
	// state is what the partition's fold gave the bar (its indicators).
	state fold.Result
}

// decode reads a single input record into d, or makes out its DLQ record (ok false).
func (h *Handler) decode(d *decoded, out *kgo.Record, arena []byte, b *Batch) ([]byte, bool) {
	in := d.in
	start := len(arena)
	arena, err := mskbatch.AppendValue(arena, in)
	if err != nil {
		*out = *mskbatch.DeadLetter(h.dlqTopic, in, err)
		h.noteReject(in, err.Error(), b)
		return arena, false
	}
	value := arena[start:len(arena):len(arena)]
	d.value = value
	d.raw, err = bar.DecodeRaw(value)
	if err == nil {
		err = bar.CheckAhead(&d.raw, in.Timestamp.Time) // the fold's Replay applies the same rule
	}
	if err != nil {
		h.reject(in, out, value, err.Error(), b)
		return arena, false
	}
	return arena, true
}

// enrich makes out the enriched record of d, or its DLQ record when it cannot be published.
func (h *Handler) enrich(d *decoded, closes map[enrich.Lookup]float64, out *kgo.Record, arena []byte, b *Batch) []byte {
	e, err := h.enricher.EnrichResolved(&d.raw, closes)
	if err != nil { // bar.ErrInvalid: every store fault was returned by Resolve
		h.reject(d.in, out, d.value, err.Error(), b)
		return arena
	}
	e.Indicators = d.state.Indicators
	start := len(arena)
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
	return arena
}

// reject builds the DLQ record: original key, value and headers, plus error and source headers.
func (h *Handler) reject(in *events.KafkaRecord, out *kgo.Record, value []byte, reason string, b *Batch) {
	*out = *deadletter.Record(h.dlqTopic, in, value, reason)
	h.noteReject(in, reason, b)
}

// noteReject counts a dead letter and keeps its reason for the log.
func (h *Handler) noteReject(in *events.KafkaRecord, reason string, b *Batch) {
	b.Counts.DLQ++
	b.Rejects = mskbatch.NoteReason(b.Rejects, in, reason)
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
