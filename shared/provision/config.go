package provision

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/finfeed/finfeed/shared/kafka"
)

// Config is how the function logs in to Kafka. The brokers are not configuration: each request names its
// cluster (ClusterArn) and the bootstrap string is looked up then.
type Config struct {
	Kafka kafka.Config
}

// requestBrokers stands in for KAFKA_BROKERS while validating the rest of the KAFKA_* variables; it is
// replaced per request.
const requestBrokers = "per-request:9092"

// Load reads the kafka package's KAFKA_AUTH, KAFKA_TLS, KAFKA_SECRET_ARN / KAFKA_USERNAME / KAFKA_PASSWORD and
// KAFKA_CLIENT_ID (KAFKA_BROKERS is ignored). In AWS the function logs in with MSK IAM: IAM clients are not
// subject to Kafka ACLs, which is what lets it create them.
func Load(getenv func(string) string) (Config, error) {
	kc, err := kafka.Load(func(k string) string {
		if k == "KAFKA_BROKERS" {
			return requestBrokers
		}
		return getenv(k)
	})
	kc.Brokers = nil
	if err != nil {
		return Config{}, fmt.Errorf("kafka configuration: %w", err)
	}
	if kc.Auth == kafka.AuthSCRAM && kc.SecretARN == "" && kc.Username == "" {
		return Config{}, errors.New("kafka configuration: scram needs credentials")
	}
	return Config{Kafka: kc}, nil
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value { return slog.GroupValue(slog.Any("kafka", c.Kafka)) }
