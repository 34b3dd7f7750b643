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

// Config is the function's configuration, read once at start.
type Config struct {
	Kafka    kafka.Config
	Search   search.Config
	DLQTopic string
}

// Load reads the environment: the kafka package's KAFKA_* variables, the search package's OPENSEARCH_* (with
// OPENSEARCH_INDEX_LAYOUT and OPENSEARCH_RETENTION_MONTHS), INDEX_PREFIX and INDEX_ALIAS (default bars), and DLQ_TOPIC (default enhanced.dlq). Every problem is reported
// together.
func Load(getenv func(string) string) (Config, error) {
	kc, kerr := kafka.Load(getenv)
	sc, serr := search.Load(getenv)
	c := Config{Kafka: kc, Search: sc, DLQTopic: strings.TrimSpace(getenv("DLQ_TOPIC"))}
	if c.DLQTopic == "" {
		c.DLQTopic = topics.EnhancedDLQ
	}
	var derr error
	if c.DLQTopic == topics.Enhanced {
		derr = fmt.Errorf("DLQ_TOPIC: %q is the enhanced topic this function reads", c.DLQTopic)
	}
	return c, errors.Join(kerr, serr, derr)
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("kafka", c.Kafka),
		slog.Any("opensearch", c.Search),
		slog.String("dlqTopic", c.DLQTopic),
	)
}
