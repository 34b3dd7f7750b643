package searchtest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
)

var (
	master = searchtest.Principal{ARN: "arn:aws:iam::123456789012:role/admin", Credentials: aws.Credentials{AccessKeyID: "AKIDM", SecretAccessKey: "m"}}
	other  = searchtest.Principal{ARN: "arn:aws:iam::123456789012:role/other", Credentials: aws.Credentials{AccessKeyID: "AKIDO", SecretAccessKey: "o"}}
)

// put sends a signed PUT and returns the status.
func put(t *testing.T, srv *searchtest.Server, p searchtest.Principal, path, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(t.Context(), p.Credentials, req, hash, "es", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

// TestSecurityAPIRefusesWhatThePluginRefuses: the fake's role and mapping validation is strict, so a role the
// product's code defines passing it means something.
func TestSecurityAPIRefusesWhatThePluginRefuses(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{Security: &searchtest.Security{Master: master.ARN, Principals: []searchtest.Principal{master, other}}})
	const good = `{"cluster_permissions":["indices:data/write/bulk"],"index_permissions":[{"index_patterns":["bars-*"],"allowed_actions":["index"]}]}`
	for _, tt := range []struct {
		name, path, body string
		who              searchtest.Principal
		want             int
	}{
		{"a role", "/_plugins/_security/api/roles/w", good, master, http.StatusCreated},
		{"the same role again", "/_plugins/_security/api/roles/w", good, master, http.StatusOK},
		{"not the master", "/_plugins/_security/api/roles/w", good, other, http.StatusForbidden},
		{"a reserved role", "/_plugins/_security/api/roles/all_access", good, master, http.StatusForbidden},
		{"an unknown key", "/_plugins/_security/api/roles/x", `{"cluster_permission":["indices:data/write/bulk"]}`, master, http.StatusBadRequest},
		{"an index action under cluster_permissions", "/_plugins/_security/api/roles/x", `{"cluster_permissions":["indices:data/write/index"]}`, master, http.StatusBadRequest},
		{"a cluster action under index_permissions", "/_plugins/_security/api/roles/x", `{"index_permissions":[{"index_patterns":["bars-*"],"allowed_actions":["cluster:admin/opendistro/ism/policy/write"]}]}`, master, http.StatusBadRequest},
		{"a cluster group under index_permissions", "/_plugins/_security/api/roles/x", `{"index_permissions":[{"index_patterns":["bars-*"],"allowed_actions":["cluster_all"]}]}`, master, http.StatusBadRequest},
		{"no index patterns", "/_plugins/_security/api/roles/x", `{"index_permissions":[{"allowed_actions":["index"]}]}`, master, http.StatusBadRequest},
		{"a permission that is no action", "/_plugins/_security/api/roles/x", `{"index_permissions":[{"index_patterns":["bars-*"],"allowed_actions":["write everything"]}]}`, master, http.StatusBadRequest},
		{"a mapping", "/_plugins/_security/api/rolesmapping/w", `{"backend_roles":["` + other.ARN + `"]}`, master, http.StatusCreated},
		{"a mapping of no role", "/_plugins/_security/api/rolesmapping/nothing", `{"backend_roles":["` + other.ARN + `"]}`, master, http.StatusNotFound},
		{"a mapping with an unknown key", "/_plugins/_security/api/rolesmapping/w", `{"backend_role":["` + other.ARN + `"]}`, master, http.StatusBadRequest},
		{"the mapped role cannot write templates", "/_index_template/t", `{"index_patterns":["bars-*"],"template":{"mappings":{"properties":{}}}}`, other, http.StatusForbidden},
		{"the master can", "/_index_template/t", `{"index_patterns":["bars-*"],"template":{"mappings":{"properties":{}}}}`, master, http.StatusOK},
	} {
		if got := put(t, srv, tt.who, tt.path, tt.body); got != tt.want {
			t.Errorf("%s: PUT %s: status %d, want %d", tt.name, tt.path, got, tt.want)
		}
	}
	unsigned, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/_plugins/_security/api/roles/w", bytes.NewReader([]byte(good)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request: status %d, want 403", resp.StatusCode)
	}
}
