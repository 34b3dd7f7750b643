package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/secrets"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, c kafka.Config)
	}{
		{"local defaults", map[string]string{"KAFKA_BROKERS": "127.0.0.1:9092"}, nil, func(t *testing.T, c kafka.Config) {
			if c.Auth != kafka.AuthNone || c.TLS {
				t.Errorf("got auth %s tls %v, want none without TLS", c.Auth, c.TLS)
			}
		}},
		{"scram defaults to TLS", map[string]string{"KAFKA_BROKERS": "b-1:9096,b-2:9096", "KAFKA_AUTH": "SCRAM", "KAFKA_SECRET_ARN": "arn:x"}, nil, func(t *testing.T, c kafka.Config) {
			if c.Auth != kafka.AuthSCRAM || !c.TLS || len(c.Brokers) != 2 {
				t.Errorf("got %+v", c)
			}
		}},
		{"iam with TLS off explicitly", map[string]string{"KAFKA_BROKERS": "b-1:9098", "KAFKA_AUTH": "iam", "KAFKA_TLS": "false"}, nil, func(t *testing.T, c kafka.Config) {
			if c.TLS {
				t.Error("KAFKA_TLS=false ignored")
			}
		}},
		{"everything wrong at once", map[string]string{"KAFKA_BROKERS": "nohost", "KAFKA_AUTH": "plain", "KAFKA_TLS": "yes please"},
			[]string{"KAFKA_BROKERS: \"nohost\" is not host:port", "KAFKA_AUTH", "KAFKA_TLS"}, nil},
		{"no brokers", map[string]string{}, []string{"KAFKA_BROKERS: required"}, nil},
		{"scram without credentials", map[string]string{"KAFKA_BROKERS": "b:1", "KAFKA_AUTH": "scram"}, []string{"needs KAFKA_SECRET_ARN"}, nil},
		{"scram with user but no password", map[string]string{"KAFKA_BROKERS": "b:1", "KAFKA_AUTH": "scram", "KAFKA_USERNAME": "u"}, []string{"needs KAFKA_SECRET_ARN"}, nil},
		{"scram with both", map[string]string{"KAFKA_BROKERS": "b:1", "KAFKA_AUTH": "scram", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p", "KAFKA_SECRET_ARN": "arn:x"}, []string{"set one, not both"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kafka.Load(env(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %v", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigNeverPrintsPassword(t *testing.T) {
	c := kafka.Config{Brokers: []string{"b:1"}, Auth: kafka.AuthSCRAM, Username: "svc", Password: "s3cr3t-pw"}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v", c), c.LogValue().String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("password printed: %s", s)
		}
	}
}

// scramBroker runs kfake with SASL/SCRAM-SHA-512 enforced.
func scramBroker(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "svc", "right-password"), kfake.SeedTopics(1, "raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type fakeSecrets map[string]string

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[*in.SecretId]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: &v}, nil
}

func produceOne(t *testing.T, c kafka.Config, deps kafka.Deps) error {
	t.Helper()
	cl, err := kafka.NewClient(context.Background(), c, deps, kgo.RecordRetries(1), kgo.RequestRetries(1))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: "raw", Value: []byte("x")}).FirstErr()
}

func TestSCRAMLogin(t *testing.T) {
	b := scramBroker(t)
	base := kafka.Config{Brokers: b.ListenAddrs(), Auth: kafka.AuthSCRAM}

	withPassword := base
	withPassword.Username, withPassword.Password = "svc", "right-password"
	if err := produceOne(t, withPassword, kafka.Deps{}); err != nil {
		t.Errorf("right password: %v", err)
	}

	fromSecret := base
	fromSecret.SecretARN = "arn:aws:secretsmanager:us-east-1:1:secret:AmazonMSK_svc"
	sm := secrets.Manager{Client: fakeSecrets{fromSecret.SecretARN: `{"username":"svc","password":"right-password"}`}}
	if err := produceOne(t, fromSecret, kafka.Deps{Secrets: sm}); err != nil {
		t.Errorf("password from the secret: %v", err)
	}

	wrong := base
	wrong.Username, wrong.Password = "svc", "wrong-password"
	if err := produceOne(t, wrong, kafka.Deps{}); err == nil {
		t.Error("wrong password: produce succeeded")
	} else if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestSecretErrorsDoNotLeak(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:1:secret:AmazonMSK_svc"
	c := kafka.Config{Brokers: []string{"127.0.0.1:1"}, Auth: kafka.AuthSCRAM, SecretARN: arn}
	for name, value := range map[string]string{
		"not json":         `password=topsecret`,
		"missing password": `{"username":"svc","pw":"topsecret"}`,
	} {
		_, err := c.Opts(context.Background(), kafka.Deps{Secrets: secrets.Manager{Client: fakeSecrets{arn: value}}})
		if !errors.Is(err, secrets.ErrMalformed) || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: got %v, want ErrMalformed without the value", name, err)
		}
	}
	if _, err := c.Opts(context.Background(), kafka.Deps{Secrets: secrets.Manager{Client: fakeSecrets{}}}); err == nil || !strings.Contains(err.Error(), arn) {
		t.Errorf("missing secret: got %v, want an error naming the ARN", err)
	}
	iam := kafka.Config{Brokers: []string{"127.0.0.1:1"}, Auth: kafka.AuthIAM}
	if _, err := iam.Opts(context.Background(), kafka.Deps{}); err == nil {
		t.Error("iam without credentials: no error")
	}
}
