package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/bar"
)

// SIGTERM while Kafka is down and the backlog is full: the reader is blocked handing a bar over. Shutdown must
// still end once SHUTDOWN_TIMEOUT is spent, with every bar read either in Kafka or counted and logged as lost.
func TestSIGTERMWithKafkaDownEndsWithinTheShutdownTimeout(t *testing.T) {
	const maxBuffered = 4
	r := newRig(t, map[string]string{"INGEST_MAX_BUFFERED": "4", "SHUTDOWN_TIMEOUT": "100ms", "BACKFILL_ON_START": "0"}, nil)
	r.kafka.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		r.kafka.KeepControl()
		return nil, errors.New("broker down"), true
	})
	waitSubscribes(t, r.alpaca, 1)
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	var bars []bar.Raw
	for i := range maxBuffered + 3 {
		bars = append(bars, minuteBar("AAPL", t0.Add(time.Duration(i)*time.Minute), 190+float64(i)))
	}
	if err := r.alpaca.Publish(context.Background(), bars...); err != nil {
		t.Fatal(err)
	}
	m := r.svc.Metrics()
	eventually(t, "the reader blocked on a full backlog", func() bool {
		return m.Buffered.Load() == maxBuffered && m.BarsIn.Load() > maxBuffered
	})
	err := r.stop(t)
	if err == nil || !strings.Contains(err.Error(), "unacknowledged") {
		t.Errorf("run: got %v, want the records that could not be flushed", err)
	}
	if in, produced, lost := m.BarsIn.Load(), m.Produced.Load(), m.Lost.Load(); produced+lost != in {
		t.Errorf("bars in %d, produced %d, lost %d: want every bar read produced or counted lost", in, produced, lost)
	}
}
