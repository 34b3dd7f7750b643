package ingest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/ingest"
)

func TestRefusedProducesAreCountedAndRetried(t *testing.T) {
	const n = 20
	r := newRig(t, nil, nil)
	var refusals atomic.Int32
	refusals.Store(3)
	r.kafka.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r.kafka.KeepControl()
		if refusals.Add(-1) < 0 {
			return nil, nil, false
		}
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		resp.Version = pr.Version
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code // not retriable inside franz-go
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	waitSubscribes(t, r.alpaca, 1)
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	for i := range n {
		b := minuteBar("AAPL", t0.Add(time.Duration(i)*time.Minute), 190+float64(i))
		want[string(bar.AppendRaw(nil, &b))] = true
		if err := r.alpaca.Publish(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	recs := consumeUntil(t, r.kafka, atLeast(n))
	for _, rec := range recs {
		if !want[string(rec.Value)] {
			t.Errorf("unexpected record %s", rec.Value)
		}
		delete(want, string(rec.Value))
	}
	if len(want) != 0 {
		t.Errorf("missing %d bars: %v", len(want), want)
	}
	m := r.svc.Metrics()
	if m.ProduceErrors.Load() < 1 || m.Lost.Load() != 0 {
		t.Errorf("produce errors %d, lost %d: want >= 1 and 0", m.ProduceErrors.Load(), m.Lost.Load())
	}
	eventually(t, "ready again", func() bool { return r.svc.Ready() == nil })
}

// A reader held up by Kafka can lose its connection long before it notices; the gap must start at the last
// frame it read, not at the moment it noticed.
func TestGapStartsAtTheLastReadWhenKafkaHeldTheReader(t *testing.T) {
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	r := newRig(t, map[string]string{"INGEST_MAX_BUFFERED": "4", "BACKFILL_OVERLAP": "15m", "BACKFILL_ON_START": "0"},
		func(in *ingest.Ingester, _ *fakealpaca.Server) {
			in.Now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
			in.MarketOpen = func(time.Time) bool { return false }
		})
	var down atomic.Bool
	down.Store(true)
	r.kafka.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		r.kafka.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	waitSubscribes(t, r.alpaca, 1)
	want := map[string]string{}
	add := func(b bar.Raw) bar.Raw {
		want[b.Time.Format(time.RFC3339)] = string(bar.AppendRaw(nil, &b))
		return b
	}
	for m := -9; m <= 0; m++ {
		if err := r.alpaca.Publish(context.Background(), add(minuteBar("AAPL", t0.Add(time.Duration(m)*time.Minute), 190+float64(m)))); err != nil {
			t.Fatal(err)
		}
	}
	m := r.svc.Metrics()
	eventually(t, "the reader held by a full backlog", func() bool { return m.Buffered.Load() == 4 })
	for i := 1; i <= 10; i++ {
		r.alpaca.Record(add(minuteBar("AAPL", t0.Add(time.Duration(i)*time.Minute), 200+float64(i))))
	}
	// Kafka stays down for half an hour; the clock moves first, so however the reader meets the dropped
	// connection (held, or reading before it is held), it reconnects after the recorded minutes
	clock.Store(t0.Add(30 * time.Minute).UnixNano())
	r.alpaca.DropAll()
	down.Store(false)
	recs := consumeUntil(t, r.kafka, func(recs []*kgo.Record) bool {
		seen := map[string]bool{}
		for _, rec := range recs {
			b, err := bar.DecodeRaw(rec.Value)
			if err != nil {
				t.Fatal(err)
			}
			seen[b.Time.Format(time.RFC3339)] = true
		}
		return len(seen) == len(want)
	})
	for _, rec := range recs {
		b, err := bar.DecodeRaw(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[b.Time.Format(time.RFC3339)]; string(rec.Value) != w {
			t.Errorf("record:\n got %s\nwant %s", rec.Value, w)
		}
	}
}
