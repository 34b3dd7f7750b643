package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/ingest"
)

// lagging is Alpaca REST as it behaves: a minute's bar exists only some seconds after the minute ends (trades
// may be reported up to 10 s late; the stream sends the bar within 100 ms).
type lagging struct {
	next ingest.History
	lag  time.Duration
	now  func() time.Time
}

func (l lagging) MinuteBars(ctx context.Context, symbols []string, from, to time.Time) ([]bar.Raw, error) {
	asOf := l.now()
	got, err := l.next.MinuteBars(ctx, symbols, from, to)
	var out []bar.Raw
	for _, b := range got {
		if !asOf.Before(b.Time.Add(time.Minute + l.lag)) {
			out = append(out, b)
		}
	}
	return out, err
}

// The connection drops just before a minute ends and comes back just after: the stream sent that minute's
// bar while it was down, and REST does not have it yet. The backfill must still bring it.
func TestBackfillWaitsForTheGapsLastMinuteToBeAggregated(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())).UTC() }
	r := newRig(t, map[string]string{"BACKFILL_ON_START": "0", "BACKFILL_OVERLAP": "3m"}, func(in *ingest.Ingester, s *fakealpaca.Server) {
		in.Now = clock
		in.MarketOpen = func(time.Time) bool { return false }
		rest := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: s.DataURL, Key: "key", Secret: "secret"}, 0)
		in.History = lagging{next: rest, lag: time.Second, now: clock}
		in.BackfillSettle = 1500 * time.Millisecond
	})
	waitSubscribes(t, r.alpaca, 1)
	boundary := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	offset.Store(int64(time.Until(boundary))) // the clock now reads the minute's end
	missed := minuteBar("AAPL", boundary.Add(-time.Minute), 190)
	r.alpaca.Record(missed) // sent by the stream while the connection was down
	r.alpaca.DropAll()
	want := string(bar.AppendRaw(nil, &missed))
	consumeUntil(t, r.kafka, func(recs []*kgo.Record) bool {
		for _, rec := range recs {
			if string(rec.Value) == want {
				return true
			}
		}
		return false
	})
}
