// Package zinctest runs the repository's ZincSearch wrapper (tools/zinc), a real Elasticsearch-compatible
// server with finfeed's additions (_count, _cluster/health, ISM policies), on a free loopback port for a test.
package zinctest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/repo"
	"github.com/finfeed/finfeed/shared/dev/syncbuf"
)

// The admin user every server is started with.
const (
	User     = "admin"
	Password = "zinc-Test-Pa55"
)

// Server is a running zinc.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string

	user, password string
}

// Connect is a zinc started elsewhere (`make local-opensearch`) at url, with that admin login.
func Connect(url, user, password string) *Server {
	return &Server{URL: url, user: user, password: password}
}

// Binary is $ZINC_BIN, the repository's bin/zinc (`make zinc`, part of `make deps`), or a fresh build of
// tools/zinc into a temp dir.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ZINC_BIN"); p != "" {
		return p
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	if p := filepath.Join(root, "bin", "zinc"); fileExists(p) {
		return p
	}
	t.Logf("bin/zinc not built (make zinc): building tools/zinc, about 2 minutes on a cold cache")
	out := filepath.Join(t.TempDir(), "zinc")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join(root, "tools", "zinc")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tools/zinc: %v\n%s", err, b)
	}
	return out
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Start runs zinc on a free loopback port with its data in a temp dir and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	cmd := exec.Command(Binary(t), "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		"ZINC_DATA_PATH="+t.TempDir(),
		"ZINC_FIRST_ADMIN_USER="+User,
		"ZINC_FIRST_ADMIN_PASSWORD="+Password,
		"ZINC_TELEMETRY=false",
		"ZINC_SENTRY=false",
		"ZINC_SHARD_NUM=1", // one WAL per index: documents become searchable in the order they were written
		"GIN_MODE=release",
	)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start zinc: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		if err := cmd.Wait(); err != nil && t.Context().Err() == nil {
			t.Logf("zinc exited: %v", err)
		}
		close(exited)
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Logf("stop zinc: %v", err)
		}
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			if err := cmd.Process.Kill(); err != nil {
				t.Logf("kill zinc: %v", err)
			}
			<-exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "zinc listening on "); ok {
				addr <- u
			}
		}
	}()
	select {
	case u := <-addr:
		return &Server{URL: u, user: User, password: Password}
	case <-exited:
		t.Fatalf("zinc exited before listening:\n%s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("zinc did not start listening within 60s:\n%s", stderr.String())
	}
	return nil
}

// Do sends a request to zinc directly (not through the code under test) as the admin user and returns the
// status and body.
func (s *Server) Do(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.user, s.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// JSON sends a request that must answer 200 and decodes the answer into out.
func (s *Server) JSON(t testing.TB, method, path, body string, out any) {
	t.Helper()
	status, data := s.Do(t, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, path, status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
}

// Count is the number of documents in target (an index, an alias or a pattern).
func (s *Server) Count(t testing.TB, target string) int {
	t.Helper()
	var c struct{ Count int }
	s.JSON(t, http.MethodGet, "/"+target+"/_count", "", &c)
	return c.Count
}

// WaitCount waits, bounded, until target holds at least n documents (zinc indexes asynchronously) and returns
// the count it saw last.
func (s *Server) WaitCount(t testing.TB, target string, n int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	got := s.Count(t, target)
	for got < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = s.Count(t, target)
	}
	return got
}
