package provision_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/provision"
	"github.com/finfeed/finfeed/shared/search"
)

// TestSearchSetupResource: the SearchSetup custom resource, run as the domain's master user, applies the
// template and the retention policy and maps the write-only role to the index function's role; run as anyone
// else it fails the deploy with the reason; bad properties fail before any request; delete touches nothing.
func TestSearchSetupResource(t *testing.T) {
	const master, indexRole = "arn:aws:iam::123456789012:role/finfeed-dev-ProvisionRole-ABC", "arn:aws:iam::123456789012:role/finfeed-dev-IndexRole-DEF"
	masterCreds := aws.Credentials{AccessKeyID: "AKIDPROVISION", SecretAccessKey: "p"}
	indexCreds := aws.Credentials{AccessKeyID: "AKIDINDEX", SecretAccessKey: "i"}
	srv := searchtest.NewServer(t, searchtest.Options{TLS: true, Security: &searchtest.Security{Master: master, Principals: []searchtest.Principal{
		{ARN: master, Credentials: masterCreds}, {ARN: indexRole, Credentials: indexCreds}}}})
	handler := func(creds aws.Credentials) *provision.Handler {
		return &provision.Handler{Search: provision.SearchSetup(search.Deps{
			AWS:       aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}},
			Transport: srv.Client().Transport,
		})}
	}
	props := func(url string, writers ...any) map[string]any {
		return map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provision", "OpenSearchUrl": url,
			"IndexAlias": "bars", "IndexLayout": "monthly", "RetentionMonths": "3", "WriterRoleArns": writers}
	}
	event := func(typ cfn.RequestType, p map[string]any) cfn.Event {
		return cfn.Event{RequestType: typ, RequestID: "r-1", ResourceType: provision.SearchSetupType, LogicalResourceID: "SearchSetup",
			StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/finfeed-dev/1", ResourceProperties: p, PhysicalResourceID: "finfeed-search:" + srv.URL}
	}

	resp := handler(indexCreds).Respond(t.Context(), event(cfn.RequestCreate, props(srv.URL, indexRole)))
	if resp.Status != cfn.StatusFailed || !strings.Contains(resp.Reason, "status 403") {
		t.Errorf("as the index role: %s %q, want FAILED with the 403", resp.Status, resp.Reason)
	}
	resp = handler(masterCreds).Respond(t.Context(), event(cfn.RequestCreate, props("http://search.example.com", "not-an-arn")))
	if resp.Status != cfn.StatusFailed || !strings.Contains(resp.Reason, "https is required") || !strings.Contains(resp.Reason, "WriterRoleArns[0]") {
		t.Errorf("bad properties: %s %q, want FAILED naming both", resp.Status, resp.Reason)
	}
	for _, typ := range []cfn.RequestType{cfn.RequestCreate, cfn.RequestUpdate} {
		resp = handler(masterCreds).Respond(t.Context(), event(typ, props(srv.URL, indexRole)))
		if resp.Status != cfn.StatusSuccess || resp.PhysicalResourceID != "finfeed-search:"+srv.URL || resp.Data["Url"] != srv.URL {
			t.Fatalf("%s as the master: %+v", typ, resp)
		}
	}
	if srv.Template(search.TemplateName) == nil {
		t.Error("no index template")
	}
	if p, _ := srv.Policy(search.PolicyID); p == nil {
		t.Error("no retention policy")
	}
	if !strings.Contains(string(srv.RoleMapping(search.WriterRole)), indexRole) {
		t.Errorf("writer role mapping %s, want %s", srv.RoleMapping(search.WriterRole), indexRole)
	}
	resp = (&provision.Handler{}).Respond(t.Context(), event(cfn.RequestDelete, props(srv.URL, indexRole)))
	if resp.Status != cfn.StatusSuccess {
		t.Errorf("delete: %+v", resp)
	}
}
