package samtemplate_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/provision"
)

// TestSearchAccess: the domain's master user is the provision function's role, never the index function's; the
// SearchSetup custom resource (served by the provision function) maps the write-only role to the index role with
// properties the provision code accepts and that equal the index function's own index settings; the index
// function applies nothing at cold start and is created after SearchSetup (its URL is SearchSetup's Url).
func TestSearchAccess(t *testing.T) {
	tpl := load(t, "template.yaml")
	s := tpl.Defaults()
	value := func(v any) any {
		t.Helper()
		r, ok, err := tpl.Value(v, s, samtemplate.PlausibleFakes)
		if err != nil || !ok {
			t.Fatalf("resolve %v: %v", v, err)
		}
		return r
	}
	domain := tpl.Resources["SearchDomain"].Properties
	master := fmt.Sprint(value(domain["AdvancedSecurityOptions"]).(map[string]any)["MasterUserOptions"].(map[string]any)["MasterUserARN"])
	provisionARN := fmt.Sprint(value(map[string]any{"Fn::GetAtt": []any{"ProvisionRole", "Arn"}}))
	indexARN := fmt.Sprint(value(map[string]any{"Fn::GetAtt": []any{"IndexRole", "Arn"}}))
	if master != provisionARN || master == indexARN {
		t.Errorf("domain master user %s, want the provision role %s (not the index role)", master, provisionARN)
	}
	setup, ok := tpl.Resources["SearchSetup"]
	if !ok || setup.Type != provision.SearchSetupType || setup.Condition != "CreateOpenSearch" {
		t.Fatalf("SearchSetup = %+v, want a %s under CreateOpenSearch", setup, provision.SearchSetupType)
	}
	if token := fmt.Sprint(value(setup.Properties["ServiceToken"])); token != fmt.Sprint(value(map[string]any{"Fn::GetAtt": []any{"ProvisionFunction", "Arn"}})) {
		t.Errorf("SearchSetup is served by %s, want the provision function", token)
	}
	props, _ := value(setup.Properties).(map[string]any)
	// CloudFormation hands a custom resource lists as lists of strings, the rest as strings.
	if w, ok := props["WriterRoleArns"].([]string); ok {
		props["WriterRoleArns"] = []any{}
		for _, a := range w {
			props["WriterRoleArns"] = append(props["WriterRoleArns"].([]any), a)
		}
	}
	cfg, writers, err := provision.ParseSearchProperties(props)
	if err != nil {
		t.Fatalf("SearchSetup properties %v: %v", props, err)
	}
	if !slices.Equal(writers, []string{indexARN}) {
		t.Errorf("SearchSetup maps the writer role to %v, want the index role %s", writers, indexARN)
	}
	var fn samtemplate.Function
	for _, f := range tpl.Functions() {
		if f.LogicalID == "IndexFunction" {
			fn = f
		}
	}
	env := templateEnv(t, tpl, fn)
	if env["OPENSEARCH_SETUP"] != string(indexfn.SetupNone) {
		t.Errorf("IndexFunction OPENSEARCH_SETUP = %q, want %q: with the write-only role it may not apply templates", env["OPENSEARCH_SETUP"], indexfn.SetupNone)
	}
	for k, want := range map[string]string{"INDEX_ALIAS": cfg.Alias, "INDEX_PREFIX": cfg.Prefix, "OPENSEARCH_INDEX_LAYOUT": string(cfg.Layout),
		"OPENSEARCH_RETENTION_MONTHS": strconv.Itoa(cfg.RetentionMonths)} {
		if env[k] != want {
			t.Errorf("IndexFunction %s = %q, SearchSetup sets %q: the admin would set up other indexes than the function writes", k, env[k], want)
		}
	}
	if got := fmt.Sprint(env["OPENSEARCH_URL"]); got != fmt.Sprint(value(map[string]any{"Fn::GetAtt": []any{"SearchSetup", "Url"}})) {
		t.Errorf("IndexFunction OPENSEARCH_URL = %s, want SearchSetup.Url (so the function waits for the admin's setup)", got)
	}
}
