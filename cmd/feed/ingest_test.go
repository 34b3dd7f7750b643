package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
)

// lockedBuffer is an io.Writer the command and the test may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestFeedIngestWithFakeAlpacaWritesRaw(t *testing.T) {
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	t.Setenv("KAFKA_AUTH", "none")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"ingest", "--fake-alpaca", "20ms", "--symbols", "AAPL,AMZN",
			"--brokers", strings.Join(c.ListenAddrs(), ","), "--health-addr", "off"}, nil, &stdout, &stderr)
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("raw"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	seen := map[string]int{}
	for seen["AAPL"] < 3 || seen["AMZN"] < 3 {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("raw: got %v before the deadline; stderr:\n%s", seen, stderr.String())
		}
		for _, r := range fs.Records() {
			b, err := bar.DecodeRaw(r.Value)
			if err != nil || b.Symbol != string(r.Key) {
				t.Fatalf("record key %s value %s: decode error %v", r.Key, r.Value, err)
			}
			seen[b.Symbol]++
		}
	}
	cancel()
	select {
	case got := <-code:
		if got != exitOK {
			t.Fatalf("exit: got %d, want %d; stderr:\n%s", got, exitOK, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("feed ingest did not stop after the signal")
	}
	if !strings.Contains(stdout.String(), "stopped:") {
		t.Errorf("stdout: got %q, want the final counts", stdout.String())
	}
}
