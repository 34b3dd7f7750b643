package enrichfn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/calendar"
)

// Namespace is the CloudWatch namespace of the enrich function's metrics (dimension FunctionName).
const Namespace = "finfeed/enrich"

// ClosesGrace is how long after the regular session opens every symbol trading is expected to have a previous
// close: from then on (09:35 New York on a trading day) the ClosesDue metric is 1 and Unknown bars mean closes
// are missing (the loader did not run, or failed), not that a symbol has just listed.
const ClosesGrace = 5 * time.Minute

// EmitMetrics makes Handle write one CloudWatch Embedded Metric Format line per batch to w (the Lambda's log:
// CloudWatch Logs turns it into metrics, no API calls), with dimension FunctionName=functionName:
//
//   - on every invocation, failed ones included: SourceLag, seconds from the moment the batch's oldest record was
//     written to raw (its Kafka timestamp) to now: how far behind the event source is, in time rather than
//     records; a batch that keeps failing shows it growing. InSession (1 in the exchange's regular session) and
//     ClosesDue (1 from ClosesGrace after the open to the close) come from shared/calendar and gate alarms.
//   - on success only (a failed batch is retried, its counts would count twice): Records, Enhanced, DLQ, Unknown,
//     Panics, and when bars were written NewestBarAge and OldestBarAge, seconds from the start of the newest and
//     oldest bar written to now (end-to-end freshness: a live minute bar is about 60 s old when written).
func (h *Handler) EmitMetrics(w io.Writer, functionName string) {
	h.metrics, h.functionName = w, functionName
}

// metricDef names a metric of an EMF line.
type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emit writes the batch's EMF line, if metrics are on. A failure to write is logged, never returned: metrics
// must not fail a batch.
func (h *Handler) emit(ctx context.Context, ev events.KafkaEvent, b *Batch, failed bool) {
	if h.metrics == nil {
		return
	}
	now := h.now()
	line := map[string]any{"FunctionName": h.functionName}
	var defs []metricDef
	add := func(name, unit string, v any) {
		line[name] = v
		defs = append(defs, metricDef{name, unit})
	}
	if oldest, ok := oldestWritten(ev); ok {
		add("SourceLag", "Seconds", age(now, oldest))
	}
	add("InSession", "None", flag(calendar.InRegularSession(now)))
	add("ClosesDue", "None", flag(closesDue(now)))
	if !failed {
		c := b.Counts
		add("Records", "Count", c.Records)
		add("Enhanced", "Count", c.Enhanced)
		add("DLQ", "Count", c.DLQ)
		add("Unknown", "Count", c.Unknown)
		add("Panics", "Count", c.Panics)
		if oldest, newest, ok := h.barSpan(b); ok {
			add("NewestBarAge", "Seconds", age(now, newest))
			add("OldestBarAge", "Seconds", age(now, oldest))
		}
	}
	line["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"FunctionName"}},
			"Metrics":    defs,
		}},
	}
	if err := writeLine(h.metrics, line); err != nil {
		h.log.WarnContext(ctx, "metrics not written", "err", err)
	}
}

func writeLine(w io.Writer, line map[string]any) error {
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

// oldestWritten is the earliest Kafka timestamp of the event's records (the time the ingester produced them);
// ok is false when no record carries one.
func oldestWritten(ev events.KafkaEvent) (oldest time.Time, ok bool) {
	for _, recs := range ev.Records {
		for i := range recs {
			t := recs[i].Timestamp.Time
			if t.UnixMilli() <= 0 {
				continue
			}
			if !ok || t.Before(oldest) {
				oldest, ok = t, true
			}
		}
	}
	return oldest, ok
}

// barSpan is the start time of the oldest and newest bar the batch writes to the enhanced topic (an enhanced
// record's timestamp is its bar's start time).
func (h *Handler) barSpan(b *Batch) (oldest, newest time.Time, ok bool) {
	for _, r := range b.Records {
		if r.Topic != h.enhancedTopic {
			continue
		}
		if !ok || r.Timestamp.Before(oldest) {
			oldest = r.Timestamp
		}
		if !ok || r.Timestamp.After(newest) {
			newest = r.Timestamp
		}
		ok = true
	}
	return oldest, newest, ok
}

// age is the seconds from t to now, never negative (a bar stamped in the future, a clock behind: 0).
func age(now, t time.Time) float64 {
	return max(now.Sub(t).Seconds(), 0)
}

// closesDue reports whether now is in its day's regular session, at least ClosesGrace after the open.
func closesDue(now time.Time) bool {
	open, closeAt, ok := calendar.Session(calendar.DayOf(now))
	return ok && !now.Before(open.Add(ClosesGrace)) && now.Before(closeAt)
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
