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
)

// Config is the ingester's configuration, read once at start.
type Config struct {
	Alpaca     alpaca.Config
	Kafka      kafka.Config
	RawTopic   string
	HealthAddr string // host:port of /healthz and /readyz; empty: no health server

	MaxBuffered     int           // records produced but not yet acknowledged; Send blocks beyond it
	ReconnectMin    time.Duration // first reconnect delay (doubles per failure, with jitter)
	ReconnectMax    time.Duration // cap of the reconnect delay
	ConnLimitHold   time.Duration // wait after a 406 (Alpaca holds the connection slot ~90 s)
	StaleAfter      time.Duration // connected but no bar this long in market hours: reconnect
	BackfillOverlap time.Duration // backfill starts this far before the disconnect
	BackfillOnStart time.Duration // at start, backfill this far back (covers a task replacement's gap)
	MetricsInterval time.Duration // how often counters are logged (EMF)
	ShutdownTimeout time.Duration // how long SIGTERM may take to flush
}

// Defaults.
const (
	DefaultRawTopic   = "raw"
	DefaultHealthAddr = "127.0.0.1:8081"
)

// Load reads the environment: alpaca.Load's ALPACA_* and SYMBOLS, kafka.Load's KAFKA_*, RAW_TOPIC (default raw),
// HEALTH_ADDR (default 127.0.0.1:8081; "off" disables), and the tuning knobs INGEST_MAX_BUFFERED (10000),
// RECONNECT_MIN (1s), RECONNECT_MAX (60s), CONN_LIMIT_HOLD (90s), STALE_AFTER (3m), BACKFILL_OVERLAP (2m),
// BACKFILL_ON_START (5m; 0 disables), METRICS_INTERVAL (60s), SHUTDOWN_TIMEOUT (20s). Every problem is reported together.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	ac, err := alpaca.Load(getenv)
	errs = append(errs, err)
	kc, err := kafka.Load(getenv)
	errs = append(errs, err)
	c := Config{
		Alpaca:     ac,
		Kafka:      kc,
		RawTopic:   orDefault(getenv("RAW_TOPIC"), DefaultRawTopic),
		HealthAddr: orDefault(getenv("HEALTH_ADDR"), DefaultHealthAddr),
	}
	if strings.EqualFold(c.HealthAddr, "off") {
		c.HealthAddr = ""
	}
	if c.Kafka.ClientID == "" {
		c.Kafka.ClientID = "finfeed-ingester"
	}
	n, err := intEnv(getenv, "INGEST_MAX_BUFFERED", 10000)
	errs = append(errs, err)
	c.MaxBuffered = n
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"RECONNECT_MIN", &c.ReconnectMin, time.Second},
		{"RECONNECT_MAX", &c.ReconnectMax, time.Minute},
		{"CONN_LIMIT_HOLD", &c.ConnLimitHold, 90 * time.Second},
		{"STALE_AFTER", &c.StaleAfter, 3 * time.Minute},
		{"BACKFILL_OVERLAP", &c.BackfillOverlap, 2 * time.Minute},
		{"BACKFILL_ON_START", &c.BackfillOnStart, 5 * time.Minute},
		{"METRICS_INTERVAL", &c.MetricsInterval, time.Minute},
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 20 * time.Second},
	} {
		v, err := durationEnv(getenv, d.name, d.def)
		errs = append(errs, err)
		*d.dst = v
	}
	errs = append(errs, c.validate())
	return c, errors.Join(errs...)
}

func (c Config) validate() error {
	var errs []error
	if c.MaxBuffered <= 0 {
		errs = append(errs, fmt.Errorf("INGEST_MAX_BUFFERED: must be positive, got %d", c.MaxBuffered))
	}
	if c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, fmt.Errorf("RECONNECT_MIN and RECONNECT_MAX: want 0 < min <= max, got %s and %s", c.ReconnectMin, c.ReconnectMax))
	}
	for name, d := range map[string]time.Duration{"STALE_AFTER": c.StaleAfter, "METRICS_INTERVAL": c.MetricsInterval,
		"SHUTDOWN_TIMEOUT": c.ShutdownTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", name, d))
		}
	}
	if c.ConnLimitHold < 0 || c.BackfillOverlap < 0 || c.BackfillOnStart < 0 {
		errs = append(errs, errors.New("CONN_LIMIT_HOLD, BACKFILL_OVERLAP and BACKFILL_ON_START: must not be negative"))
	}
	return errors.Join(errs...)
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("alpaca", c.Alpaca),
		slog.Any("kafka", c.Kafka),
		slog.String("rawTopic", c.RawTopic),
		slog.String("healthAddr", c.HealthAddr),
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
