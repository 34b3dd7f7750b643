// Package secrets reads credentials from AWS Secrets Manager without ever putting a secret value in an error or
// a log line.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManagerAPI is the part of the Secrets Manager client used here.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ErrMalformed means a secret exists but does not hold the expected JSON keys. The value is never quoted.
var ErrMalformed = errors.New("secret is not in the expected form")

// Manager fetches secrets.
type Manager struct {
	Client SecretsManagerAPI
}

// JSON fetches the secret arn and decodes its string value (a JSON object) into v.
func (m Manager) JSON(ctx context.Context, arn string, v any) error {
	if m.Client == nil {
		return fmt.Errorf("secret %s: no Secrets Manager client", arn)
	}
	out, err := m.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("get secret %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return fmt.Errorf("secret %s: %w: no string value", arn, ErrMalformed)
	}
	if err := json.Unmarshal([]byte(*out.SecretString), v); err != nil {
		// the decoder's message can quote the value: keep only its kind
		return fmt.Errorf("secret %s: %w: not a JSON object", arn, ErrMalformed)
	}
	return nil
}

// UserPass is the JSON form MSK uses for SASL/SCRAM secrets: {"username": "...", "password": "..."}.
type UserPass struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// UserPassword fetches a SCRAM-style secret.
func (m Manager) UserPassword(ctx context.Context, arn string) (UserPass, error) {
	var up UserPass
	if err := m.JSON(ctx, arn, &up); err != nil {
		return UserPass{}, err
	}
	if up.Username == "" || up.Password == "" {
		return UserPass{}, fmt.Errorf("secret %s: %w: want keys username and password", arn, ErrMalformed)
	}
	return up, nil
}
