// Package redrive sends dead letters back to the topic they came from, once their cause is fixed: the original
// key, value and headers, to the topic named by the dead letter's `source` header.
package redrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/kafka"
)

// Config says which dead letters to send back.
type Config struct {
	Kafka kafka.Config
	// Deps sign MSK IAM logins and resolve a SCRAM secret (kafka.Deps).
	Deps kafka.Deps
	// Topic is the dead-letter topic to read (raw.dlq, enhanced.dlq).
	Topic string
	// FromTime, when set, skips dead letters written before it (found with ListOffsets, not a scan).
	FromTime time.Time
	// Match, when set, keeps only dead letters whose error header or value it matches.
	Match *regexp.Regexp
	// DryRun prints what would be sent and sends nothing.
	DryRun bool
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Topic == "" {
		errs = append(errs, errors.New("dead-letter topic: required"))
	}
	errs = append(errs, c.Kafka.Validate())
	return errors.Join(errs...)
}

// Result counts what a run did.
type Result struct {
	Read    int // dead letters read
	Matched int // of those, kept by FromTime and Match
	Sent    int // re-sent (0 on a dry run)
	Skipped int // kept but not sendable: truncated, no usable source header, or a source that is itself a dead-letter topic
}

// drainTimeout bounds a run that reads no record for this long although the end offsets were not reached.
const drainTimeout = 30 * time.Second

// Run reads Topic from its start (or FromTime) to the end offsets it had when Run began, and re-sends every
// dead letter kept by the filters to its source topic, in the dead-letter topic's order. Progress lines go to out.
// Re-sending is safe to repeat: the functions' output is deterministic, so a bar sent twice enriches to
// byte-identical duplicates.
func Run(ctx context.Context, cfg Config, out io.Writer) (Result, error) {
	var res Result
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	cl, err := kafka.NewClient(ctx, cfg.Kafka, cfg.Deps)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, cfg.Topic)
	if err != nil {
		return res, fmt.Errorf("topic %s: list end offsets: %w", cfg.Topic, err)
	}
	if err := ends.Error(); err != nil {
		return res, fmt.Errorf("topic %s: list end offsets: %w", cfg.Topic, err)
	}
	var starts kadm.ListedOffsets
	if cfg.FromTime.IsZero() {
		starts, err = adm.ListStartOffsets(ctx, cfg.Topic)
	} else {
		starts, err = adm.ListOffsetsAfterMilli(ctx, cfg.FromTime.UnixMilli(), cfg.Topic)
	}
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return res, fmt.Errorf("topic %s: list start offsets: %w", cfg.Topic, err)
	}
	assign := map[int32]kgo.Offset{}
	remaining := map[int32]int64{} // partition → end offset still to reach
	starts.Each(func(o kadm.ListedOffset) {
		end, ok := ends.Lookup(cfg.Topic, o.Partition)
		if ok && end.Offset > o.Offset {
			assign[o.Partition] = kgo.NewOffset().At(o.Offset)
			remaining[o.Partition] = end.Offset
		}
	})
	if len(assign) == 0 {
		fmt.Fprintf(out, "redrive: %s holds no dead letters in range\n", cfg.Topic)
		return res, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: assign})
	for len(remaining) > 0 {
		pctx, cancel := context.WithTimeout(ctx, drainTimeout)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if fs.IsClientClosed() {
			return res, errors.New("client closed")
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = errors.Join(ferr, fmt.Errorf("fetch %s/%d: %w", topic, p, err))
			}
		})
		if ferr != nil {
			return res, ferr
		}
		if fs.NumRecords() == 0 {
			return res, fmt.Errorf("topic %s: no record for %v with %d partitions short of their end", cfg.Topic, drainTimeout, len(remaining))
		}
		var batch []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := remaining[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset == end-1 {
				delete(remaining, r.Partition)
			}
			res.Read++
			if !cfg.FromTime.IsZero() && r.Timestamp.Before(cfg.FromTime) {
				return
			}
			reason := header(r, deadletter.HeaderError)
			if cfg.Match != nil && !cfg.Match.MatchString(reason) && !cfg.Match.Match(r.Value) {
				return
			}
			res.Matched++
			from := fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
			if cut := header(r, deadletter.HeaderTruncated); cut != "" {
				res.Skipped++
				fmt.Fprintf(out, "skip %s: only part of the original was kept (%s)\n", from, cut)
				return
			}
			target, err := sourceTopic(r, cfg.Topic)
			if err != nil {
				res.Skipped++
				fmt.Fprintf(out, "skip %s: %v\n", from, err)
				return
			}
			if cfg.DryRun {
				fmt.Fprintf(out, "would send %s to %s (key %q): %s\n", from, target, r.Key, reason)
				return
			}
			batch = append(batch, original(r, target))
		})
		if len(batch) > 0 {
			if err := kafka.ProduceAll(ctx, cl, batch); err != nil {
				return res, fmt.Errorf("re-send %d dead letters: %w", len(batch), err)
			}
			res.Sent += len(batch)
		}
	}
	return res, nil
}

// sourceTopic is the topic named by the dead letter's last source header (topic/partition/offset).
func sourceTopic(r *kgo.Record, dlqTopic string) (string, error) {
	src := header(r, deadletter.HeaderSource)
	i := strings.LastIndexByte(src, '/')
	if i <= 0 {
		return "", fmt.Errorf("source header %q is not topic/partition/offset", src)
	}
	j := strings.LastIndexByte(src[:i], '/')
	if j <= 0 {
		return "", fmt.Errorf("source header %q is not topic/partition/offset", src)
	}
	topic := src[:j]
	if topic == dlqTopic || strings.HasSuffix(topic, ".dlq") {
		return "", fmt.Errorf("source %s is a dead-letter topic", topic)
	}
	return topic, nil
}

// original rebuilds the record as it was on its source topic: key, value, and the headers it had, without the
// error and source headers the dead letter added last.
func original(r *kgo.Record, topic string) *kgo.Record {
	headers := r.Headers
	if n := len(headers); n >= 2 && headers[n-2].Key == deadletter.HeaderError && headers[n-1].Key == deadletter.HeaderSource {
		headers = headers[:n-2]
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: append([]kgo.RecordHeader(nil), headers...)}
}

// header is the value of the last header named key.
func header(r *kgo.Record, key string) string {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value)
		}
	}
	return ""
}
