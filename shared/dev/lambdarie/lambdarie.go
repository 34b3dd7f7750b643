// Package lambdarie runs a function's bootstrap under the AWS Lambda Runtime Interface Emulator (what `sam local
// invoke` runs inside its container), for tests and cold-start measurements.
package lambdarie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/repo"
	"github.com/finfeed/finfeed/shared/dev/syncbuf"
)

// Version is the emulator release the Makefile installs into bin/.
const Version = "v0.0.0-20261030222936-bef5c4ba774d"

// Binary is $AWS_LAMBDA_RIE, or bin/aws-lambda-rie under the repository root (`make deps` installs it), or a
// fresh `go install` into a temporary directory.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install the Runtime Interface Emulator: %v\n%s", err, out)
	}
	return filepath.Join(gobin, "aws-lambda-rie")
}

// Build compiles pkg (a package path such as ./functions/enrich, relative to the repository root) as Lambda
// runs it (linux, CGO off, lambda.norpc) for this machine's architecture, and returns the bootstrap's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Emulator is a running emulator with one bootstrap.
type Emulator struct {
	url     string
	out     *syncbuf.Buffer
	invoked atomic.Bool // an invocation has answered, so an init phase has ended
}

// Start runs bootstrap under the emulator on free loopback ports with exactly env (plus PATH and HOME), waits
// until it listens, and stops it when the test ends (printing its output if the test failed).
func Start(t testing.TB, bootstrap string, env map[string]string) *Emulator {
	t.Helper()
	invokeAddr, apiAddr := FreeAddr(t), FreeAddr(t)
	cmd := exec.Command(Binary(t), "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = EnvList(env)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait() // read after exited is closed
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
			t.Errorf("the emulator exited on its own (%v)", waitErr)
			return
		default:
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Logf("stop emulator: %v", err)
		}
		<-exited
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", out.Bytes())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", invokeAddr, time.Second)
		if err == nil {
			if err := c.Close(); err != nil {
				t.Logf("close probe: %v", err)
			}
			break
		}
		select {
		case <-exited:
			t.Fatalf("the emulator exited before listening:\n%s", out.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not listen on %s within 30s:\n%s", invokeAddr, out.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &Emulator{url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", out: out}
}

// Invoke sends one event (the emulator takes one at a time) and returns the function's response. A function
// error fails the test: the emulator reports it as HTTP 200 with errorMessage.
func (e *Emulator) Invoke(t testing.TB, event []byte) []byte {
	t.Helper()
	body, err := e.InvokeRaw(event)
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := FunctionError(body); ok {
		t.Fatalf("function error: %s", msg)
	}
	return body
}

// InvokeRaw sends one event and returns the response body whatever it says.
func (e *Emulator) InvokeRaw(event []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("read invoke response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke: status %d: %s", resp.StatusCode, body.Bytes())
	}
	e.invoked.Store(true)
	return body.Bytes(), nil
}

// FunctionError returns the errorType and errorMessage of a function error response.
func FunctionError(body []byte) (string, bool) {
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(body, &fnErr) == nil && fnErr.ErrorMessage != "" {
		return fnErr.ErrorType + ": " + fnErr.ErrorMessage, true
	}
	return "", false
}

// Output is what the emulator and the function printed so far.
func (e *Emulator) Output() []byte { return e.out.Bytes() }

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// ErrNoInitReport means the emulator has not reported an init phase (no invocation yet).
var ErrNoInitReport = errors.New("no INIT REPORT in the emulator's output")

// InitDuration is the init phase's duration as the emulator reports it (from process start to the runtime's
// first request for work): the cold start Lambda bills as Init Duration.
//
// After an invocation has answered, the report is already written by the emulator but may still be on its way
// through the output pipe: it is waited for (up to 10 s) rather than missed.
func (e *Emulator) InitDuration() (time.Duration, error) {
	m := initReport.FindSubmatch(e.out.Bytes())
	for deadline := time.Now().Add(10 * time.Second); m == nil && e.invoked.Load() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m = initReport.FindSubmatch(e.out.Bytes())
	}
	if m == nil {
		return 0, ErrNoInitReport
	}
	ms, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, fmt.Errorf("init report %q: %w", m[1], err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// EnvList is env as KEY=VALUE lines in a stable order, with PATH and HOME so tools still run, plus extra.
func EnvList(env map[string]string, extra ...string) []string {
	list := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return append(list, extra...)
}

// FreeAddr reserves a loopback port and releases it for a child process to bind.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("release port: %v", err)
	}
	return addr
}
