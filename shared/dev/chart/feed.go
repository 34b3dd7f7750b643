package chart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// interval's. A malformed record is skipped and counted, a read error is shown on the page and logged once per
// distinct message; neither stops the chart.
func Consume(ctx context.Context, p Poller, t Topics, s *Store, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lastErr := ""
	for ctx.Err() == nil {
		fs := p.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		var errs []error
		fs.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("read %s/%d: %w", topic, partition, err))
			}
		})
		fs.EachRecord(func(r *kgo.Record) { take(s, t, r) })
		switch err := errors.Join(errs...); {
		case err != nil:
			s.SetReadError(err.Error())
			if err.Error() != lastErr {
				log.Warn("chart: reading the feed", "err", err)
				lastErr = err.Error()
			}
			if fs.NumRecords() == 0 {
				select {
				case <-ctx.Done():
				case <-time.After(retryPause):
				}
			}
		case lastErr != "":
			s.SetReadError("")
			lastErr = ""
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
