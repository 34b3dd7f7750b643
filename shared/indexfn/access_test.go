package indexfn_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/search"
)

// TestNewAsWriterOnly: on a domain with fine-grained access control where the function's role holds only the
// writer role, OPENSEARCH_SETUP=none starts (it applies nothing) while the default cold-start setup is refused
// (403 on the index template): the function no longer needs, or gets, admin rights.
func TestNewAsWriterOnly(t *testing.T) {
	const writerARN = "arn:aws:iam::123456789012:role/finfeed-dev-IndexRole-DEF"
	writer := aws.Credentials{AccessKeyID: "AKIDWRITER", SecretAccessKey: "writer-secret"}
	srv := searchtest.NewServer(t, searchtest.Options{Security: &searchtest.Security{
		Master:     "arn:aws:iam::123456789012:role/finfeed-dev-ProvisionRole-ABC",
		Principals: []searchtest.Principal{{ARN: writerARN, Credentials: writer}},
	}})
	t.Setenv("AWS_ACCESS_KEY_ID", writer.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", writer.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	for _, tt := range []struct {
		setup   string
		wantErr bool
	}{{"none", false}, {"cold-start", true}, {"", true}} {
		env := map[string]string{"KAFKA_BROKERS": "127.0.0.1:1", "OPENSEARCH_URL": srv.URL, "OPENSEARCH_SETUP": tt.setup}
		cfg, err := indexfn.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("setup %q: %v", tt.setup, err)
		}
		fn, err := indexfn.New(t.Context(), cfg, nil)
		if tt.wantErr {
			var se *search.StatusError
			if !errors.As(err, &se) || se.Status != 403 {
				t.Errorf("setup %q: New = %v, want the template refused with 403", tt.setup, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("setup %q: New: %v", tt.setup, err)
		}
		fn.Close()
	}
	if srv.Template(search.TemplateName) != nil {
		t.Error("the writer stored an index template")
	}
}
