package consumer_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/consumer"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/topics"
)

func setup(t *testing.T) (*broker.Broker, *kgo.Client) {
	t.Helper()
	b, err := broker.Start(t.Context(), broker.Config{Customer: broker.Credentials{User: "alice", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kafka.NewClient(t.Context(), b.ServiceKafka(), kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return b, cl
}

func produce(t *testing.T, cl *kgo.Client, topic string, kv ...string) {
	t.Helper()
	var recs []*kgo.Record
	for i := 0; i < len(kv); i += 2 {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRun(t *testing.T) {
	b, svc := setup(t)
	produce(t, svc, topics.Enhanced, "AMZN", `{"symbol":"AMZN"}`, "NVDA", `{"symbol":"NVDA"}`, "AMZN", `{"symbol":"AMZN","n":2}`)
	tests := []struct {
		name    string
		symbols []string
		max     int
		want    []string
	}{
		{"all", nil, 3, []string{`{"symbol":"AMZN"}`, `{"symbol":"AMZN","n":2}`, `{"symbol":"NVDA"}`}},
		{"one symbol", []string{"NVDA"}, 1, []string{`{"symbol":"NVDA"}`}},
		{"two symbols", []string{"AMZN", "TSLA"}, 2, []string{`{"symbol":"AMZN"}`, `{"symbol":"AMZN","n":2}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := consumer.Run(bounded(t), consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced,
				FromBeginning: true, Symbols: tt.symbols, Max: tt.max}, &out)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			// partitions interleave: compare as sets, order within a symbol is kept by its partition
			if n != len(tt.want) || !sameSet(lines, tt.want) {
				t.Errorf("got %d %q, want %q", n, lines, tt.want)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// syncBuffer is a bytes.Buffer safe to read while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestFromLatestSkipsOldRecords(t *testing.T) {
	b, svc := setup(t)
	produce(t, svc, topics.Enhanced, "OLD", "old")
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := consumer.Run(bounded(t), consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, Max: 1}, &out)
		done <- err
	}()
	// keep producing until the consumer, positioned at the end, has seen a new record
	for {
		produce(t, svc, topics.Enhanced, "NEW", "new")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if got := out.b.String(); got != "new\n" {
				t.Errorf("got %q, want %q", got, "new\n")
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestRefused(t *testing.T) {
	b, _ := setup(t)
	wrong := b.CustomerKafka()
	wrong.Password = "nope"
	tests := []struct {
		name  string
		cfg   consumer.Config
		check func(error) bool
	}{
		{"wrong password", consumer.Config{Kafka: wrong, Topic: topics.Enhanced}, func(err error) bool { return errors.Is(err, consumer.ErrLogin) }},
		{"raw topic", consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Raw}, func(err error) bool { return errors.Is(err, kerr.TopicAuthorizationFailed) }},
		{"no topic", consumer.Config{Kafka: b.CustomerKafka()}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "topic is required") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := consumer.Run(bounded(t), tt.cfg, &out)
			if !tt.check(err) {
				t.Errorf("got %v, want a refusal", err)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q, want nothing", out.String())
			}
		})
	}
}
