package indexfn_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/search"
)

const (
	zincUser = "admin"
	zincPass = "zinc-Test-Pa55"
)

// zincBinary is $ZINC_BIN, the repository's bin/zinc (`make zinc`), or a fresh build of tools/zinc.
func zincBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ZINC_BIN"); p != "" {
		return p
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
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

// startZinc runs the ZincSearch wrapper on a free loopback port with its data in a temp dir, and stops it at
// the end of the test. It returns the base URL.
func startZinc(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(zincBinary(t), "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		"ZINC_DATA_PATH="+t.TempDir(),
		"ZINC_FIRST_ADMIN_USER="+zincUser,
		"ZINC_FIRST_ADMIN_PASSWORD="+zincPass,
		"ZINC_TELEMETRY=false",
		"ZINC_SENTRY=false",
		"ZINC_SHARD_NUM=1", // one WAL per index: documents become searchable in the order they were written
		"GIN_MODE=release",
	)
	var stderr lockedBuffer
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
		return u
	case <-exited:
		t.Fatalf("zinc exited before listening:\n%s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("zinc did not start listening within 60s:\n%s", stderr.String())
	}
	return ""
}

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

// zincJSON sends a request to zinc directly (not through the code under test) and decodes the answer.
func zincJSON(t *testing.T, base, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(zincUser, zincPass)
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
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
}

func zincCount(t *testing.T, base, target string) int {
	t.Helper()
	var c struct{ Count int }
	zincJSON(t, base, http.MethodGet, "/"+target+"/_count", "", &c)
	return c.Count
}

// markers is one new bar per symbol of the fixture, written after everything else.
func markers() events.KafkaEvent {
	var recs []events.KafkaRecord
	for i, sym := range []string{"AAPL", "AMZN", "NVDA", "TSLA"} {
		v := fmt.Sprintf(`{"symbol":%q,"close":100,"open":100,"low":100,"high":100,"volume":1,"timestamp":"2024-07-12 14:00:00","%%change":null,"indicator":"Unknown","prevClose":null,"tradingDate":"2024-07-12"}`, sym)
		recs = append(recs, events.KafkaRecord{Topic: "enhanced", Partition: 0, Offset: int64(9000 + i),
			Key: base64.StdEncoding.EncodeToString([]byte(sym)), Value: base64.StdEncoding.EncodeToString([]byte(v))})
	}
	return events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{"enhanced-0": recs}}
}

// TestZincIndexesEnrichedBarsOnce runs the handler against a real Elasticsearch-compatible server (ZincSearch):
// template, basic auth, bulk, alias; the same batch twice leaves exactly one document per bar.
func TestZincIndexesEnrichedBarsOnce(t *testing.T) {
	base := startZinc(t)
	cfg := search.Config{URL: base, Auth: search.AuthBasic, Username: zincUser, Password: zincPass, Alias: "bars", Service: "es"}
	c, err := search.NewClient(t.Context(), cfg, search.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	for range 2 { // idempotent
		if err := c.Setup(t.Context()); err != nil {
			t.Fatalf("Setup: %v", err)
		}
	}
	kc := broker(t)
	h := indexfn.NewHandler(search.NewIndexer(c), kafkaClient(t, kc), cfg, "enhanced.dlq", quietLog())
	for i := range 2 {
		got, err := h.Handle(t.Context(), fixture(t))
		if err != nil {
			t.Fatalf("Handle #%d: %v", i+1, err)
		}
		if want := (indexfn.Counts{Records: 6, Indexed: 5, DLQ: 1, Invalid: 1}); got != want {
			t.Errorf("Handle #%d: got %+v, want %+v", i+1, got, want)
		}
	}
	if _, err := h.Handle(t.Context(), markers()); err != nil {
		t.Fatalf("Handle markers: %v", err)
	}

	// Zinc indexes asynchronously: wait (bounded) until every marker is searchable. With one shard per index,
	// everything written before a marker is searchable by then, the second batch included.
	deadline := time.Now().Add(60 * time.Second)
	for zincCount(t, base, "bars") < 9 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := zincCount(t, base, "bars"); got != 9 {
		t.Fatalf("documents under alias bars: got %d, want 9 (5 bars once each + 4 markers)", got)
	}
	for index, want := range map[string]int{"amzn": 3, "aapl": 2, "nvda": 2, "tsla": 2} {
		if got := zincCount(t, base, index); got != want {
			t.Errorf("documents in %s: got %d, want %d", index, got, want)
		}
	}

	var res struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Index  string         `json:"_index"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	zincJSON(t, base, http.MethodPost, "/bars/_search", `{"size":100,"query":{"range":{"timestamp":{"gte":"2024-07-11T00:00:00Z","lt":"2024-07-12T00:00:00Z"}}}}`, &res)
	var ids []string
	for _, h := range res.Hits.Hits {
		ids = append(ids, h.Index+"/"+h.ID)
		if h.Source["symbol"] == nil {
			t.Errorf("document %s has no symbol", h.ID)
		}
	}
	slices.Sort(ids)
	want := []string{"aapl/AAPL|2024-07-11 19:49:00", "amzn/AMZN|2024-07-11 19:49:00", "amzn/AMZN|2024-07-11 19:50:00",
		"nvda/NVDA|2024-07-11 19:49:00", "tsla/TSLA|2024-07-11 13:31:00"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("bars of 2024-07-11 by timestamp range: got %v, want %v", ids, want)
	}

	var mapping map[string]struct {
		Mappings struct {
			Properties map[string]struct{ Type string }
		}
	}
	zincJSON(t, base, http.MethodGet, "/amzn/_mapping", "", &mapping)
	props := mapping["amzn"].Mappings.Properties
	for field, typ := range map[string]string{"timestamp": "date", "tradingDate": "date", "symbol": "keyword", "indicator": "keyword", "close": "numeric"} {
		if props[field].Type != typ {
			t.Errorf("mapping of %s: got %q, want %q (zinc collapses numeric types)", field, props[field].Type, typ)
		}
	}
	if len(deadLetters(t, kc)) != 2 {
		t.Errorf("dead letters: want the bad record once per delivery (2)")
	}
}
