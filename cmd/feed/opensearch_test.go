package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/dev/zinctest"
	"github.com/finfeed/finfeed/shared/search"
)

func TestFeedOpenSearch(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{Username: "admin", Password: "cli-Pa55"})
	t.Setenv("OPENSEARCH_PASSWORD", "cli-Pa55")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErr    string
		wantPrefix string // template patterns stored on the server
	}{
		{
			name:       "setup applies the template and the retention policy",
			args:       []string{"opensearch", "setup", "--url", srv.URL, "--auth", "basic", "--username", "admin", "--prefix", "finfeed-", "--alias", "all"},
			wantCode:   exitOK,
			wantOut:    "index template finfeed-bars applied: indexes finfeed-all-*, alias all\nism policy finfeed-bars-retention created: indexes finfeed-all-* are deleted 124 days after creation (every bar kept at least 3 months)",
			wantPrefix: "[finfeed-all-*]",
		},
		{
			name:     "setup again leaves the policy alone",
			args:     []string{"opensearch", "setup", "--url", srv.URL, "--auth", "basic", "--username", "admin", "--prefix", "finfeed-", "--alias", "all"},
			wantCode: exitOK,
			wantOut:  "ism policy finfeed-bars-retention unchanged",
		},
		{
			name: "a new retention updates the policy",
			args: []string{"opensearch", "setup", "--url", srv.URL, "--auth", "basic", "--username", "admin", "--prefix", "finfeed-", "--alias", "all",
				"--retention-months", "12"},
			wantCode: exitOK,
			wantOut:  "ism policy finfeed-bars-retention updated: indexes finfeed-all-* are deleted 403 days after creation (every bar kept at least 12 months)\nindexes created before this update keep the policy version",
		},
		{
			name:       "per-symbol layout has no retention",
			args:       []string{"opensearch", "setup", "--url", srv.URL, "--auth", "basic", "--username", "admin", "--prefix", "bars-", "--layout", "per-symbol"},
			wantCode:   exitOK,
			wantOut:    "index template finfeed-bars applied: indexes bars-*, alias bars\nretention: none (layout per-symbol",
			wantPrefix: "[bars-*]",
		},
		{
			name:     "bad layout and retention are reported together",
			args:     []string{"opensearch", "setup", "--url", srv.URL, "--layout", "weekly", "--retention-months", "x"},
			wantCode: exitUsage,
			wantErr:  "OPENSEARCH_INDEX_LAYOUT: \"weekly\"",
		},
		{
			name:     "wrong password",
			args:     []string{"opensearch", "setup", "--url", srv.URL, "--auth", "basic", "--username", "someone"},
			wantCode: exitFailure,
			wantErr:  "status 401",
		},
		{
			name:     "configuration problems are reported together",
			args:     []string{"opensearch", "setup", "--url", "http://search.example", "--auth", "magic"},
			wantCode: exitUsage,
			wantErr:  "https is required",
		},
		{
			name:     "saved objects print as NDJSON",
			args:     []string{"opensearch", "saved-objects", "--alias", "all"},
			wantCode: exitOK,
			wantOut:  `"title":"all"`,
		},
		{
			name:     "unknown action",
			args:     []string{"opensearch", "reindex"},
			wantCode: exitUsage,
			wantErr:  `unknown action "reindex"`,
		},
	}
	for _, tt := range tests { // in order: the setup cases build on each other
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d\nstderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout: got %q, want it to contain %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "cli-Pa55") {
				t.Errorf("output shows the password")
			}
			if tt.wantPrefix != "" {
				tpl := srv.Template(search.TemplateName)
				if got := fmtPatterns(tpl); got != tt.wantPrefix {
					t.Errorf("template patterns: got %s, want %s", got, tt.wantPrefix)
				}
			}
		})
	}
	policy, version := srv.Policy(search.PolicyID)
	if states, _ := policy["states"].([]any); version != 2 || len(states) != 2 ||
		!strings.Contains(fmt.Sprint(states[0]), "min_index_age:403d") {
		t.Errorf("policy after setup, setup, setup with 12 months: got version %d %v, want version 2 deleting at 403d", version, policy)
	}
}

