package search_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/search"
	"github.com/finfeed/finfeed/shared/secrets"
)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:opensearch-indexer"

// secretsServer speaks Secrets Manager's JSON protocol (GetSecretValue only) for one secret.
func secretsServer(t *testing.T, secret string) *secretsmanager.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("secrets manager: got target %q", got)
		}
		var in struct{ SecretId string }
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(body, &in)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if err != nil || in.SecretId != secretARN {
			w.WriteHeader(http.StatusBadRequest)
			if _, err := io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`); err != nil {
				t.Error(err)
			}
			return
		}
		if err := json.NewEncoder(w).Encode(map[string]any{"ARN": secretARN, "Name": "opensearch-indexer", "SecretString": secret}); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

func TestBasicAuthFromSecretsManager(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		wantOK    bool
		wantInErr string
	}{
		{name: "right credentials", secret: `{"username":"indexer","password":"s3cret-Pa55"}`, wantOK: true},
		{name: "wrong password is refused, not retried", secret: `{"username":"indexer","password":"wrong-Pa55"}`, wantInErr: "status 401"},
		{name: "malformed secret never quotes its value", secret: `{"user":"indexer","pass":"s3cret-Pa55"}`, wantInErr: "not in the expected form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, searchtest.Options{TLS: true, Username: "indexer", Password: "s3cret-Pa55"})
			cfg := search.Config{URL: srv.URL, Auth: search.AuthBasic, SecretARN: secretARN, Alias: "bars", Service: "es"}
			c, err := search.NewClient(t.Context(), cfg, search.Deps{
				Secrets:   secrets.Manager{Client: secretsServer(t, tt.secret)},
				Transport: srv.Client().Transport,
			})
			if err == nil {
				t.Cleanup(func() {
					if err := c.Close(); err != nil {
						t.Error(err)
					}
				})
				_, err = c.Setup(t.Context())
			}
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Setup with basic auth: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantInErr)
			}
			if strings.Contains(err.Error(), "Pa55") {
				t.Errorf("error shows the password: %v", err)
			}
			if search.IsRetryable(err) {
				t.Errorf("got a retryable error, want a permanent one: %v", err)
			}
		})
	}
}

func TestSigV4(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "signing-secret", SessionToken: "session"}
	tests := []struct {
		name    string
		signer  aws.Credentials
		region  string
		service string
		wantOK  bool
	}{
		{name: "signed by the role", signer: creds, region: "us-east-1", service: "es", wantOK: true},
		{name: "serverless signing name", signer: creds, region: "us-east-1", service: "aoss", wantOK: true},
		{name: "wrong secret key", signer: aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "other", SessionToken: "session"}, region: "us-east-1", service: "es"},
		{name: "wrong region", signer: creds, region: "eu-west-1", service: "es"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, searchtest.Options{TLS: true, SigV4: &searchtest.SigV4{Region: "us-east-1", Service: tt.service, Credentials: creds}})
			awsCfg := aws.Config{Region: tt.region, Credentials: credentials.StaticCredentialsProvider{Value: tt.signer}}
			cfg := search.Config{URL: srv.URL, Auth: search.AuthSigV4, Alias: "bars", Service: tt.service}
			c, err := search.NewClient(t.Context(), cfg, search.Deps{AWS: awsCfg, Transport: srv.Client().Transport})
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			})
			ix := search.NewIndexer(c)
			ix.Backoff = fastBackoff
			_, err = c.Setup(t.Context())
			if err == nil {
				_, err = ix.Bulk(t.Context(), docs(3)) // a body-carrying POST: the payload hash is checked too
			}
			if tt.wantOK {
				if err != nil {
					t.Fatalf("signed requests: %v", err)
				}
				if srv.Count() != 3 {
					t.Errorf("documents: got %d, want 3", srv.Count())
				}
				return
			}
			var se *search.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusForbidden {
				t.Fatalf("got %v, want a 403 StatusError", err)
			}
		})
	}
}

func TestSigV4NeedsRegionAndCredentials(t *testing.T) {
	cfg := search.Config{URL: "https://search.example", Auth: search.AuthSigV4, Alias: "bars", Service: "es"}
	for name, awsCfg := range map[string]aws.Config{
		"no credentials": {Region: "us-east-1"},
		"no region":      {Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")},
	} {
		if _, err := search.NewClient(t.Context(), cfg, search.Deps{AWS: awsCfg}); err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
	}
}
