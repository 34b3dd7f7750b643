package enrichfn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/secrets"
)

// Function is the handler with the clients it owns.
type Function struct {
	*Handler
	client *kgo.Client
}

// New builds the clients once (per execution environment) and the handler on them.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Function, error) {
	var awsCfg aws.Config
	needAWS := cfg.PrevCloseTable != "" || cfg.Kafka.SecretARN != "" || cfg.Kafka.Auth == kafka.AuthIAM
	if needAWS {
		var err error
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("load aws config: %w", err)
		}
	}
	var store enrich.PrevCloses
	if cfg.PrevCloseTable != "" {
		store = prevclose.NewCache(prevclose.NewDynamoDB(dynamodb.NewFromConfig(awsCfg), cfg.PrevCloseTable), prevclose.CacheOptions{})
	} else {
		m, err := prevclose.LoadCSVFile(cfg.PrevClosesFile)
		if err != nil {
			return nil, err
		}
		store = m
	}
	deps := kafka.Deps{Credentials: awsCfg.Credentials}
	if cfg.Kafka.SecretARN != "" {
		deps.Secrets = secrets.Manager{Client: secretsmanager.NewFromConfig(awsCfg)}
	}
	client, err := kafka.NewClient(ctx, cfg.Kafka, deps)
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
