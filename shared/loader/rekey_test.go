package loader_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/dev/awsfake"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/loader"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/secrets"
)

// A warm prevclose container whose Alpaca secret is rotated (and the old keys revoked, as regenerating them at
// Alpaca does) uses the new keys from its next invocation; a failed read of the secret keeps the keys in hand.
func TestRotatedAlpacaSecretIsUsedFromTheNextInvocation(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_ACCESS_KEY_ID": "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY": "local-secret", "AWS_SESSION_TOKEN": "", "AWS_REGION": "eu-west-3", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_DYNAMODB": dynalite.StartT(t).Endpoint,
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	ac, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := prevclose.CreateTable(ctx, dynamodb.NewFromConfig(ac.AWS), table); err != nil {
		t.Fatal(err)
	}
	sm := awsfake.NewSecretsManager()
	put := func(key, secret string) {
		t.Helper()
		v, err := json.Marshal(map[string]string{"key": key, "secret": secret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("alpaca"), SecretString: aws.String(string(v))}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("alpaca"), SecretString: aws.String(`{"key":"k","secret":"s"}`)})
	if err != nil {
		t.Fatal(err)
	}
	ac.Secrets = secrets.Manager{Client: sm}
	srv := market(t) // accepts k/s
	var logs bytes.Buffer
	cfg := loader.Config{Alpaca: alpaca.Config{Feed: "iex", DataURL: srv.DataURL, SecretARN: aws.ToString(out.ARN),
		Symbols: []string{"AAPL", "NVDA"}}, PrevCloseTable: table, LookbackDays: 10}
	l, err := loader.NewWith(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), ac)
	if err != nil {
		t.Fatal(err)
	}
	invoke := func() error {
		_, err := l.Handle(ctx, json.RawMessage(`{"from":"2024-06-03","to":"2024-06-14"}`), date(t, "2024-06-14").Time())
		return err
	}
	if err := invoke(); err != nil {
		t.Fatalf("first invocation: %v", err)
	}
	srv.SetKeys("k2", "s2")
	put("k2", "s2")
	if err := invoke(); err != nil {
		t.Fatalf("invocation after the rotation: %v (the old keys are revoked)", err)
	}
	if !strings.Contains(logs.String(), "alpaca credentials changed") {
		t.Errorf("no log line says the keys changed:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "s2") {
		t.Errorf("the log shows the new secret:\n%s", logs.String())
	}
	sm.Remove("alpaca")
	if err := invoke(); err != nil {
		t.Fatalf("invocation with the secret unreadable: %v, want the keys in hand to be used", err)
	}
	if !strings.Contains(logs.String(), "re-read alpaca credentials") {
		t.Errorf("no warning about the unreadable secret:\n%s", logs.String())
	}
}
