package search_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/search"
)

const (
	adminARN  = "arn:aws:iam::123456789012:role/finfeed-dev-ProvisionRole-ABC"
	writerARN = "arn:aws:iam::123456789012:role/finfeed-dev-IndexRole-DEF"
)

var (
	adminCreds  = aws.Credentials{AccessKeyID: "AKIDADMIN", SecretAccessKey: "admin-secret"}
	writerCreds = aws.Credentials{AccessKeyID: "AKIDWRITER", SecretAccessKey: "writer-secret"}
)

// secureServer is the fake with fine-grained access control: the provision role is the master user, the index
// role a principal with no role until the admin maps one.
func secureServer(t *testing.T) *searchtest.Server {
	t.Helper()
	return searchtest.NewServer(t, searchtest.Options{TLS: true, Security: &searchtest.Security{
		Master: adminARN,
		Principals: []searchtest.Principal{
			{ARN: adminARN, Credentials: adminCreds},
			{ARN: writerARN, Credentials: writerCreds},
		},
	}})
}

// signedClient is a SigV4 client to srv signing as creds.
func signedClient(t *testing.T, srv *searchtest.Server, cfg search.Config, creds aws.Credentials) *search.Client {
	t.Helper()
	cfg.URL, cfg.Auth, cfg.Service = srv.URL, search.AuthSigV4, "es"
	c, err := search.NewClient(t.Context(), cfg, search.Deps{
		AWS:       aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}},
		Transport: srv.Client().Transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func monthlyConfig() search.Config {
	return search.Config{Alias: "bars", Layout: search.LayoutMonthly, RetentionMonths: 3}
}

func barDoc(index, id string) search.Doc {
	return search.Doc{Index: index, ID: id, Source: []byte(`{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11T19:49:00Z","%change":-0.87,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11"}`)}
}

func statusOf(err error) int {
	var se *search.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// TestWriterRole: the admin (the master user) applies the template and the retention policy and maps the writer
// role to the index function's IAM role; the index function can then bulk-index into a new month (the index
// is created from the template, with its alias) and nothing else: no template, no ISM policy, no security API,
// no index outside the bar patterns.
func TestWriterRole(t *testing.T) {
	srv := secureServer(t)
	cfg := monthlyConfig()
	admin := signedClient(t, srv, cfg, adminCreds)
	writer := signedClient(t, srv, cfg, writerCreds)
	ix := search.NewIndexer(writer)
	ix.Backoff = fastBackoff

	// Before the admin's step the writer has no role: every item is refused, the batch must fail.
	if _, err := ix.Bulk(t.Context(), []search.Doc{barDoc("bars-2024.07", "AMZN|2024-07-11 19:49:00")}); err == nil {
		t.Fatal("bulk without a mapped role succeeded")
	}
	if got := srv.Count(); got != 0 {
		t.Fatalf("%d documents indexed without a role", got)
	}

	if _, err := admin.Setup(t.Context()); err != nil {
		t.Fatalf("admin setup: %v", err)
	}
	if err := admin.GrantWriter(t.Context(), []string{writerARN}); err != nil {
		t.Fatalf("grant writer: %v", err)
	}
	var mapping struct {
		BackendRoles []string `json:"backend_roles"`
	}
	if err := json.Unmarshal(srv.RoleMapping(search.WriterRole), &mapping); err != nil || len(mapping.BackendRoles) != 1 || mapping.BackendRoles[0] != writerARN {
		t.Fatalf("role mapping %s = %s, want backend role %s", search.WriterRole, srv.RoleMapping(search.WriterRole), writerARN)
	}
	// Granting again replaces both (200 instead of 201), so the stack's update can run it every time.
	if err := admin.GrantWriter(t.Context(), []string{writerARN}); err != nil {
		t.Fatalf("grant writer again: %v", err)
	}

	res, err := ix.Bulk(t.Context(), []search.Doc{barDoc("bars-2024.07", "AMZN|2024-07-11 19:49:00"), barDoc("bars-2024.08", "AMZN|2024-08-01 13:30:00")})
	if err != nil || len(res.Rejected) != 0 {
		t.Fatalf("writer bulk: %+v, %v", res, err)
	}
	if got := srv.Count(); got != 2 {
		t.Errorf("%d documents indexed, want 2", got)
	}
	if got := srv.Alias("bars"); len(got) != 2 {
		t.Errorf("alias bars covers %v, want both months", got)
	}

	if _, err := writer.Setup(t.Context()); statusOf(err) != http.StatusForbidden {
		t.Errorf("writer applied the index template (err %v), want 403", err)
	}
	if err := writer.GrantWriter(t.Context(), []string{writerARN}); statusOf(err) != http.StatusForbidden {
		t.Errorf("writer used the security API (err %v), want 403", err)
	}
	if _, err := ix.Bulk(t.Context(), []search.Doc{barDoc("other-2024.07", "AMZN|2024-07-11 19:49:00")}); err == nil {
		t.Error("writer indexed outside the bar indexes")
	}
	if _, ok := srv.Docs("other-2024.07")["AMZN|2024-07-11 19:49:00"]; ok {
		t.Error("a document landed in other-2024.07")
	}
}

// TestWriterRoleDefinitionIsAccepted: the role of every layout passes the security plugin's validation, and the
// fake refuses what the plugin refuses (so the first assertion means something).
func TestWriterRoleDefinitionIsAccepted(t *testing.T) {
	srv := secureServer(t)
	for _, cfg := range []search.Config{monthlyConfig(), {Alias: "bars", Layout: search.LayoutPerSymbol}, {Alias: "bars", Layout: search.LayoutPerSymbol, Prefix: "sym-"}} {
		admin := signedClient(t, srv, cfg, adminCreds)
		if err := admin.GrantWriter(t.Context(), []string{writerARN}); err != nil {
			t.Errorf("layout %s prefix %q: %v", cfg.Layout, cfg.Prefix, err)
		}
	}
	admin := signedClient(t, srv, monthlyConfig(), adminCreds)
	if err := admin.GrantWriter(t.Context(), nil); !errors.Is(err, search.ErrNoWriters) {
		t.Errorf("grant to nobody: %v, want ErrNoWriters", err)
	}
	def := monthlyConfig().WriterRoleDefinition()
	for _, perm := range def["cluster_permissions"].([]string) {
		if strings.HasPrefix(perm, "cluster:") || strings.Contains(perm, "*") {
			t.Errorf("writer role has cluster permission %q: want only the bulk and alias entry points", perm)
		}
	}
}

// TestWriterCannotChangeMappings: the writer role holds no mapping update (the admin extends mappings with
// `feed opensearch setup`), so a stolen index role cannot add fields to the bar indexes.
func TestWriterCannotChangeMappings(t *testing.T) {
	srv := secureServer(t)
	cfg := monthlyConfig()
	admin := signedClient(t, srv, cfg, adminCreds)
	if _, err := admin.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := admin.GrantWriter(t.Context(), []string{writerARN}); err != nil {
		t.Fatal(err)
	}
	ix := search.NewIndexer(signedClient(t, srv, cfg, writerCreds))
	ix.Backoff = fastBackoff
	if _, err := ix.Bulk(t.Context(), []search.Doc{barDoc("bars-2024.07", "AMZN|2024-07-11 19:49:00")}); err != nil {
		t.Fatal(err)
	}
	// The writer's Setup is refused at its first admin step, whichever it is: reading the alias's mappings to
	// extend them, or the template.
	if _, err := signedClient(t, srv, cfg, writerCreds).Setup(t.Context()); statusOf(err) != http.StatusForbidden {
		t.Errorf("writer setup: %v, want 403", err)
	}
}
