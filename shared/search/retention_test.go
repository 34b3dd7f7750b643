package search_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/search"
)

func TestPolicyDocument(t *testing.T) {
	cfg := search.Config{Alias: "bars", Layout: search.LayoutMonthly, RetentionMonths: 3}
	if got := cfg.RetentionDays(); got != 124 {
		t.Errorf("RetentionDays with 3 months: got %d, want 124 ((3+1)×31)", got)
	}
	got, err := json.Marshal(cfg.Policy())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"policy":{"default_state":"hot","description":"finfeed: delete the monthly bar indexes bars-* 124 days after their creation, so every bar is kept at least 3 months",` +
		`"ism_template":[{"index_patterns":["bars-*"],"priority":100}],` +
		`"states":[{"actions":[],"name":"hot","transitions":[{"conditions":{"min_index_age":"124d"},"state_name":"delete"}]},` +
		`{"actions":[{"delete":{}}],"name":"delete","transitions":[]}]}}`
	if string(got) != want {
		t.Errorf("policy:\ngot  %s\nwant %s", got, want)
	}
}

// setup runs Setup and fails the test on an error.
func setup(t *testing.T, c *search.Client) search.Applied {
	t.Helper()
	a, err := c.Setup(t.Context())
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return a
}

func minIndexAge(t *testing.T, policy map[string]any) string {
	t.Helper()
	states, _ := policy["states"].([]any)
	for _, st := range states {
		m := st.(map[string]any)
		for _, tr := range m["transitions"].([]any) {
			if c, ok := tr.(map[string]any)["conditions"].(map[string]any); ok {
				return fmt.Sprint(c["min_index_age"])
			}
		}
	}
	t.Fatalf("policy has no transition with conditions: %v", policy)
	return ""
}

func TestSetupCreatesRetentionPolicyOnceAndAttachesIt(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	c := newClient(t, srv, func(c *search.Config) { c.Layout = search.LayoutMonthly; c.RetentionMonths = 3 })
	if a := setup(t, c); a.Policy != search.PolicyID || a.PolicyChange != search.PolicyCreated || strings.Join(a.Patterns, ",") != "bars-*" {
		t.Errorf("first Setup: got %+v, want policy %s created for bars-*", a, search.PolicyID)
	}
	if a := setup(t, c); a.PolicyChange != search.PolicyUnchanged {
		t.Errorf("second Setup: got %q, want %q", a.PolicyChange, search.PolicyUnchanged)
	}
	policy, version := srv.Policy(search.PolicyID)
	if version != 1 {
		t.Errorf("policy version after two Setups: got %d, want 1 (written once)", version)
	}
	if got := minIndexAge(t, policy); got != "124d" {
		t.Errorf("min_index_age: got %s, want 124d", got)
	}
	if got := fmt.Sprint(policy["ism_template"]); got != "[map[index_patterns:[bars-*] priority:100]]" {
		t.Errorf("ism_template: got %s", got)
	}

	// indexes created from now on are managed by the policy
	ix := search.NewIndexer(c)
	ix.Backoff = fastBackoff
	july := time.Date(2024, 7, 31, 23, 59, 0, 0, time.UTC)
	var batch []search.Doc
	for _, ts := range []time.Time{july, july.Add(time.Minute)} {
		cfg := c.Config()
		batch = append(batch, search.Doc{Index: cfg.IndexName("AMZN", ts), ID: "AMZN|" + ts.Format(time.DateTime),
			Source: fmt.Appendf(nil, `{"symbol":"AMZN","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":%q,"indicator":"Unknown","tradingDate":"2024-07-31"}`, ts.Format(time.RFC3339))})
	}
	if res, err := ix.Bulk(t.Context(), batch); err != nil || res.Indexed != 2 {
		t.Fatalf("Bulk: got %+v, %v; want 2 indexed", res, err)
	}
	for _, index := range []string{"bars-2024.07", "bars-2024.08"} {
		if got := srv.ManagedBy(index); got != search.PolicyID {
			t.Errorf("index %s managed by %q, want %q", index, got, search.PolicyID)
		}
	}
}

func TestSetupUpdatesAChangedRetention(t *testing.T) {
	srv := searchtest.NewServer(t, searchtest.Options{})
	monthly := func(months int) func(*search.Config) {
		return func(c *search.Config) { c.Layout = search.LayoutMonthly; c.RetentionMonths = months }
	}
	steps := []struct {
		months      int
		wantChange  search.PolicyChange
		wantVersion int64
		wantAge     string
	}{
		{3, search.PolicyCreated, 1, "124d"},
		{6, search.PolicyUpdated, 2, "217d"},
		{6, search.PolicyUnchanged, 2, "217d"},
		{3, search.PolicyUpdated, 3, "124d"},
	}
	for i, s := range steps {
		a := setup(t, newClient(t, srv, monthly(s.months)))
		policy, version := srv.Policy(search.PolicyID)
		if a.PolicyChange != s.wantChange || version != s.wantVersion || minIndexAge(t, policy) != s.wantAge {
			t.Errorf("step %d (%d months): got %s, version %d, age %s; want %s, version %d, age %s",
				i+1, s.months, a.PolicyChange, version, minIndexAge(t, policy), s.wantChange, s.wantVersion, s.wantAge)
		}
	}
}

func TestSetupSurvivesAConcurrentPolicyWriter(t *testing.T) {
	tests := []struct {
		name        string
		existing    int // retention stored before, 0 for none
		wantVersion int64
	}{
		{name: "another cold start creates the policy first", wantVersion: 1},
		{name: "another cold start updates the policy first", existing: 3, wantVersion: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := searchtest.NewServer(t, searchtest.Options{})
			if tt.existing > 0 {
				setup(t, newClient(t, srv, func(c *search.Config) { c.Layout = search.LayoutMonthly; c.RetentionMonths = tt.existing }))
			}
			srv.RacePolicyWrites(1)
			a := setup(t, newClient(t, srv, func(c *search.Config) { c.Layout = search.LayoutMonthly; c.RetentionMonths = 6 }))
			policy, version := srv.Policy(search.PolicyID)
			if a.PolicyChange != search.PolicyUnchanged || version != tt.wantVersion || minIndexAge(t, policy) != "217d" {
				t.Errorf("after losing the race: got %s, version %d, age %s; want %s (the other writer stored it), version %d, age 217d",
					a.PolicyChange, version, minIndexAge(t, policy), search.PolicyUnchanged, tt.wantVersion)
			}
		})
	}
}

func TestSetupWithoutRetentionWritesNoPolicy(t *testing.T) {
	for _, mutate := range []func(*search.Config){
		func(c *search.Config) { c.Layout = search.LayoutPerSymbol },
		func(c *search.Config) { c.Layout = search.LayoutMonthly; c.RetentionMonths = 0 },
	} {
		srv := searchtest.NewServer(t, searchtest.Options{})
		a := setup(t, newClient(t, srv, mutate))
		if p, _ := srv.Policy(search.PolicyID); p != nil || a.Policy != "" || a.PolicyChange != "" {
			t.Errorf("Setup without retention: got %+v and stored policy %v, want none", a, p)
		}
	}
}