// TestFeedOpenSearchSetupOnZinc runs `feed opensearch setup` end to end against a real server (the ZincSearch
// wrapper, which serves the ISM policy API): template and policy are created, a second run changes nothing.
func TestFeedOpenSearchSetupOnZinc(t *testing.T) {
	z := zinctest.Start(t)
	t.Setenv("OPENSEARCH_PASSWORD", zinctest.Password)
	args := []string{"opensearch", "setup", "--url", z.URL, "--auth", "basic", "--username", zinctest.User, "--retention-months", "6"}
	for i, want := range []string{"created", "unchanged"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != exitOK {
			t.Fatalf("run #%d: exit %d\nstderr: %s", i+1, code, stderr.String())
		}
		wantOut := "index template finfeed-bars applied: indexes bars-*, alias bars\n" +
			"ism policy finfeed-bars-retention " + want + ": indexes bars-* are deleted 217 days after creation (every bar kept at least 6 months)\n" +
			"index template finfeed-candles applied: indexes candles-*, alias candles\n" +
			"ism policy finfeed-candles-retention " + want + ": indexes candles-* are deleted 217 days after creation\n"
		if stdout.String() != wantOut {
			t.Errorf("run #%d: got %q, want %q", i+1, stdout.String(), wantOut)
		}
	}
	var tpl struct { // zinc answers with its own template record
		IndexPatterns []string `json:"index_patterns"`
	}
	z.JSON(t, "GET", "/_index_template/"+search.TemplateName, "", &tpl)
	if strings.Join(tpl.IndexPatterns, ",") != "bars-*" {
		t.Errorf("index template on the server: got patterns %q, want bars-*", tpl.IndexPatterns)
	}
	var policy struct {
		Version int `json:"_version"`
		Policy  struct {
			Description string `json:"description"`
		} `json:"policy"`
	}
	z.JSON(t, "GET", "/_plugins/_ism/policies/"+search.PolicyID, "", &policy)
	if policy.Version != 1 || !strings.Contains(policy.Policy.Description, "217 days") {
		t.Errorf("policy on the server: got %+v, want version 1 (written once) deleting after 217 days", policy)
	}
}

func fmtPatterns(tpl map[string]any) string {
	var b strings.Builder
	b.WriteByte('[')
	pats, _ := tpl["index_patterns"].([]any)
	for i, p := range pats {
		if i > 0 {
			b.WriteByte(' ')
		}
		s, _ := p.(string)
		b.WriteString(s)
	}
	b.WriteByte(']')
	return b.String()
}

// TestFeedOpenSearchSetupGrantsWriter: run as the domain's admin (SigV4, fine-grained access control), `feed
// opensearch setup --writer-role-arn` also stores the write-only role and maps it to the index function's role;
// run as anyone else it fails on the first admin request.
func TestFeedOpenSearchSetupGrantsWriter(t *testing.T) {
	const admin, indexRole = "arn:aws:iam::123456789012:role/admin", "arn:aws:iam::123456789012:role/finfeed-dev-IndexRole-DEF"
	srv := searchtest.NewServer(t, searchtest.Options{Security: &searchtest.Security{Master: admin, Principals: []searchtest.Principal{
		{ARN: admin, Credentials: aws.Credentials{AccessKeyID: "AKIDADMIN", SecretAccessKey: "admin-secret"}},
		{ARN: indexRole, Credentials: aws.Credentials{AccessKeyID: "AKIDINDEX", SecretAccessKey: "index-secret"}},
	}}})
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	args := []string{"opensearch", "setup", "--url", srv.URL, "--auth", "sigv4", "--writer-role-arn", indexRole}
	for _, tt := range []struct {
		key, secret string
		wantCode    int
		wantOut     string
	}{
		{"AKIDINDEX", "index-secret", exitFailure, ""},
		{"AKIDADMIN", "admin-secret", exitOK, "role " + search.WriterRole + " (write bars into bars-*, alias bars, and candles into candles-*, alias candles; nothing else) mapped to " + indexRole},
	} {
		t.Setenv("AWS_ACCESS_KEY_ID", tt.key)
		t.Setenv("AWS_SECRET_ACCESS_KEY", tt.secret)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != tt.wantCode {
			t.Fatalf("as %s: exit code %d, want %d\nstderr: %s", tt.key, code, tt.wantCode, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.wantOut) {
			t.Errorf("as %s: stdout %q, want it to contain %q", tt.key, stdout.String(), tt.wantOut)
		}
	}
	if !strings.Contains(string(srv.RoleMapping(search.WriterRole)), indexRole) {
		t.Errorf("role mapping %s", srv.RoleMapping(search.WriterRole))
	}
}
