package enrichfn

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// Function is the handler with the clients it owns.
type Function struct {
	*Handler
	client *kgo.Client
}

// New builds the clients once (per execution environment) and the handler on them.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Function, error) {
	var ac awsconfig.Config
	needAWS := cfg.PrevCloseTable != "" || cfg.Kafka.SecretARN != "" || cfg.Kafka.Auth == kafka.AuthIAM
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
	client, err := kafka.NewClient(ctx, cfg.Kafka, kafka.Deps{Secrets: ac.Secrets, Credentials: ac.AWS.Credentials})
	if err != nil {
		return nil, err
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: cfg.Threshold}, Store: store}
	return &Function{Handler: NewHandler(e, client, cfg.EnhancedTopic, cfg.DLQTopic, log), client: client}, nil
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
