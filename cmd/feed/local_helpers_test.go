package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/twmb/franz-go/pkg/kgo"
)

// waitLimit bounds every wait in these tests: generous, since the machine is shared.
const waitLimit = 60 * time.Second

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func writeFile(t *testing.T, name string, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// expected enriches valid raw lines as the contract says, keyed by symbol and timestamp.
func expected(t *testing.T, closesCSV string, rawLines []string) map[string]string {
	t.Helper()
	store, err := prevclose.LoadCSVFile(closesCSV)
	if err != nil {
		t.Fatal(err)
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	want := map[string]string{}
	state := fold.New() // the indicators, as feed enrich folds them: every valid line in order
	for _, l := range rawLines {
		raw, err := bar.DecodeRaw([]byte(l))
		if err != nil {
			continue
		}
		res := state.Apply(&raw)
		en, err := e.Enrich(context.Background(), &raw)
		if err != nil {
			t.Fatal(err)
		}
		en.Indicators = res.Indicators
		want[barID(raw.Symbol, raw.Time)] = string(bar.AppendEnriched(nil, &en))
	}
	return want
}

func barID(symbol string, t time.Time) string { return symbol + "@" + t.UTC().Format(time.RFC3339) }

// output is a buffer the command writes to while the test reads it.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// goroutines is every goroutine's stack, for a test that gives up waiting.
func goroutines() string {
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		return err.Error()
	}
	return b.String()
}

// runBounded runs the feed command and returns its exit status. A run that has not returned within twice
// waitLimit (its ctx should end it within waitLimit plus a bounded shutdown) fails the test with every
// goroutine's stack instead of hanging the test binary.
func runBounded(t *testing.T, ctx context.Context, args []string, stdout, stderr io.Writer) int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, nil, stdout, stderr) }()
	select {
	case code := <-done:
		return code
	case <-time.After(2 * waitLimit):
		t.Fatalf("feed %s did not return within %v; goroutines:\n%s", strings.Join(args, " "), 2*waitLimit, goroutines())
		return -1
	}
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// localRun is a `feed local` running in the test process.
// serviceClient is a Kafka client logged in as feed local's service principal (the one the pipeline writes
// with); the caller closes it.
func (r *localRun) serviceClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), kafka.Config{Brokers: []string{r.addr}, Auth: kafka.AuthSCRAM,
		Username: r.serviceUser, Password: r.servicePass}, kafka.Deps{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

type localRun struct {
	addr        string
	serviceUser string
	servicePass string
	// operatorUser and operatorPass log in as the broker's superuser (IAM on MSK), which may read the dead letters
	operatorUser string
	operatorPass string
	stdout       *output
	stderr       *output
	stop         func() int
}

var (
	addrRE     = regexp.MustCompile(`embedded Kafka on (\S+:\d+),`)
	serviceRE  = regexp.MustCompile(`KAFKA_USERNAME=(\S+) KAFKA_PASSWORD=(\S+)`)
	operatorRE = regexp.MustCompile(`as the operator principal.*\n.*KAFKA_USERNAME=(\S+) KAFKA_PASSWORD=(\S+)`)
)

// startLocal runs `feed local args...` (or serveLocal with o, when o is not nil) until the test ends or stop is
// called, and waits until it prints how to connect.
func startLocal(t *testing.T, o *localOptions, args ...string) *localRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &localRun{stdout: &output{}, stderr: &output{}}
	done := make(chan int, 1)
	go func() {
		if o != nil {
			if err := serveLocal(ctx, *o, r.stdout, r.stderr); err != nil {
				fmt.Fprintf(r.stderr, "serveLocal: %v\n", err)
				done <- exitFailure
				return
			}
			done <- exitOK
			return
		}
		done <- run(ctx, append([]string{"local"}, args...), nil, r.stdout, r.stderr)
	}()
	var once sync.Once
	code := -1
	r.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(waitLimit):
				t.Errorf("feed local did not stop within %v; goroutines:\n%s", waitLimit, goroutines())
			}
		})
		return code
	}
	t.Cleanup(func() { r.stop() })
	deadline := time.Now().Add(waitLimit)
	for {
		if m := addrRE.FindStringSubmatch(r.stdout.String()); m != nil && strings.Contains(r.stdout.String(), "read the enriched feed") {
			r.addr = m[1]
			break
		}
		select {
		case c := <-done:
			t.Fatalf("feed local exited with %d before serving:\nstdout:\n%s\nstderr:\n%s", c, r.stdout, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed local printed no address within %v:\n%s", waitLimit, r.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := serviceRE.FindStringSubmatch(r.stdout.String()); m != nil {
		r.serviceUser, r.servicePass = m[1], m[2]
	}
	if m := operatorRE.FindStringSubmatch(r.stdout.String()); m != nil {
		r.operatorUser, r.operatorPass = m[1], m[2]
	}
	return r
}

// splitLines is a bufio split of s into non-empty lines.
func splitLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
