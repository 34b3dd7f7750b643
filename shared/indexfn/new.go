package indexfn

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/search"
)

// Function is the handler with the clients it owns.
type Function struct {
	*Handler
	kafka  *kgo.Client
	search *search.Client
}

// New builds the clients once (per execution environment), applies the index template and the retention policy
// (both idempotent) unless cfg.Setup is SetupNone, and builds the handler on them. kafkaOpts are extra options
// of the dead-letter producer (the local stack passes its broker's dialer).
func New(ctx context.Context, cfg Config, log *slog.Logger, kafkaOpts ...kgo.Opt) (*Function, error) {
	var ac awsconfig.Config
	needAWS := cfg.Search.Auth == search.AuthSigV4 || cfg.Search.SecretARN != "" ||
		cfg.Kafka.SecretARN != "" || cfg.Kafka.Auth == kafka.AuthIAM
	if needAWS {
		var err error
		if ac, err = awsconfig.Load(ctx); err != nil {
			return nil, err
		}
	}
	sc, err := search.NewClient(ctx, cfg.Search, search.Deps{AWS: ac.AWS, Secrets: ac.Secrets})
	if err != nil {
		return nil, err
	}
	if cfg.Setup != SetupNone {
		applied, err := sc.Setup(ctx)
		if err != nil {
			return nil, errors.Join(err, sc.Close())
		}
		if log != nil {
			log.InfoContext(ctx, "opensearch set up", "template", applied.Template, "indexes", applied.Patterns,
				"retentionPolicy", applied.Policy, "policyChange", string(applied.PolicyChange), "extendedIndexes", applied.Extended,
				"candlesTemplate", applied.Candles.Template, "candlesIndexes", applied.Candles.Patterns,
				"candlesPolicyChange", string(applied.Candles.PolicyChange), "candlesExtendedIndexes", applied.Candles.Extended)
		}
	}
	kc, err := kafka.NewClient(ctx, cfg.Kafka, kafka.Deps{Secrets: ac.Secrets, Credentials: ac.AWS.Credentials}, kafkaOpts...)
	if err != nil {
		return nil, errors.Join(err, sc.Close())
	}
	h := NewHandler(search.NewIndexer(sc), kc, cfg.Search, cfg.DLQTopic, log, WithCandlesTopic(cfg.CandlesTopic))
	return &Function{Handler: h, kafka: kc, search: sc}, nil
}

// Close flushes dead letters still buffered and closes the clients (on SIGTERM).
func (f *Function) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCloseTimeout)
	defer cancel()
	if err := f.kafka.Flush(ctx); err != nil {
		f.log.Error("flush on shutdown", "err", err)
	}
	f.kafka.Close()
	if err := f.search.Close(); err != nil {
		f.log.Error("close opensearch client", "err", err)
	}
}

const defaultCloseTimeout = 2 * time.Second
