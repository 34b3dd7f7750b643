package localstack

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/search"
	"github.com/finfeed/finfeed/shared/topics"
)

// env is a deployment's settings for a test.
func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func closesFile(t *testing.T) string {
	t.Helper()
	d, err := bar.ParseDate("2024-10-29")
	if err != nil {
		t.Fatal(err)
	}
	p, err := WriteClosesFile(t.TempDir(), []prevclose.Close{{Symbol: "JPM", Date: d, Close: 100}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFunctionsLoadTheirSettingsAsOnAWS: the functions' settings come from the environment through their own
// loaders; the variables the template binds to resources (Kafka, topics, OpenSearch URL) are the stack's
// whatever the environment says.
func TestFunctionsLoadTheirSettingsAsOnAWS(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	s, err := Start(t.Context(), Config{
		Getenv: env(map[string]string{
			"THRESHOLD_PCT": "7.5", "INDEX_PREFIX": "local-", "OPENSEARCH_INDEX_LAYOUT": "per-symbol",
			"KAFKA_BROKERS": "elsewhere:9092", "KAFKA_AUTH": "iam", "DLQ_TOPIC": "mine", "ENHANCED_TOPIC": "other",
			"OPENSEARCH_URL": "https://elsewhere",
		}),
		PrevClosesFile: closesFile(t),
		OpenSearchURL:  srv.URL,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ec, ic := s.Enrich(), s.Index()
	addr := s.Broker().Addr()
	if ec.Threshold != 7.5 || ec.EnhancedTopic != topics.Enhanced || ec.DLQTopic != topics.RawDLQ ||
		strings.Join(ec.Kafka.Brokers, ",") != addr || ec.Kafka.Auth != s.Broker().ServiceKafka().Auth || ec.Kafka.TLS {
		t.Errorf("enrich configuration: got %+v", ec)
	}
	if ic == nil {
		t.Fatal("no index function configuration")
	}
	if ic.Search.URL != srv.URL || ic.Search.Auth != search.AuthNone || ic.Search.Prefix != "local-" ||
		ic.Search.Layout != search.LayoutPerSymbol || ic.DLQTopic != topics.EnhancedDLQ ||
		strings.Join(ic.Kafka.Brokers, ",") != addr || ic.Kafka.TLS {
		t.Errorf("index configuration: got %+v", ic)
	}
}

// TestStartRefusesWhatTheLambdaRefuses: a setting the Lambda's loader rejects stops the stack, and the
// previous closes must come from exactly one place.
func TestStartRefusesWhatTheLambdaRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad threshold", Config{Getenv: env(map[string]string{"THRESHOLD_PCT": "-1"}), PrevClosesFile: "x.csv"}, "THRESHOLD_PCT"},
		{"bad layout", Config{Getenv: env(map[string]string{"OPENSEARCH_INDEX_LAYOUT": "daily"}), PrevClosesFile: "x.csv", OpenSearchURL: "http://127.0.0.1:1"}, "OPENSEARCH_INDEX_LAYOUT"},
		{"no closes", Config{}, "previous closes"},
		{"two sources of closes", Config{PrevClosesFile: "x.csv", PrevCloseTable: "t"}, "previous closes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(t.Context(), tt.cfg, nil)
			if err == nil {
				s.Close()
				t.Fatal("started, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
}

// TestStackEnrichesAndIndexes: a bar written to raw comes out on enhanced, enriched at the configured
// threshold, and is indexed; the observer sees both.
func TestStackEnrichesAndIndexes(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	var (
		mu       sync.Mutex
		enhanced [][]byte
		indexed  int
	)
	s, err := Start(t.Context(), Config{
		Getenv:         env(map[string]string{"THRESHOLD_PCT": "10"}),
		PrevClosesFile: closesFile(t),
		OpenSearchURL:  srv.URL,
		BatchWindow:    10 * time.Millisecond,
		Observe: Observer{
			Enhanced: func(v []byte) { mu.Lock(); enhanced = append(enhanced, v); mu.Unlock() },
			Indexed:  func(c indexfn.Counts) { mu.Lock(); indexed += c.Indexed; mu.Unlock() },
			Enriched: func(enrichfn.Counts) {},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done; s.Close() })
	w, err := s.Client(t.Context(), kgo.DefaultProduceTopic(topics.Raw))
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"open":107,"high":107,"low":107,"close":107,"volume":10,"timestamp":"2024-10-30 14:00:00","symbol":"JPM"}`
	if err := w.ProduceSync(t.Context(), &kgo.Record{Key: []byte("JPM"), Value: []byte(raw)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n, ix := len(enhanced), indexed
		mu.Unlock()
		if n == 1 && ix == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %d enhanced records seen, %d indexed; want 1 and 1", n, ix)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e, err := bar.DecodeEnriched(enhanced[0])
	if err != nil {
		t.Fatal(err)
	}
	if e.Indicator != bar.Neutral || !e.HasPrev || e.PrevClose != 100 {
		t.Errorf("enriched at THRESHOLD_PCT=10: got %s, want a Neutral 7%% move over 100", enhanced[0])
	}
}
