package samtemplate_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/samtemplate"
)

// grant is one Allow statement of a role, resolved for a scenario.
type grant struct {
	actions, resources []string
	from               string // where it comes from: the inline policy or the managed policy
}

// managedPolicies are the statements of the AWS managed policies a role may attach (as AWS publishes them), so
// the checks below see what a managed policy really grants.
var managedPolicies = map[string][]grant{
	"service-role/AWSLambdaVPCAccessExecutionRole": {{
		actions: []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
			"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
			"ec2:UnassignPrivateIpAddresses"},
		resources: []string{"*"},
	}},
	"service-role/AWSLambdaBasicExecutionRole": {{
		actions:   []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
		resources: []string{"*"},
	}},
	"service-role/AmazonECSTaskExecutionRolePolicy": {{
		actions: []string{"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
			"ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"},
		resources: []string{"*"},
	}},
}

// onAnyResource are the actions IAM cannot scope to a resource (or, for ECR, whose repository is the IngesterImage
// parameter, any registry): the only ones allowed on "*".
var onAnyResource = map[string]bool{
	"ec2:CreateNetworkInterface": true, "ec2:DescribeNetworkInterfaces": true, "ec2:DescribeSubnets": true,
	"ec2:DeleteNetworkInterface": true, "ec2:AssignPrivateIpAddresses": true, "ec2:UnassignPrivateIpAddresses": true,
	"ec2:DescribeVpcs": true, "ec2:DescribeSecurityGroups": true,
	"ecr:GetAuthorizationToken": true, "ecr:BatchCheckLayerAvailability": true, "ecr:GetDownloadUrlForLayer": true,
	"ecr:BatchGetImage": true,
}

