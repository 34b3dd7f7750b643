package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/bar"
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
