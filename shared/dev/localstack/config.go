// Package localstack is the pipeline on one machine: the embedded broker, the enrich function (and optionally
// the index function) behind local event-source mappings, configured by the functions' own Load from the
// environment as their Lambdas are. `feed local`, `feed bench` and the end-to-end tests all start it.
package localstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/topics"
)

// Config is one local stack.
type Config struct {
	Broker broker.Config

	// Getenv is the deployment's settings, read by enrichfn.Load and indexfn.Load exactly as the Lambdas read
	// theirs: THRESHOLD_PCT, OPENSEARCH_AUTH, INDEX_PREFIX, INDEX_ALIAS, OPENSEARCH_INDEX_LAYOUT, ... The
	// variables the SAM template binds to stack resources (the Kafka cluster and its principal, the topics, the
	// previous closes, the OpenSearch URL) come from this stack instead. Nil: no settings (every default).
	Getenv func(string) string

	// PrevCloseTable (DynamoDB, AWS_ENDPOINT_URL_DYNAMODB for a local one) or PrevClosesFile (CSV
	// symbol,date,close): the previous closes the enrich function reads, exactly one.
	PrevCloseTable string
	PrevClosesFile string
	// NewStore, when set, makes each execution environment's previous-close store instead of the function's
	// own choice (benchmarks count or slow down requests with it).
	NewStore func() (enrich.PrevCloses, error)

	// StateDir, when set, keeps the enrich function's state checkpoints (its STATE_DIR), so a restart on the same
	// broker data continues the indicators; empty: in memory, shared by the environments.
	StateDir string

	// OpenSearchURL, when set, also runs the index function on enhanced into this OpenSearch.
	OpenSearchURL string

	// Environments is how many execution environments run the enrich function at once, each with its own
	// producer and store, all in Group (default 1).
	Environments int
	// Group is the enrich mapping's consumer group (default topics.EnrichGroup).
	Group string
	// BatchSize and BatchWindow configure the event-source mappings as the template does.
	BatchSize   int
	BatchWindow time.Duration
	// ProducerOpts are extra options for each environment's producer.
	ProducerOpts []kgo.Opt

	// Wrap, when set, wraps each enrich handler (tests inject faults with it).
	Wrap func(esm.Handler) esm.Handler
	// Observe is told what the functions did.
	Observe Observer
}

// Observer receives what the functions did, for a live display; every field is optional and may be called
// from several goroutines at once.
type Observer struct {
	// Enriched gets the counts of each successful enrich batch.
	Enriched func(enrichfn.Counts)
	// Enhanced gets each record the broker acknowledged on enhanced.
	Enhanced func(value []byte)
	// Indexed gets the counts of each successful index batch.
	Indexed func(indexfn.Counts)
}

func (c Config) withDefaults() (Config, error) {
	if c.Getenv == nil {
		c.Getenv = func(string) string { return "" }
	}
	if c.Environments == 0 {
		c.Environments = 1
	}
	if c.Group == "" {
		c.Group = topics.EnrichGroup
	}
	if c.BatchSize == 0 {
		c.BatchSize = esm.DefaultBatchSize
	}
	var errs []error
	if c.Environments < 1 {
		errs = append(errs, fmt.Errorf("environments must be at least 1, got %d", c.Environments))
	}
	if (c.PrevCloseTable == "") == (c.PrevClosesFile == "") {
		errs = append(errs, errors.New("previous closes: set a table or a file, exactly one"))
	}
	return c, errors.Join(errs...)
}

// bindings are the variables the SAM template binds to stack resources, bound here to this stack's: the
// Kafka cluster and its service principal, the topics the broker created, the previous-close table or file,
// the OpenSearch URL. Everything else a function reads comes from Config.Getenv.
func bindings(b *broker.Broker, cfg Config, clientID string) map[string]string {
	kc := b.ServiceKafka()
	return map[string]string{
		"KAFKA_BROKERS":    strings.Join(kc.Brokers, ","),
		"KAFKA_AUTH":       string(kc.Auth),
		"KAFKA_TLS":        "false",
		"KAFKA_USERNAME":   kc.Username,
		"KAFKA_PASSWORD":   kc.Password,
		"KAFKA_SECRET_ARN": "",
		"KAFKA_CLIENT_ID":  clientID,
		"PREV_CLOSE_TABLE": cfg.PrevCloseTable,
		"PREV_CLOSES_FILE": cfg.PrevClosesFile,
		"OPENSEARCH_URL":   cfg.OpenSearchURL,
	}
}

// enrichConfig loads the enrich function's configuration with enrichfn.Load, the Lambda's own loader.
func enrichConfig(b *broker.Broker, cfg Config) (enrichfn.Config, error) {
	bind := bindings(b, cfg, topics.EnrichGroup)
	bind["ENHANCED_TOPIC"] = topics.Enhanced
	bind["CANDLES_TOPIC"] = topics.Candles
	bind["DLQ_TOPIC"] = topics.RawDLQ
	bind["STATE_BUCKET"] = ""
	bind["STATE_DIR"] = cfg.StateDir
	c, err := enrichfn.Load(layer(bind, cfg.Getenv))
	if err != nil {
		return c, fmt.Errorf("enrich function configuration: %w", err)
	}
	return c, nil
}

// indexConfig loads the index function's configuration with indexfn.Load, the Lambda's own loader. Locally
// OPENSEARCH_AUTH defaults to none (a local server) rather than sigv4.
func indexConfig(b *broker.Broker, cfg Config) (indexfn.Config, error) {
	bind := bindings(b, cfg, topics.IndexGroup)
	bind["DLQ_TOPIC"] = topics.EnhancedDLQ
	bind["CANDLES_TOPIC"] = topics.Candles
	getenv := layer(bind, cfg.Getenv)
	c, err := indexfn.Load(func(k string) string {
		if v := getenv(k); v != "" || k != "OPENSEARCH_AUTH" {
			return v
		}
		return "none"
	})
	if err != nil {
		return c, fmt.Errorf("index function configuration: %w", err)
	}
	return c, nil
}

// layer reads bound variables from bind and every other from getenv.
func layer(bind map[string]string, getenv func(string) string) func(string) string {
	return func(k string) string {
		if v, ok := bind[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// WriteClosesFile writes closes as a previous-close CSV file in dir, for Config.PrevClosesFile when the closes
// are made in memory (the synthetic session's, a benchmark market's).
func WriteClosesFile(dir string, closes []prevclose.Close) (string, error) {
	path := filepath.Join(dir, "prev-closes.csv")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("write previous closes: %w", err)
	}
	if err := prevclose.WriteCSV(f, closes); err != nil {
		f.Close()
		return "", fmt.Errorf("write previous closes to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write previous closes to %s: %w", path, err)
	}
	return path, nil
}
