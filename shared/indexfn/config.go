// Package indexfn is the index function: it bulk-indexes MSK batches of enriched bars into OpenSearch and sends
// records that can never be indexed to the dead-letter topic. The Lambda and the local stack run this same code.
package indexfn

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/search"
	"github.com/finfeed/finfeed/shared/topics"
)

// Setup is who applies the index template and the retention policy.
type Setup string

// The setup modes.
const (
	// SetupColdStart: the function applies them at every cold start (idempotent), so it needs the rights to
	// manage templates and ISM policies: local runs, a domain without fine-grained access control.
	SetupColdStart Setup = "cold-start"
	// SetupNone: an admin applied them (the stack's SearchSetup custom resource, or `feed opensearch setup`), and
	// the function only writes: with fine-grained access control it holds search.WriterRole and nothing more.
	SetupNone Setup = "none"
)

// Config is the function's configuration, read once at start.
type Config struct {
	Kafka    kafka.Config
	Search   search.Config
	DLQTopic string
	// CandlesTopic is the topic whose records are candles (its event source's batches name it).
	CandlesTopic string
	Setup        Setup
}

// Load reads the environment: the kafka package's KAFKA_* variables, the search package's OPENSEARCH_* (with
// OPENSEARCH_INDEX_LAYOUT and OPENSEARCH_RETENTION_MONTHS), INDEX_PREFIX and INDEX_ALIAS (default bars), DLQ_TOPIC
// (default enhanced.dlq: bad candle records go there too, their source header naming the candles topic),
// CANDLES_TOPIC (default candles) and OPENSEARCH_SETUP (cold-start, the default, or none). Every problem is reported
// together.
func Load(getenv func(string) string) (Config, error) {
	kc, kerr := kafka.Load(getenv)
	sc, serr := search.Load(getenv)
	c := Config{Kafka: kc, Search: sc, DLQTopic: strings.TrimSpace(getenv("DLQ_TOPIC")),
		CandlesTopic: strings.TrimSpace(getenv("CANDLES_TOPIC")),
		Setup:        Setup(strings.ToLower(strings.TrimSpace(getenv("OPENSEARCH_SETUP"))))}
	if c.CandlesTopic == "" {
		c.CandlesTopic = topics.Candles
	}
	if c.Setup == "" {
		c.Setup = SetupColdStart
	}
	var setupErr error
	if c.Setup != SetupColdStart && c.Setup != SetupNone {
		setupErr = fmt.Errorf("OPENSEARCH_SETUP: %q is not cold-start or none", c.Setup)
	}
	if c.DLQTopic == "" {
		c.DLQTopic = topics.EnhancedDLQ
	}
	var derr error
	switch c.DLQTopic {
	case topics.Enhanced:
		derr = fmt.Errorf("DLQ_TOPIC: %q is the enhanced topic this function reads", c.DLQTopic)
	case c.CandlesTopic:
		derr = fmt.Errorf("DLQ_TOPIC: %q is the candles topic this function reads", c.DLQTopic)
	}
	if c.CandlesTopic == topics.Enhanced {
		derr = errors.Join(derr, fmt.Errorf("CANDLES_TOPIC: %q is the enhanced topic: candles need their own", c.CandlesTopic))
	}
	return c, errors.Join(kerr, serr, derr, setupErr)
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("kafka", c.Kafka),
		slog.Any("opensearch", c.Search),
		slog.String("dlqTopic", c.DLQTopic),
		slog.String("candlesTopic", c.CandlesTopic),
		slog.String("setup", string(c.Setup)),
	)
}
