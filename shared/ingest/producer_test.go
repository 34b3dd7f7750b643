package ingest_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/ingest"
)

// refuse answers a produce request with err on every partition.
func refuse(req kmsg.Request, err *kerr.Error) kmsg.Response {
	pr := req.(*kmsg.ProduceRequest)
	resp := pr.ResponseKind().(*kmsg.ProduceResponse)
	resp.Version = pr.Version
	for _, rt := range pr.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = err.Code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// Produce failures come in different error types (a broker's *kerr.Error, then kgo.ErrClientClosed when a
// shutdown closes the client on records still buffered). Recording the second must not crash the process.
func TestProduceFailuresOfDifferentKindsAreCounted(t *testing.T) {
	c := newKafka(t)
	var requests atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if requests.Add(1) == 1 {
			return refuse(req, kerr.TopicAuthorizationFailed), nil, true // not retried inside franz-go
		}
		return nil, errors.New("broker down"), true // retried inside franz-go until the client closes
	})
	client, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("raw"))
	if err != nil {
		t.Fatal(err)
	}
	m := &ingest.Metrics{}
	opts := ingest.DefaultOptions()
	opts.MaxBuffered = 4
	opts.ProduceRetryMin, opts.ProduceRetryMax = time.Hour, time.Hour // the refused record waits for its retry, holding its slot
	p, err := ingest.NewProducer(client, "raw", opts, m, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	first, second := minuteBar("AAPL", t0, 190), minuteBar("AAPL", t0.Add(time.Minute), 191)
	if err := p.Send(&first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first record refused", func() bool { return m.ProduceErrors.Load() == 1 })
	if err := p.Send(&second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second record's request", func() bool { return requests.Load() >= 2 })
	if err := p.Healthy(); err == nil {
		t.Errorf("healthy after a refusal: got nil, want the produce failure")
	}
	p.Abort()
	client.Close() // the second record fails with kgo.ErrClientClosed
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush after abort: %v", err)
	}
	if got := m.Lost.Load(); got != 2 {
		t.Errorf("lost: got %d, want 2", got)
	}
	if err := p.Healthy(); err == nil || !errors.Is(err, kgo.ErrClientClosed) {
		t.Errorf("healthy: got %v, want the latest failure (client closed)", err)
	}
}

// While Kafka refuses records, bars keep coming, and corrections among them: once it accepts again, each
// symbol's records must be in raw in the order they were sent, or a correction could land before the bar it
// corrects and consumers keep the stale one.
func TestRetriedRecordsKeepTheirOrder(t *testing.T) {
	const n = 60
	c := newKafka(t)
	var down atomic.Bool
	down.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return refuse(req, kerr.TopicAuthorizationFailed), nil, true
		}
		return nil, nil, false
	})
	client, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	m := &ingest.Metrics{}
	opts := ingest.DefaultOptions()
	opts.MaxBuffered = n
	opts.ProduceRetryMin, opts.ProduceRetryMax = time.Millisecond, 20*time.Millisecond
	p, err := ingest.NewProducer(client, "raw", opts, m, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	var want []string
	for i := range n {
		b := minuteBar([]string{"AAPL", "AMZN"}[i%2], t0.Add(time.Duration(i/4)*time.Minute), 190+float64(i))
		want = append(want, string(bar.AppendRaw(nil, &b)))
		if err := p.Send(&b); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			eventually(t, "refusals", func() bool { return m.ProduceErrors.Load() > 0 })
		}
	}
	eventually(t, "several refusals", func() bool { return m.ProduceErrors.Load() >= n })
	down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := consumeUntil(t, c, atLeast(n))
	got := map[string][]string{}
	for _, rec := range recs {
		got[string(rec.Key)] = append(got[string(rec.Key)], string(rec.Value))
	}
	for i, sym := range []string{"AAPL", "AMZN"} {
		var w []string
		for j := i; j < n; j += 2 {
			w = append(w, want[j])
		}
		if !reflect.DeepEqual(got[sym], w) {
			t.Errorf("%s records in raw:\n got %q\nwant %q", sym, got[sym], w)
		}
	}
}
