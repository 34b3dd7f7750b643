// Package enrichfn is the enrich function: it turns MSK batches of raw bars into enriched bars on the enhanced
// topic and bad records into the dead-letter topic. The Lambda and the local stack run this same code.
package enrichfn

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/state"
	"github.com/finfeed/finfeed/shared/topics"
)

// Config is the function's configuration, read once at start.
type Config struct {
	Kafka         kafka.Config
	EnhancedTopic string
	DLQTopic      string
	// PrevCloseTable (DynamoDB) or PrevClosesFile (CSV symbol,date,close): exactly one.
	PrevCloseTable string
	PrevClosesFile string
	Threshold      float64
	// StateBucket (S3, the Lambda) or StateDir (a directory, local runs) keeps the checkpoints of the indicator
	// state; with neither they stay in this process's memory (a new process replays raw from its start).
	StateBucket string
	StateDir    string
	// CheckpointEvery is the bar time between two checkpoints of a partition (0: after every batch).
	CheckpointEvery time.Duration
	// CandlesTopic receives the 5m/15m/1h candles the partitions' folds publish, built as Candles says.
	CandlesTopic string
	Candles      candles.Config
}

// Load reads the environment: the kafka package's KAFKA_* variables, ENHANCED_TOPIC (default enhanced),
// DLQ_TOPIC (default raw.dlq), PREV_CLOSE_TABLE or PREV_CLOSES_FILE, THRESHOLD_PCT (default 5), STATE_BUCKET or
// STATE_DIR (at most one), STATE_CHECKPOINT_EVERY (a Go duration, default 5m), CANDLES_TOPIC (default candles),
// CANDLES_GRACE (default 1m), CANDLES_HORIZON (default 15m) and CANDLES_PARTIAL (default false). Every problem
// is reported together.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	kc, err := kafka.Load(getenv)
	errs = append(errs, err)
	c := Config{
		Kafka:           kc,
		EnhancedTopic:   orDefault(getenv("ENHANCED_TOPIC"), topics.Enhanced),
		DLQTopic:        orDefault(getenv("DLQ_TOPIC"), topics.RawDLQ),
		PrevCloseTable:  strings.TrimSpace(getenv("PREV_CLOSE_TABLE")),
		PrevClosesFile:  strings.TrimSpace(getenv("PREV_CLOSES_FILE")),
		Threshold:       enrich.DefaultThreshold,
		StateBucket:     strings.TrimSpace(getenv("STATE_BUCKET")),
		StateDir:        strings.TrimSpace(getenv("STATE_DIR")),
		CheckpointEvery: state.DefaultCheckpointEvery,
		CandlesTopic:    orDefault(getenv("CANDLES_TOPIC"), topics.Candles),
		Candles:         candles.DefaultConfig(),
	}
	for name, dst := range map[string]*time.Duration{"CANDLES_GRACE": &c.Candles.Grace, "CANDLES_HORIZON": &c.Candles.Horizon} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || (name == "CANDLES_HORIZON" && d == 0) {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 1m (positive for the horizon)", name, v))
			} else {
				*dst = d
			}
		}
	}
	if v := strings.TrimSpace(getenv("CANDLES_PARTIAL")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CANDLES_PARTIAL: %q is not true or false", v))
		}
		c.Candles.Partial = b
	}
	if v := strings.TrimSpace(getenv("STATE_CHECKPOINT_EVERY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("STATE_CHECKPOINT_EVERY: %q is not a duration such as 5m", v))
		} else {
			c.CheckpointEvery = d
		}
	}
	if v := strings.TrimSpace(getenv("THRESHOLD_PCT")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("THRESHOLD_PCT: %q is not a number", v))
		} else {
			c.Threshold = f
		}
	}
	errs = append(errs, c.validate())
	return c, errors.Join(errs...)
}

func (c Config) validate() error {
	var errs []error
	if c.EnhancedTopic == c.DLQTopic {
		errs = append(errs, fmt.Errorf("ENHANCED_TOPIC and DLQ_TOPIC are both %q", c.DLQTopic))
	}
	if c.CandlesTopic == c.EnhancedTopic || c.CandlesTopic == c.DLQTopic {
		errs = append(errs, fmt.Errorf("CANDLES_TOPIC: %q is also the enhanced or dead-letter topic", c.CandlesTopic))
	}
	if err := c.Candles.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("CANDLES_GRACE, CANDLES_HORIZON: %w", err))
	}
	switch {
	case c.PrevCloseTable == "" && c.PrevClosesFile == "":
		errs = append(errs, errors.New("PREV_CLOSE_TABLE (DynamoDB) or PREV_CLOSES_FILE (CSV): one is required"))
	case c.PrevCloseTable != "" && c.PrevClosesFile != "":
		errs = append(errs, errors.New("PREV_CLOSE_TABLE and PREV_CLOSES_FILE: set one, not both"))
	}
	if c.StateBucket != "" && c.StateDir != "" {
		errs = append(errs, errors.New("STATE_BUCKET and STATE_DIR: set one, not both"))
	}
	if c.CheckpointEvery < 0 {
		errs = append(errs, fmt.Errorf("STATE_CHECKPOINT_EVERY: must not be negative, got %v", c.CheckpointEvery))
	}
	if math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) || c.Threshold <= 0 {
		errs = append(errs, fmt.Errorf("THRESHOLD_PCT: must be a positive percentage, got %v", c.Threshold))
	}
	return errors.Join(errs...)
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("kafka", c.Kafka),
		slog.String("enhancedTopic", c.EnhancedTopic),
		slog.String("dlqTopic", c.DLQTopic),
		slog.String("prevCloseTable", c.PrevCloseTable),
		slog.String("prevClosesFile", c.PrevClosesFile),
		slog.Float64("thresholdPct", c.Threshold),
		slog.String("stateBucket", c.StateBucket),
		slog.String("stateDir", c.StateDir),
		slog.Duration("checkpointEvery", c.CheckpointEvery),
		slog.String("candlesTopic", c.CandlesTopic),
		slog.Duration("candlesGrace", c.Candles.Grace),
		slog.Duration("candlesHorizon", c.Candles.Horizon),
		slog.Bool("candlesPartial", c.Candles.Partial),
	)
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
