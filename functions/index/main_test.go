package main

import (
	"bytes"
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

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/finfeed/finfeed/shared/search/searchtest"
)

// TestBootstrapUnderRIE builds this function as Lambda runs it (linux, lambda.norpc) and invokes it through the
// AWS Runtime Interface Emulator with events/index-msk.json: configuration from the environment, the template
// applied at cold start, documents on the (strict fake) OpenSearch, the bad record reported in the counts.
func TestBootstrapUnderRIE(t *testing.T) {
	rie := rieBinary(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "bootstrap"), ".")
	build.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}

	search := searchtest.NewServer(t, searchtest.Options{Username: "indexer", Password: "rie-Pa55"})
	kc, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "enhanced", "enhanced.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)

	apiAddr, rapidAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", apiAddr, "--runtime-api-address", rapidAddr, filepath.Join(dir, "bootstrap"))
	cmd.Env = append(os.Environ(),
		"OPENSEARCH_URL="+search.URL,
		"OPENSEARCH_AUTH=basic",
		"OPENSEARCH_USERNAME=indexer",
		"OPENSEARCH_PASSWORD=rie-Pa55",
		"KAFKA_BROKERS="+strings.Join(kc.ListenAddrs(), ","),
		"KAFKA_AUTH=none",
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

	event, err := os.ReadFile(filepath.Join("..", "..", "events", "index-msk.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := invoke(t, "http://"+apiAddr+"/2015-03-31/functions/function/invocations", event, exited, &logs)
	var counts struct {
		Records, Indexed, DLQ, Invalid, Rejected int
		ErrorMessage                             string
	}
	if err := json.Unmarshal(body, &counts); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	if counts.ErrorMessage != "" || counts.Records != 6 || counts.Indexed != 5 || counts.DLQ != 1 || counts.Invalid != 1 {
		t.Fatalf("invocation: got %s, want records 6, indexed 5, dlq 1\nlogs:\n%s", body, logs.String())
	}
	if search.Count() != 5 || search.Template("finfeed-bars") == nil {
		t.Errorf("server: got %d documents, template %v; want 5 and the template applied", search.Count(), search.Template("finfeed-bars") != nil)
	}
	if strings.Contains(logs.String(), "rie-Pa55") {
		t.Errorf("the password appears in the function's logs")
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