var (
	vpcAccess  = []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
	mskPollers = []string{"ec2:DescribeVpcs", "ec2:DescribeSecurityGroups", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"}
	writeLogs  = []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	esmReads   = []string{"kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"}
	produce    = []string{"kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"}
)

// allowedActions is, per role, every action its code and its event sources use (what the function calls:
// shared/provision GetBootstrapBrokers and kadm's topic and ACL requests; prevclose.DynamoDB Query and
// BatchWriteItem; the MSK event source's documented needs). A role may grant fewer, never more.
var allowedActions = map[string][]string{
	"ProvisionRole": slices.Concat(vpcAccess, writeLogs, []string{"kafka:GetBootstrapBrokers", "kafka-cluster:Connect",
		"kafka-cluster:DescribeCluster", "kafka-cluster:AlterCluster", "kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic",
		"kafka-cluster:AlterTopic", "kafka-cluster:DeleteTopic", "kafka-cluster:DescribeTopicDynamicConfiguration",
		"kafka-cluster:AlterTopicDynamicConfiguration"}),
	"EnrichRole":            slices.Concat(vpcAccess, writeLogs, mskPollers, esmReads, produce, []string{"dynamodb:Query"}),
	"IndexRole":             slices.Concat(vpcAccess, writeLogs, mskPollers, esmReads, produce, []string{"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"}),
	"PrevCloseRole":         slices.Concat(writeLogs, []string{"dynamodb:Query", "dynamodb:BatchWriteItem", "secretsmanager:GetSecretValue"}),
	"IngesterTaskRole":      slices.Concat(produce, []string{"secretsmanager:GetSecretValue"}),
	"IngesterExecutionRole": slices.Concat(writeLogs, []string{"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}),
}

// namedDomain is an OpenSearch resource of one named domain (its paths), not of every domain in the account.
var namedDomain = regexp.MustCompile(`^arn:aws:es:[a-z0-9-]+:\d{12}:domain/[a-z0-9-]+/\*$`)

// roleGrants resolves every Allow statement of a role, inline and managed, for scenario s.
func roleGrants(t *testing.T, tpl *samtemplate.Template, id string, s samtemplate.Scenario) []grant {
	t.Helper()
	p := tpl.Resources[id].Properties
	resolve := func(v any) []string {
		t.Helper()
		r, ok, err := tpl.Value(v, s, samtemplate.PlausibleFakes)
		if err != nil {
			t.Fatalf("%s: resolve %v: %v", id, v, err)
		}
		if !ok {
			return nil
		}
		return strs(r)
	}
	var out []grant
	for _, arn := range resolve(p["ManagedPolicyArns"]) {
		name := strings.TrimPrefix(arn, "arn:aws:iam::aws:policy/")
		gs, ok := managedPolicies[name]
		if !ok {
			t.Errorf("%s attaches %s: add what it grants to managedPolicies", id, arn)
		}
		for _, g := range gs {
			g.from = name
			out = append(out, g)
		}
	}
	policies, _ := p["Policies"].([]any)
	for _, pol := range policies {
		pm, _ := pol.(map[string]any)
		doc, _ := pm["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, st := range stmts {
			sm, _ := st.(map[string]any)
			if sm["Effect"] != "Allow" {
				continue
			}
			out = append(out, grant{actions: resolve(sm["Action"]), resources: resolve(sm["Resource"]), from: fmt.Sprint(pm["PolicyName"])})
		}
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	}
	return nil
}

// TestLeastPrivilege checks every IAM role of the template: it grants only actions its code or event source
// uses, and each on the resources it uses — the one table, the named topics and groups, the stack's domain and
// log groups — never "*" except for the few actions IAM cannot scope.
func TestLeastPrivilege(t *testing.T) {
	tpl := load(t, "template.yaml")
	scenarios := map[string]samtemplate.Scenario{"defaults": tpl.Defaults(), "with customers": withCustomers(tpl.Defaults())}
	own := tpl.Defaults()
	own["CreateCluster"], own["ExistingClusterArn"] = "false", "arn:aws:kafka:us-east-1:123456789012:cluster/theirs/5e2b-7"
	own["CreateTable"], own["ExistingTableName"] = "false", "their-closes"
	own["AlpacaSecretArn"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:alpaca-XyZ"
	own["IngesterImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/finfeed-ingester:v1"
	scenarios["brought cluster, table and secret"] = own
	for name, s := range scenarios {
		t.Run(name, func(t *testing.T) {
			roles := 0
			for _, id := range tpl.ResourceIDs() {
				if tpl.Resources[id].Type != "AWS::IAM::Role" {
					continue
				}
				if active, err := tpl.Active(id, s); err != nil || !active {
					continue
				}
				roles++
				allowed, ok := allowedActions[id]
				if !ok {
					t.Errorf("%s: a role this test does not know: add what its code uses to allowedActions", id)
					continue
				}
				for _, g := range roleGrants(t, tpl, id, s) {
					for _, a := range g.actions {
						if !slices.Contains(allowed, a) {
							t.Errorf("%s (%s) grants %s, which nothing of it uses", id, g.from, a)
						}
						for _, r := range g.resources {
							if problem := resourceProblem(a, r); problem != "" {
								t.Errorf("%s (%s) grants %s on %s: %s", id, g.from, a, r, problem)
							}
						}
					}
				}
			}
			if roles == 0 {
				t.Fatal("no AWS::IAM::Role in template.yaml")
			}
		})
	}
}

// resourceProblem says what is too wide about granting action on resource, or "".
func resourceProblem(action, resource string) string {
	switch {
	case onAnyResource[action]:
		return ""
	case resource == "*":
		return "every resource in the account"
	case strings.HasPrefix(action, "es:"):
		if !namedDomain.MatchString(resource) {
			return "want the stack's domain (domain/<name>/*), not every domain"
		}
	case strings.Contains(resource, "*"):
		return "a wildcard: name the topic, group, table, secret or log group"
	}
	return ""
}

func TestLeastPrivilegeCatchesWideGrants(t *testing.T) {
	for _, tt := range []struct{ action, resource string }{
		{"logs:PutLogEvents", "*"},
		{"es:ESHttpPost", "arn:aws:es:us-east-1:123456789012:domain/*"},
		{"kafka-cluster:DeleteTopic", "arn:aws:kafka:us-east-1:123456789012:topic/finfeed-dev/0000-1/*"},
		{"dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/*"},
	} {
		if resourceProblem(tt.action, tt.resource) == "" {
			t.Errorf("%s on %s passes, want it refused", tt.action, tt.resource)
		}
	}
	for _, tt := range []struct{ action, resource string }{
		{"ec2:CreateNetworkInterface", "*"},
		{"es:ESHttpPost", "arn:aws:es:us-east-1:123456789012:domain/finfeed-dev/*"},
		{"kafka-cluster:ReadData", "arn:aws:kafka:us-east-1:123456789012:topic/finfeed-dev/0000-1/raw"},
	} {
		if p := resourceProblem(tt.action, tt.resource); p != "" {
			t.Errorf("%s on %s refused (%s), want it accepted", tt.action, tt.resource, p)
		}
	}
	if got := slices.Sorted(maps.Keys(allowedActions)); len(got) == 0 {
		t.Fatal("allowedActions is empty")
	}
}
