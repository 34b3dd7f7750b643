package search

import (
	"strings"
	"testing"
	"time"
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
				DashboardsURL: "https://vpc-x.us-east-1.es.amazonaws.com/_dashboards", Layout: LayoutMonthly, RetentionMonths: 3},
		},
		{
			name: "per-symbol layout keeps everything",
			env:  map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_INDEX_LAYOUT": " Per-Symbol "},
			want: Config{URL: "https://search.example", Auth: AuthSigV4, Service: "es", Alias: "bars",
				DashboardsURL: "https://search.example/_dashboards", Layout: LayoutPerSymbol},
		},
		{
			name: "monthly with a retention and a prefix",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_RETENTION_MONTHS": "13",
				"INDEX_PREFIX": "finfeed-", "INDEX_ALIAS": "all"},
			want: Config{URL: "https://search.example", Auth: AuthSigV4, Service: "es", Prefix: "finfeed-", Alias: "all",
				DashboardsURL: "https://search.example/_dashboards", Layout: LayoutMonthly, RetentionMonths: 13},
		},
		{
			name: "serverless has no ism, so no retention by default",
			env:  map[string]string{"OPENSEARCH_URL": "https://x.us-east-1.aoss.amazonaws.com", "OPENSEARCH_SERVICE": "aoss"},
			want: Config{URL: "https://x.us-east-1.aoss.amazonaws.com", Auth: AuthSigV4, Service: "aoss", Alias: "bars",
				DashboardsURL: "https://x.us-east-1.aoss.amazonaws.com/_dashboards", Layout: LayoutMonthly},
		},
		{
			name: "layout and retention problems together",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_INDEX_LAYOUT": "daily",
				"OPENSEARCH_RETENTION_MONTHS": "three"},
			wantErr: []string{`OPENSEARCH_INDEX_LAYOUT: "daily"`, `OPENSEARCH_RETENTION_MONTHS: "three" is not a whole number`},
		},
		{
			name:    "negative retention",
			env:     map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_RETENTION_MONTHS": "-1"},
			wantErr: []string{"OPENSEARCH_RETENTION_MONTHS: -1 is not between 0"},
		},
		{
			name: "retention with the per-symbol layout",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_INDEX_LAYOUT": "per-symbol",
				"OPENSEARCH_RETENTION_MONTHS": "6"},
			wantErr: []string{"a symbol's index holds its whole history"},
		},
		{
			name: "retention on serverless",
			env: map[string]string{"OPENSEARCH_URL": "https://x.us-east-1.aoss.amazonaws.com", "OPENSEARCH_SERVICE": "aoss",
				"OPENSEARCH_RETENTION_MONTHS": "6"},
			wantErr: []string{"has no Index State Management"},
		},
		{
			name: "basic from a secret with prefix",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "OPENSEARCH_AUTH": "BASIC",
				"OPENSEARCH_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:os", "INDEX_PREFIX": "bars-", "INDEX_ALIAS": "all-bars"},
			want: Config{URL: "https://search.example", Auth: AuthBasic, SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:os",
				Service: "es", Prefix: "bars-", Alias: "all-bars", DashboardsURL: "https://search.example/_dashboards",
				Layout: LayoutMonthly, RetentionMonths: 3},
		},
		{
			name: "plain http on loopback",
			env:  map[string]string{"OPENSEARCH_URL": "http://127.0.0.1:9200", "OPENSEARCH_AUTH": "none"},
			want: Config{URL: "http://127.0.0.1:9200", Auth: AuthNone, Service: "es", Alias: "bars", DashboardsURL: "http://127.0.0.1:9200/_dashboards",
				Layout: LayoutMonthly, RetentionMonths: 3},
		},
		{
			name:    "everything wrong at once",
			env:     map[string]string{"OPENSEARCH_AUTH": "token", "INDEX_PREFIX": "Bars", "INDEX_ALIAS": "_x"},
			wantErr: []string{"OPENSEARCH_URL: required", `OPENSEARCH_AUTH: "token"`, "INDEX_PREFIX", "INDEX_ALIAS"},
		},
		{
			name: "plain http to the docker host (sam local invoke)",
			env: map[string]string{"OPENSEARCH_URL": "http://host.docker.internal:9200", "OPENSEARCH_AUTH": "basic",
				"OPENSEARCH_USERNAME": "admin", "OPENSEARCH_PASSWORD": "pw"},
			want: Config{URL: "http://host.docker.internal:9200", Auth: AuthBasic, Username: "admin", Password: "pw", Service: "es",
				Alias: "bars", DashboardsURL: "http://host.docker.internal:9200/_dashboards", Layout: LayoutMonthly, RetentionMonths: 3},
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
			name: "alias inside the prefix space of per-symbol indexes",
			env: map[string]string{"OPENSEARCH_URL": "https://search.example", "INDEX_PREFIX": "bars", "INDEX_ALIAS": "barsall",
				"OPENSEARCH_INDEX_LAYOUT": "per-symbol"},
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
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		cfg          Config
		symbol       string
		start        time.Time
		wantIndex    string
		wantPatterns []string
	}{
		{name: "per symbol", cfg: Config{Alias: "bars", Layout: LayoutPerSymbol}, symbol: "AMZN",
			start: time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC), wantIndex: "amzn"},
		{name: "per symbol with a prefix", cfg: Config{Prefix: "bars-", Alias: "bars", Layout: LayoutPerSymbol}, symbol: "BRK.B",
			start: time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC), wantIndex: "bars-brk.b", wantPatterns: []string{"bars-*"}},
		{name: "monthly is the zero layout", cfg: Config{Alias: "bars"}, symbol: "AMZN",
			start: time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC), wantIndex: "bars-2024.07", wantPatterns: []string{"bars-*"}},
		{name: "last minute of a month", cfg: Config{Alias: "bars", Layout: LayoutMonthly}, symbol: "AMZN",
			start: time.Date(2024, 7, 31, 23, 59, 0, 0, time.UTC), wantIndex: "bars-2024.07"},
		{name: "first minute of a month", cfg: Config{Alias: "bars", Layout: LayoutMonthly}, symbol: "AMZN",
			start: time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC), wantIndex: "bars-2024.08"},
		{name: "the UTC month, not New York's", cfg: Config{Alias: "bars", Layout: LayoutMonthly}, symbol: "TSLA",
			start: time.Date(2024, 12, 31, 19, 30, 0, 0, ny), wantIndex: "bars-2025.01"},
		{name: "monthly with a prefix and alias", cfg: Config{Prefix: "finfeed-", Alias: "all", Layout: LayoutMonthly}, symbol: "JPM",
			start: time.Date(2024, 10, 30, 13, 30, 0, 0, time.UTC), wantIndex: "finfeed-all-2024.10", wantPatterns: []string{"finfeed-all-*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			if got := c.IndexName(tt.symbol, tt.start); got != tt.wantIndex {
				t.Errorf("IndexName(%q, %s): got %q, want %q", tt.symbol, tt.start, got, tt.wantIndex)
			}
			pats := c.IndexPatterns()
			if tt.wantPatterns != nil && strings.Join(pats, ",") != strings.Join(tt.wantPatterns, ",") {
				t.Errorf("IndexPatterns: got %q, want %q", pats, tt.wantPatterns)
			}
			matched := false
			for _, p := range pats {
				if strings.HasPrefix(tt.wantIndex, strings.TrimSuffix(p, "*")) {
					matched = true
				}
				if strings.HasPrefix(p, ".") || p == "*" {
					t.Errorf("IndexPatterns: %q would match system indexes", p)
				}
				if c.layout() == LayoutMonthly && strings.HasPrefix(c.Alias, strings.TrimSuffix(p, "*")) {
					t.Errorf("IndexPatterns: %q matches the alias %q", p, c.Alias)
				}
			}
			if !matched {
				t.Errorf("IndexPatterns %q do not match index %q", pats, tt.wantIndex)
			}
		})
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
