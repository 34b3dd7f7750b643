package provision

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/secrets"
)

// New builds the handler for the Lambda: AWS clients once, a Kafka admin client per request (a custom
// resource runs a few times a year; a client per request keeps a changed cluster from reusing a stale one).
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Handler, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	mskClient := msk.NewFromConfig(awsCfg)
	deps := kafka.Deps{Credentials: awsCfg.Credentials}
	if cfg.Kafka.SecretARN != "" {
		deps.Secrets = secrets.Manager{Client: secretsmanager.NewFromConfig(awsCfg)}
	}
	dial := func(ctx context.Context, t Target) (Cluster, error) {
		kc := cfg.Kafka
		data := map[string]any{AttrBrokers: strings.Join(t.Brokers, ",")}
		kc.Brokers = t.Brokers
		if t.ClusterArn != "" {
			var err error
			if data, kc.Brokers, err = Brokers(ctx, mskClient, t.ClusterArn, kc.Auth); err != nil {
				return Cluster{}, err
			}
		}
		return DialKafka(ctx, kc, deps, data)
	}
	return &Handler{Dial: dial, HTTP: &http.Client{Timeout: 30 * time.Second}, Log: log}, nil
}

// DialKafka connects an admin client with kc.
func DialKafka(ctx context.Context, kc kafka.Config, deps kafka.Deps, data map[string]any) (Cluster, error) {
	cl, err := kafka.NewClient(ctx, kc, deps)
	if err != nil {
		return Cluster{}, err
	}
	return Cluster{Admin: kadm.NewClient(cl), Data: data, Close: cl.Close}, nil
}
