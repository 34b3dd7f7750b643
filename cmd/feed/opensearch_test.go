package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/search"
	"github.com/finfeed/finfeed/shared/search/searchtest"
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
			name:       "setup applies the template",
			args:       []string{"opensearch", "setup", "--url", srv.URL, "--auth", "basic", "--username", "admin", "--prefix", "bars-", "--alias", "all"},
			wantCode:   exitOK,
			wantOut:    "index template finfeed-bars applied: indexes bars-*, alias all",
			wantPrefix: "[bars-*]",
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
	for _, tt := range tests {
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
