package search

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string // substrings, all required
	}{
		{
			name: "sigv4 defaults",
			env:  map[string]string{"OPENSEARCH_URL": "https://vpc-x.us-east-1.es.amazonaws.com/"},
			want: Config{URL: "https://vpc-x.us-east-1.es.amazonaws.com", Auth: AuthSigV4, Service: "es", Alias: "bars",
				DashboardsURL: "https://vpc-x.us-east-1.es.amazonaws.com/_dashboards"},
		},
		{
			name: "basic from a secret with prefix",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_AUTH": "BASIC",
				"OPENSEARCH_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:os", "INDEX_PREFIX": "bars-", "INDEX_ALIAS": "all-bars"},
			want: Config{URL: "https://search.example", Auth: AuthBasic, SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:os",
				Service: "es", Prefix: "bars-", Alias: "all-bars", DashboardsURL: "https://search.example/_dashboards"},
		},
		{
			name: "plain http on loopback",
			env:  map[string]string{"OPENSEARCH_URL": "http://127.0.0.1:9200", "OPENSEARCH_AUTH": "none"},
			want: Config{URL: "http://127.0.0.1:9200", Auth: AuthNone, Service: "es", Alias: "bars", DashboardsURL: "http://127.0.0.1:9200/_dashboards"},
		},
		{
			name:    "everything wrong at once",
			env:     map[string]string{"OPENSEARCH_AUTH": "token", "INDEX_PREFIX": "Bars", "INDEX_ALIAS": "_x"},
			wantErr: []string{"OPENSEARCH_URL: required", `OPENSEARCH_AUTH: "token"`, "INDEX_PREFIX", "INDEX_ALIAS"},
		},
		{
			name:    "http to a remote host",
			env:     map[string]string{"OPENSEARCH_URL": "http://search.example"},
			wantErr: []string{"https is required"},
		},
		{
			name:    "credentials in the url",
			env:     map[string]string{"OPENSEARCH_URL": "https://u:p@search.example"},
			wantErr: []string{"credentials in the URL"},
		},
		{
			name:    "basic without credentials",
			env:     map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_AUTH": "basic"},
			wantErr: []string{"needs OPENSEARCH_SECRET_ARN"},
		},
		{
			name: "basic with both",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_AUTH": "basic",
				"OPENSEARCH_SECRET_ARN": "arn", "OPENSEARCH_USERNAME": "u", "OPENSEARCH_PASSWORD": "p"},
			wantErr: []string{"set one, not both"},
		},
		{
			name:    "alias inside the prefix space",
			env:     map[string]string{"OPENSEARCH_URL": "https://search.example", "INDEX_PREFIX": "bars", "INDEX_ALIAS": "barsall"},
			wantErr: []string{"could clash"},
		},
		{
			name:    "unknown signing service",
			env:     map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_SERVICE": "s3"},
			wantErr: []string{"OPENSEARCH_SERVICE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(env(tt.env))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load: got no error, want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load error: got %q, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got != tt.want {
				t.Errorf("Load: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigNeverShowsPassword(t *testing.T) {
	c, err := Load(env(map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_AUTH": "basic",
		"OPENSEARCH_USERNAME": "indexer", "OPENSEARCH_PASSWORD": "hunter2-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "indexer") {
		t.Errorf("String: got %q, want the user and no password", s)
	}
}

func TestNaming(t *testing.T) {
	tests := []struct {
		prefix, symbol, wantIndex string
		wantPatterns              []string
	}{
		{"", "AMZN", "amzn", nil},
		{"bars-", "BRK.B", "bars-brk.b", []string{"bars-*"}},
	}
	for _, tt := range tests {
		c := Config{Prefix: tt.prefix, Alias: "bars"}
		if got := c.IndexName(tt.symbol); got != tt.wantIndex {
			t.Errorf("IndexName(%q) with prefix %q: got %q, want %q", tt.symbol, tt.prefix, got, tt.wantIndex)
		}
		pats := c.IndexPatterns()
		if tt.wantPatterns != nil && strings.Join(pats, ",") != strings.Join(tt.wantPatterns, ",") {
			t.Errorf("IndexPatterns: got %q, want %q", pats, tt.wantPatterns)
		}
		matched := false
		for _, p := range pats {
			if strings.HasPrefix(c.IndexName(tt.symbol), strings.TrimSuffix(p, "*")) {
				matched = true
			}
			if strings.HasPrefix(p, ".") || p == "*" {
				t.Errorf("IndexPatterns: %q would match system indexes", p)
			}
		}
		if !matched {
			t.Errorf("IndexPatterns %q do not match index %q", pats, c.IndexName(tt.symbol))
		}
	}
}

func TestURLErrorsDoNotLeakPasswords(t *testing.T) {
	for _, raw := range []string{"https://user:s3cret pw@host:443", "https://user:s3cretpw@", "//user:s3cretpw@host"} {
		err := checkURL(raw)
		if err == nil {
			t.Errorf("%q: no error", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: error leaks the password: %v", raw, err)
		}
	}
}
