// Package awsconfig loads the AWS configuration a deployable builds its AWS clients on, and the Secrets Manager
// reader every one of them uses: one place, so region, credentials and endpoints behave the same everywhere.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/finfeed/finfeed/shared/secrets"
)

// Config is the AWS configuration of an execution environment with the Secrets Manager reader built on it,
// made once and shared by its clients. The zero value is for a run that needs no AWS (a local stack): no
// credentials, and a reader that fails every read with a clear error.
type Config struct {
	AWS     aws.Config
	Secrets secrets.Manager
}

// Load reads the SDK's default configuration, as Lambda, Fargate and a developer's shell provide it: region
// (AWS_REGION), credentials (environment, profile, execution role) and per-service endpoints
// (AWS_ENDPOINT_URL_<SERVICE>, e.g. AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB).
func Load(ctx context.Context) (Config, error) {
	cfg, err := sdkconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return New(cfg), nil
}

// New builds the Secrets Manager reader on an AWS configuration already loaded.
func New(cfg aws.Config) Config {
	return Config{AWS: cfg, Secrets: secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}}
}
