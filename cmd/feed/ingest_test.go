package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/syncbuf"
	"github.com/finfeed/finfeed/shared/ingest"
)

func TestFeedIngestWithFakeAlpacaWritesRaw(t *testing.T) {
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	t.Setenv("KAFKA_AUTH", "none")
	t.Setenv("METRICS_SERVICE", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
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
	// the metrics line written at the stop, under the local Service value (no stack's)
	if !strings.Contains(stderr.String(), `"Service":"`+ingest.DefaultMetricsService+`"`) {
		t.Errorf("stderr: got %q, want an EMF line with Service %s", stderr.String(), ingest.DefaultMetricsService)
	}
}

// TestFeedIngestIntoFeedLocal is the issue's "done when": the ingester, pointed at a fake Alpaca and at `feed
// local`'s Kafka with the service principal's credentials, puts bars into raw that the local stack enriches;
// the customer reads them from enhanced.
func TestFeedIngestIntoFeedLocal(t *testing.T) {
	replay := writeFile(t, "replay.ndjson", []string{
		`{"open":1,"high":1,"low":1,"close":1,"volume":1,"trade_count":1,"vwap":1,"timestamp":"2024-07-11 19:49:00","symbol":"AMZN"}`})
	closes := writeFile(t, "closes.csv", []string{"symbol,date,close", "ZZING,2001-01-02,100", "AMZN,2001-01-02,1"})
	const customer, customerPass = "carol", "carol-secret-pw"
	r := startLocal(t, nil, "--replay", replay, "--prev-closes", closes, "--kafka-addr", "127.0.0.1:0", "--speed", "0",
		"--customer-user", customer, "--customer-password", customerPass, "--batch-window", "20ms")
	if r.serviceUser == "" {
		t.Fatalf("feed local printed no service credentials:\n%s", r.stdout)
	}
	for k, v := range map[string]string{"KAFKA_AUTH": "scram", "KAFKA_TLS": "false", "KAFKA_USERNAME": r.serviceUser,
		"KAFKA_PASSWORD": r.servicePass, "KAFKA_SECRET_ARN": ""} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"ingest", "--fake-alpaca", "20ms", "--symbols", "ZZING", "--brokers", r.addr,
			"--health-addr", "off"}, nil, &stdout, &stderr)
	}()
	const bars = 3
	got := saramaReadN(t, r.addr, customer, customerPass, "enhanced", 1+bars, false)
	n := 0
	for _, m := range got {
		e, err := bar.DecodeEnriched([]byte(m.value))
		if err != nil {
			t.Fatalf("enhanced record %q: %v", m.value, err)
		}
		if e.Symbol != "ZZING" {
			continue
		}
		n++
		if m.key != "ZZING" || !e.HasPrev || e.PrevClose != 100 || e.Indicator == bar.Unknown {
			t.Errorf("enhanced %s (key %s): want key ZZING, prevClose 100 and an indicator", m.value, m.key)
		}
	}
	if n < bars {
		t.Errorf("ingested bars in enhanced: got %d, want >= %d; ingest stderr:\n%s", n, bars, stderr.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Errorf("feed ingest exit: got %d, want %d; stderr:\n%s", c, exitOK, stderr.String())
		}
	case <-time.After(waitLimit):
		t.Fatal("feed ingest did not stop")
	}
}

func TestFeedIngestRefusesAPlainHTTPTradingAPI(t *testing.T) {
	var stdout, stderr syncbuf.Buffer
	code := run(context.Background(), []string{"ingest", "--symbols", "*", "--brokers", "127.0.0.1:1",
		"--api-url", "http://paper-api.alpaca.markets", "--health-addr", "off"}, nil, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "ALPACA_API_URL") || !strings.Contains(stderr.String(), "loopback") {
		t.Errorf("exit %d, stderr %q: want %d and an ALPACA_API_URL error (http only to loopback)", code, stderr.String(), exitUsage)
	}
}
