package kafka

import (
	"context"
	"crypto/tls"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/finfeed/finfeed/shared/secrets"
)

// Deps are the AWS pieces some auth modes need; zero values are fine for AuthNone and plain SCRAM.
type Deps struct {
	// Secrets resolves Config.SecretARN.
	Secrets secrets.Manager
	// Credentials sign MSK IAM logins (the function's or task's role).
	Credentials awssdk.CredentialsProvider
}

// Opts turns c into franz-go options: seed brokers, TLS and SASL. Producers built from them are idempotent with
// acks=all (franz-go's defaults, kept on purpose).
func (c Config) Opts(ctx context.Context, deps Deps) ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.RequiredAcks(kgo.AllISRAcks())}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if c.TLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	switch c.Auth {
	case AuthSCRAM:
		user, pass := c.Username, c.Password
		if c.SecretARN != "" {
			up, err := deps.Secrets.UserPassword(ctx, c.SecretARN)
			if err != nil {
				return nil, fmt.Errorf("kafka scram credentials: %w", err)
			}
			user, pass = up.Username, up.Password
		}
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
	case AuthIAM:
		if deps.Credentials == nil {
			return nil, fmt.Errorf("kafka iam auth: no AWS credentials provider")
		}
		creds := deps.Credentials
		opts = append(opts, kgo.SASL(aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
			v, err := creds.Retrieve(ctx)
			if err != nil {
				return aws.Auth{}, fmt.Errorf("retrieve aws credentials for msk iam: %w", err)
			}
			return aws.Auth{AccessKey: v.AccessKeyID, SecretKey: v.SecretAccessKey, SessionToken: v.SessionToken, UserAgent: "finfeed"}, nil
		})))
	}
	return opts, nil
}

// NewClient builds a client from c plus extra options.
func NewClient(ctx context.Context, c Config, deps Deps, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.Opts(ctx, deps)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("new kafka client: %w", err)
	}
	return cl, nil
}
