// Package ingest is the ingester: Alpaca minute bars (live, and backfilled from REST after any gap) into the raw
// Kafka topic, with backpressure, reconnects, health endpoints and metrics. The Fargate task and `feed ingest`
// run this same code.
package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/topics"
)

// Config is the ingester's configuration, read once at start.
type Config struct {
	Alpaca     alpaca.Config
	Kafka      kafka.Config
	RawTopic   string
	HealthAddr string // host:port of /healthz and /readyz; empty: no health server
	// MetricsService (METRICS_SERVICE) is the value of the Service dimension of every metric (see Metrics): it
	// names the stack, so that two stacks in one account and region write two metric streams and each stack's
	// alarms read its own ingester.
	MetricsService string
	Options
}

// Defaults.
const (
	DefaultRawTopic   = topics.Raw
	DefaultHealthAddr = "127.0.0.1:8081"
	// DefaultMetricsService is the Service dimension off AWS (`feed ingest`): the template's name for the
	// ingester of a stack, finfeed-<Environment>-ingester, with "local" as the environment, so a local run's
	// metrics can never pass for a deployed stack's.
	DefaultMetricsService = "finfeed-local-ingester"
)

// maxDimensionValue is CloudWatch's limit on the length of a dimension value.
const maxDimensionValue = 1024

// Load reads the environment: alpaca.Load's ALPACA_* and SYMBOLS, kafka.Load's KAFKA_*, RAW_TOPIC (default raw),
// HEALTH_ADDR (see LoadHealthAddr), METRICS_SERVICE (default DefaultMetricsService), and the tuning knobs INGEST_MAX_BUFFERED, RECONNECT_MIN, RECONNECT_MAX,
// CONN_LIMIT_HOLD, REFUSED_RETRY, STALE_AFTER, BACKFILL_OVERLAP, BACKFILL_ON_START (0 disables), METRICS_INTERVAL and
// SHUTDOWN_TIMEOUT over DefaultOptions. Every problem is reported together.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	ac, err := alpaca.Load(getenv)
	errs = append(errs, err)
	kc, err := kafka.Load(getenv)
	errs = append(errs, err)
	c := Config{
		Alpaca:         ac,
		Kafka:          kc,
		RawTopic:       orDefault(getenv("RAW_TOPIC"), DefaultRawTopic),
		HealthAddr:     LoadHealthAddr(getenv),
		MetricsService: orDefault(getenv("METRICS_SERVICE"), DefaultMetricsService),
		Options:        DefaultOptions(),
	}
	if n := len(c.MetricsService); n > maxDimensionValue {
		errs = append(errs, fmt.Errorf("METRICS_SERVICE: %d bytes, CloudWatch takes at most %d in a dimension value", n, maxDimensionValue))
	}
	if c.Kafka.ClientID == "" {
		c.Kafka.ClientID = "finfeed-ingester"
	}
	n, err := intEnv(getenv, "INGEST_MAX_BUFFERED", c.MaxBuffered)
	errs = append(errs, err)
	c.MaxBuffered = n
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"RECONNECT_MIN", &c.ReconnectMin},
		{"RECONNECT_MAX", &c.ReconnectMax},
		{"CONN_LIMIT_HOLD", &c.ConnLimitHold},
		{"REFUSED_RETRY", &c.RefusedRetry},
		{"STALE_AFTER", &c.StaleAfter},
		{"BACKFILL_OVERLAP", &c.BackfillOverlap},
		{"BACKFILL_ON_START", &c.BackfillOnStart},
		{"METRICS_INTERVAL", &c.MetricsInterval},
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout},
	} {
		v, err := durationEnv(getenv, d.name, *d.dst)
		errs = append(errs, err)
		*d.dst = v
	}
	errs = append(errs, c.Options.Validate())
	return c, errors.Join(errs...)
}

// LoadHealthAddr reads HEALTH_ADDR: host:port of the health server, DefaultHealthAddr when unset, "" for "off"
// (no health server). The task's probe reads it the same way.
func LoadHealthAddr(getenv func(string) string) string {
	addr := orDefault(getenv("HEALTH_ADDR"), DefaultHealthAddr)
	if strings.EqualFold(addr, "off") {
		return ""
	}
	return addr
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("alpaca", c.Alpaca),
		slog.Any("kafka", c.Kafka),
		slog.String("rawTopic", c.RawTopic),
		slog.String("healthAddr", c.HealthAddr),
		slog.String("metricsService", c.MetricsService),
		slog.Int("maxBuffered", c.MaxBuffered),
		slog.Duration("staleAfter", c.StaleAfter),
	)
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

func intEnv(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("%s: %q is not an integer", name, v)
	}
	return n, nil
}

func durationEnv(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s: %q is not a duration (e.g. 90s)", name, v)
	}
	return d, nil
}
