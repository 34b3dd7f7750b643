package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca/fakealpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dynalite"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// TestBootstrapUnderRIE builds the function as Lambda runs it and invokes it through the AWS Runtime Interface
// Emulator with both event fixtures: closes from a fake Alpaca (REST) into dynalite, the secret never logged.
func TestBootstrapUnderRIE(t *testing.T) {
	rie := rieBinary(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "bootstrap"), ".")
	build.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}

	srv := fakealpaca.StartT(t, "rie-key", "rie-Secr3t")
	for i, d := range []string{"2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06", "2024-06-07", "2024-06-10"} {
		date, err := bar.ParseDate(d)
		if err != nil {
			t.Fatal(err)
		}
		srv.AddDaily(fakealpaca.DailyBar{Symbol: "NVDA", Date: date, Close: 1200 + float64(i)})
	}
	srv.AddSplit(fakealpaca.Split{Symbol: "NVDA", Date: bar.Date{Year: 2024, Month: 6, Day: 10}, Ratio: 10})
	srv.SetToday(bar.Date{Year: 2024, Month: 6, Day: 10})
	db := dynalite.StartT(t)
	if err := prevclose.CreateTable(context.Background(), db.Client(), "closes"); err != nil {
		t.Fatal(err)
	}

	apiAddr, rapidAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", apiAddr, "--runtime-api-address", rapidAddr, filepath.Join(dir, "bootstrap"))
	cmd.Env = append(os.Environ(),
		"SYMBOLS=NVDA", "ALPACA_API_KEY=rie-key", "ALPACA_API_SECRET=rie-Secr3t", "ALPACA_DATA_URL="+srv.DataURL,
		"PREV_CLOSE_TABLE=closes", "AWS_ENDPOINT_URL_DYNAMODB="+db.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
	)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rie: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		if err := cmd.Wait(); err != nil {
			t.Logf("rie exited: %v", err)
		}
		close(exited)
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Logf("stop rie: %v", err)
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			if err := cmd.Process.Kill(); err != nil {
				t.Logf("kill rie: %v", err)
			}
			<-exited
		}
	})

	url := "http://" + apiAddr + "/2015-03-31/functions/function/invocations"
	tests := []struct {
		fixture string
		want    string
	}{
		{"prevclose-range.json", `{"from":"2024-06-03","to":"2024-06-14","symbols":1,"closes":6,"skipped":0}`},
		{"prevclose-scheduled.json", `{"from":"2024-05-31","to":"2024-06-10","symbols":1,"closes":6,"skipped":0}`},
	}
	for _, tt := range tests { // one at a time: the emulator takes one invocation at once
		event, err := os.ReadFile(filepath.Join("..", "..", "events", tt.fixture))
		if err != nil {
			t.Fatal(err)
		}
		body := invoke(t, url, event, exited, &logs)
		var got, want any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: response %s: %v", tt.fixture, body, err)
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %s, want %s\nlogs:\n%s", tt.fixture, body, tt.want, logs.String())
		}
	}
	c, ok, err := prevclose.NewDynamoDB(db.Client(), "closes").PrevClose(context.Background(), "NVDA", bar.Date{Year: 2024, Month: 6, Day: 10})
	if err != nil || !ok || c != 120.4 {
		t.Errorf("NVDA before the ex-date: got %v %v %v, want the split-adjusted 120.4", c, ok, err)
	}
	if strings.Contains(logs.String(), "rie-Secr3t") {
		t.Errorf("the Alpaca secret appears in the function's logs")
	}
}

// invoke posts the event, retrying (bounded) while the emulator is still starting.
func invoke(t *testing.T, url string, event []byte, exited <-chan struct{}, logs *lockedBuffer) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Post(url, "application/json", bytes.NewReader(event))
		if err == nil {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		select {
		case <-exited:
			t.Fatalf("emulator exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator not reachable within 60s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer collects the emulator's output, written by exec's copying goroutines.
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

// rieVersion is the emulator the notes pin (the same as the Makefile's).
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// rieBinary is $AWS_LAMBDA_RIE, bin/aws-lambda-rie (`make deps`), or a fresh `go install` into a temp dir.
func rieBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", "aws-lambda-rie"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install the Runtime Interface Emulator: %v\n%s", err, out)
	}
	return filepath.Join(gobin, "aws-lambda-rie")
}

// freeAddr reserves a loopback port and releases it for the emulator to bind.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(fmt.Errorf("release port: %w", err))
	}
	return addr
}
