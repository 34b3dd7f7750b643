package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
)

// TestBinaryFlushesOnSIGTERM runs the built ingester as ECS does: configuration from the environment, the
// probe subcommand as health check, and a real SIGTERM while a slow broker still holds records in flight.
func TestBinaryFlushesOnSIGTERM(t *testing.T) {
	const n = 200
	bin := filepath.Join(t.TempDir(), "ingester")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv := fakealpacatest.Start(t, "key", "Secr3t-value")
	kc, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	kc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) { // a slow broker
		kc.KeepControl()
		time.Sleep(20 * time.Millisecond)
		return nil, nil, false
	})
	health := freeAddr(t)
	env := append(os.Environ(), "SYMBOLS=AAPL", "ALPACA_API_KEY=key", "ALPACA_API_SECRET=Secr3t-value",
		"ALPACA_STREAM_URL="+srv.StreamURL, "ALPACA_DATA_URL="+srv.DataURL, "KAFKA_AUTH=none",
		"KAFKA_BROKERS="+strings.Join(kc.ListenAddrs(), ","), "HEALTH_ADDR="+health, "METRICS_INTERVAL=20ms")
	cmd := exec.Command(bin)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var logs lockedBuilder
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		if _, err := io.Copy(&logs, stderr); err != nil {
			t.Logf("read logs: %v", err)
		}
	}()
	barsIn := make(chan int64, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct{ BarsIn int64 }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.BarsIn > 0 {
				barsIn <- line.BarsIn
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			if err := cmd.Process.Kill(); err != nil {
				t.Logf("kill: %v", err)
			}
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for { // the probe ECS runs, until the stream is up
		probeCmd := exec.Command(bin, "probe", "/readyz")
		probeCmd.Env = env
		if probeCmd.Run() == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never ready; logs:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t0 := time.Date(2024, 7, 11, 14, 0, 0, 0, time.UTC)
	for i := range n {
		b := alpaca.Raw("AAPL", 190, 191, 189, 190.5, 100, 3, 190.2, t0.Add(time.Duration(i)*time.Minute))
		if err := srv.Publish(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for total := int64(0); total < n; {
		select {
		case v := <-barsIn:
			total += v
		case <-ctx.Done():
			t.Fatalf("bars read: gave up at %d of %d", total, n)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		<-logsDone
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; logs:\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatal("no exit within 60s of SIGTERM")
	}
	if strings.Contains(logs.String(), "Secr3t-value") {
		t.Errorf("the Alpaca secret appears in the logs")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics("raw"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("raw: %d of %d records", got, n)
		}
		got += len(fs.Records())
	}
	if got != n {
		t.Errorf("records: got %d, want %d", got, n)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// lockedBuilder collects the process's logs while the test may read them.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
