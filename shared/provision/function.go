package provision

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/search"
)

// New builds the handler for the Lambda: AWS clients once, a Kafka admin client (or an OpenSearch client) per
// request (a custom resource runs a few times a year; a client per request keeps a changed cluster from reusing
// a stale one).
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Handler, error) {
	ac, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	mskClient := msk.NewFromConfig(ac.AWS)
	deps := kafka.Deps{Secrets: ac.Secrets, Credentials: ac.AWS.Credentials}
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
	return &Handler{Dial: dial, Search: SearchSetup(search.Deps{AWS: ac.AWS}), HTTP: &http.Client{Timeout: 30 * time.Second}, Log: log}, nil
}

// DialKafka connects an admin client with kc.
func DialKafka(ctx context.Context, kc kafka.Config, deps kafka.Deps, data map[string]any) (Cluster, error) {
	cl, err := kafka.NewClient(ctx, kc, deps)
	if err != nil {
		return Cluster{}, err
	}
	return Cluster{Admin: kadm.NewClient(cl), Data: data, Close: cl.Close}, nil
}
