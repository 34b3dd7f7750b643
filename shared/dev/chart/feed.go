package chart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Poller is the Kafka client the chart reads with: a franz-go client consuming the topics, logged in as the
// customer.
type Poller interface {
	PollFetches(ctx context.Context) kgo.Fetches
}

// Topics names what the chart reads: the enriched bars, and the candles when they are published ("" when not).
type Topics struct {
	Enriched string
	Candles  string
}

// retryPause is how long Consume waits after a poll that brought only errors, so a refused topic does not spin.
const retryPause = time.Second

// Consume reads records from p into s until ctx is done: enriched bars as Minute bars, candles as their
// interval's. A malformed record is skipped and counted. A topic that cannot be read (a refused topic) is shown
// on the page until a record of it arrives, and logged when its error changes; neither stops the chart.
func Consume(ctx context.Context, p Poller, t Topics, s *Store, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	failing := map[string]string{} // topic -> its latest read error
	for ctx.Err() == nil {
		fs := p.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		changed := false
		fs.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if msg := fmt.Sprintf("read %s: %v", topic, err); failing[topic] != msg {
				failing[topic], changed = msg, true
				log.Warn("chart: reading the feed", "topic", topic, "partition", partition, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := failing[r.Topic]; ok {
				delete(failing, r.Topic)
				changed = true
			}
			take(s, t, r)
		})
		if changed {
			s.SetReadError(strings.Join(slices.Sorted(maps.Values(failing)), "; "))
		}
		if fs.NumRecords() == 0 && len(failing) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(retryPause):
			}
		}
	}
}

// take charts one record, or counts it as skipped.
func take(s *Store, t Topics, r *kgo.Record) {
	var err error
	switch r.Topic {
	case t.Enriched:
		var sym string
		var b Bar
		if sym, b, err = decodeEnriched(r.Value); err == nil {
			s.Add(sym, Minute, b)
		}
	case t.Candles:
		var sym, iv string
		var b Bar
		if sym, iv, b, err = decodeCandle(r.Value); err == nil {
			s.Add(sym, iv, b)
		}
	default:
		err = fmt.Errorf("%w: from topic %q, which the chart does not read", ErrMalformed, r.Topic)
	}
	if err != nil {
		s.Skip(fmt.Sprintf("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err))
	}
}
