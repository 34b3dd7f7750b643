package awsconfig_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
)

// isolate keeps the developer's ~/.aws and any instance metadata out of the test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "eu-west-3", "AWS_ENDPOINT_URL": "",
	} {
		t.Setenv(k, v)
	}
}

// secretsManager stands in for Secrets Manager's GetSecretValue (there is no local implementation): it answers
// only a request signed for eu-west-3 and the secretsmanager service.
func secretsManager(t *testing.T, secret string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request: %v", err)
		}
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
			!strings.Contains(auth, "/eu-west-3/secretsmanager/aws4_request") || !strings.Contains(auth, "Credential=AKIDLOCAL/") ||
			!strings.Contains(string(body), `"SecretId":"arn:aws:secretsmanager:eu-west-3:1:secret:kafka"`) {
			http.Error(w, `{"__type":"AccessDeniedException","message":"unexpected request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if _, err := io.WriteString(w, `{"ARN":"arn:aws:secretsmanager:eu-west-3:1:secret:kafka","Name":"kafka","SecretString":`+secret+`}`); err != nil {
			t.Errorf("write response: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Load takes region, credentials and per-service endpoints from the environment, as every deployable relies on:
// AWS_ENDPOINT_URL_DYNAMODB reaches a real local DynamoDB (dynalite), AWS_ENDPOINT_URL_SECRETS_MANAGER the
// Secrets Manager reader.
func TestLoad(t *testing.T) {
	isolate(t)
	db := dynalite.StartT(t)
	sm := secretsManager(t, `"{\"username\":\"svc\",\"password\":\"pw\"}"`)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", db.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL)

	c, err := awsconfig.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.AWS.Region != "eu-west-3" {
		t.Errorf("region: got %q, want eu-west-3", c.AWS.Region)
	}
	creds, err := c.AWS.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "AKIDLOCAL" {
		t.Errorf("credentials: got %q (%v), want AKIDLOCAL from the environment", creds.AccessKeyID, err)
	}

	up, err := c.Secrets.UserPassword(t.Context(), "arn:aws:secretsmanager:eu-west-3:1:secret:kafka")
	if err != nil {
		t.Fatalf("secret through AWS_ENDPOINT_URL_SECRETS_MANAGER: %v", err)
	}
	if up.Username != "svc" || up.Password != "pw" {
		t.Errorf("secret: got user %q, want svc and its password", up.Username)
	}

	ddb := dynamodb.NewFromConfig(c.AWS)
	if _, err := ddb.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String("closes"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("symbol"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("symbol"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("create table through AWS_ENDPOINT_URL_DYNAMODB: %v", err)
	}
	out, err := ddb.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TableNames) != 1 || out.TableNames[0] != "closes" {
		t.Errorf("tables at %s: got %v, want [closes]", db.Endpoint, out.TableNames)
	}
}

// A configuration the SDK cannot load fails with context and the SDK's error kept for errors.As.
func TestLoadError(t *testing.T) {
	isolate(t)
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte("[profile other]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "missing")
	_, err := awsconfig.Load(context.Background())
	var notExist sdkconfig.SharedConfigProfileNotExistError
	if err == nil || !strings.HasPrefix(err.Error(), "load aws config: ") || !errors.As(err, &notExist) {
		t.Fatalf("got %v, want a wrapped SharedConfigProfileNotExistError", err)
	}
}

// The zero Config (a local run that needs no AWS) has a reader that refuses clearly instead of panicking.
func TestZeroConfigSecrets(t *testing.T) {
	_, err := awsconfig.Config{}.Secrets.UserPassword(context.Background(), "arn:aws:secretsmanager:eu-west-3:1:secret:kafka")
	if err == nil || !strings.Contains(err.Error(), "no Secrets Manager client") {
		t.Fatalf("got %v, want an error saying there is no Secrets Manager client", err)
	}
}
