package enrichfn

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
)

// Function is the handler with the clients it owns.
type Function struct {
	*Handler
	client *kgo.Client
}

// New builds the clients once (per execution environment) and the handler on them.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Function, error) {
	var ac awsconfig.Config
	needAWS := cfg.PrevCloseTable != "" || cfg.StateBucket != "" || cfg.Kafka.SecretARN != "" || cfg.Kafka.Auth == kafka.AuthIAM
	if needAWS {
		var err error
		if ac, err = awsconfig.Load(ctx); err != nil {
			return nil, err
		}
	}
	var store enrich.PrevCloses
	if cfg.PrevCloseTable != "" {
		store = prevclose.NewCache(prevclose.NewDynamoDB(dynamodb.NewFromConfig(ac.AWS), cfg.PrevCloseTable), prevclose.CacheOptions{})
	} else {
		m, err := prevclose.LoadCSVFile(cfg.PrevClosesFile)
		if err != nil {
			return nil, err
		}
		store = m
	}
	deps := kafka.Deps{Secrets: ac.Secrets, Credentials: ac.AWS.Credentials}
	var checkpoints state.Store
	switch {
	case cfg.StateBucket != "":
		checkpoints = state.NewS3(s3.NewFromConfig(ac.AWS), cfg.StateBucket)
	case cfg.StateDir != "":
		f, err := state.NewFile(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		checkpoints = f
	default:
		checkpoints = state.NewMemory()
	}
	st, err := NewStateWithCandles(checkpoints, state.NewKafka(cfg.Kafka, deps), cfg.CheckpointEvery, cfg.Candles, log)
	if err != nil {
		return nil, err
	}
	client, err := kafka.NewClient(ctx, cfg.Kafka, deps)
	if err != nil {
		return nil, err
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: cfg.Threshold}, Store: store}
	h := NewHandler(e, st, client, cfg.EnhancedTopic, cfg.DLQTopic, log)
	h.SetCandlesTopic(cfg.CandlesTopic)
	return &Function{Handler: h, client: client}, nil
}

// NewState is the enrich function's state engine: partition folds (package fold) checkpointed to store and
// replayed from source.
func NewState(store state.Store, source state.Source, every time.Duration, log *slog.Logger) (*State, error) {
	return state.New(fold.Codec, store, source, state.Options{CheckpointEvery: every, Log: log})
}

// NewStateWithCandles is NewState with the folds building cfg's candles (CANDLES_GRACE, CANDLES_HORIZON,
// CANDLES_PARTIAL).
func NewStateWithCandles(store state.Store, source state.Source, every time.Duration, cfg candles.Config, log *slog.Logger) (*State, error) {
	return state.New(fold.CodecWithCandles(cfg), store, source, state.Options{CheckpointEvery: every, Log: log})
}

// Close flushes anything still buffered and closes the Kafka client (on SIGTERM).
func (f *Function) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCloseTimeout)
	defer cancel()
	if err := f.client.Flush(ctx); err != nil {
		f.log.Error("flush on shutdown", "err", err)
	}
	f.client.Close()
}

const defaultCloseTimeout = 2 * time.Second
