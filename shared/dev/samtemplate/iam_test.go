package samtemplate_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
)

// grant is one Allow statement of a role, resolved for a scenario.
type grant struct {
	actions, resources []string
	from               string         // where it comes from: the inline policy or the managed policy
	condition          map[string]any // the statement's Condition, resolved
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
	"ProvisionRole": slices.Concat(vpcAccess, writeLogs, []string{"es:ESHttpGet", "es:ESHttpPut", "kafka:GetBootstrapBrokers", "kafka-cluster:Connect",
		"kafka-cluster:DescribeCluster", "kafka-cluster:AlterCluster", "kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic",
		"kafka-cluster:AlterTopic", "kafka-cluster:DeleteTopic", "kafka-cluster:DescribeTopicDynamicConfiguration",
		"kafka-cluster:AlterTopicDynamicConfiguration"}),
	"EnrichRole": slices.Concat(vpcAccess, writeLogs, mskPollers, esmReads, produce, []string{"dynamodb:Query", "dynamodb:BatchGetItem"},
		[]string{"s3:GetObject", "s3:PutObject", "s3:ListBucket"}),
	"IndexRole":             slices.Concat(vpcAccess, writeLogs, mskPollers, esmReads, produce, []string{"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"}),
	"PrevCloseRole":         slices.Concat(vpcAccess, writeLogs, []string{"dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "secretsmanager:GetSecretValue", "kms:Decrypt"}),
	"IngesterTaskRole":      slices.Concat(produce, []string{"secretsmanager:GetSecretValue", "kms:Decrypt"}),
	"IngesterExecutionRole": slices.Concat(writeLogs, []string{"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}),
}

// stateObjects are the enrich function's checkpoint objects (shared/state.S3Prefix in the stack's bucket), and
// stateBucket the bucket itself, which s3:ListBucket may name only with a condition on that prefix.
var (
	stateObjects = regexp.MustCompile(`^arn:aws:s3:::[a-z0-9.-]+/state/v1/\*$`)
	stateBucket  = regexp.MustCompile(`^arn:aws:s3:::[a-z0-9.-]+$`)
)

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
			// A statement may itself be conditional (!If [Cond, {statement}, !Ref AWS::NoValue]).
			v, ok, err := tpl.Value(st, s, samtemplate.PlausibleFakes)
			if err != nil {
				t.Fatalf("%s: resolve statement %v: %v", id, st, err)
			}
			if !ok {
				continue
			}
			sm, _ := v.(map[string]any)
			if sm == nil {
				t.Fatalf("%s: statement %v is not an object", id, st)
			}
			if sm["Effect"] != "Allow" {
				continue
			}
			g := grant{actions: resolve(sm["Action"]), resources: resolve(sm["Resource"]), from: fmt.Sprint(pm["PolicyName"])}
			if c, ok, err := tpl.Value(sm["Condition"], s, samtemplate.PlausibleFakes); err != nil {
				t.Fatalf("%s: resolve condition %v: %v", id, sm["Condition"], err)
			} else if ok {
				g.condition, _ = c.(map[string]any)
			}
			out = append(out, g)
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
	theirKey := maps.Clone(own)
	theirKey["AlpacaSecretKmsKeyArn"] = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	scenarios["brought secret under its own key"] = theirKey
	theirSearch := tpl.Defaults()
	theirSearch["CreateOpenSearch"], theirSearch["ExistingOpenSearchUrl"] = "false", "https://search-their-search-abc123.us-east-1.es.amazonaws.com"
	theirSearch["ExistingOpenSearchDomainName"] = "their-search"
	scenarios["brought search domain"] = theirSearch
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
						if a == "s3:ListBucket" && !listsStatePrefixOnly(g.condition) {
							t.Errorf("%s (%s) grants s3:ListBucket without the condition s3:prefix like state/v1/*: %v", id, g.from, g.condition)
						}
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
	case action == "s3:GetObject" || action == "s3:PutObject":
		if !stateObjects.MatchString(resource) {
			return "want the state checkpoints (<bucket>/state/v1/*), not the bucket or every bucket"
		}
	case action == "s3:ListBucket":
		if !stateBucket.MatchString(resource) {
			return "want the state bucket itself"
		}
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
		{"s3:GetObject", "arn:aws:s3:::finfeed-state/*"},
		{"s3:PutObject", "arn:aws:s3:::*/state/v1/*"},
		{"s3:ListBucket", "arn:aws:s3:::*"},
	} {
		if resourceProblem(tt.action, tt.resource) == "" {
			t.Errorf("%s on %s passes, want it refused", tt.action, tt.resource)
		}
	}
	for _, tt := range []struct{ action, resource string }{
		{"ec2:CreateNetworkInterface", "*"},
		{"es:ESHttpPost", "arn:aws:es:us-east-1:123456789012:domain/finfeed-dev/*"},
		{"kafka-cluster:ReadData", "arn:aws:kafka:us-east-1:123456789012:topic/finfeed-dev/0000-1/raw"},
		{"s3:PutObject", "arn:aws:s3:::finfeed-dev-statebucket-1x2y/state/v1/*"},
		{"s3:ListBucket", "arn:aws:s3:::finfeed-dev-statebucket-1x2y"},
	} {
		if p := resourceProblem(tt.action, tt.resource); p != "" {
			t.Errorf("%s on %s refused (%s), want it accepted", tt.action, tt.resource, p)
		}
	}
	for _, c := range []struct {
		cond map[string]any
		ok   bool
	}{
		{map[string]any{"StringLike": map[string]any{"s3:prefix": "state/v1/*"}}, true},
		{map[string]any{"StringLike": map[string]any{"s3:prefix": []any{"state/v1/*"}}}, true},
		{map[string]any{"StringLike": map[string]any{"s3:prefix": "*"}}, false},
		{nil, false},
	} {
		if got := listsStatePrefixOnly(c.cond); got != c.ok {
			t.Errorf("ListBucket condition %v: accepted %v, want %v", c.cond, got, c.ok)
		}
	}
	if got := slices.Sorted(maps.Keys(allowedActions)); len(got) == 0 {
		t.Fatal("allowedActions is empty")
	}
}

// TestBroughtSearchDomainIsNamed: the index role may call only the domain it indexes into. A domain the provider
// brings is known to the template by its URL only, so ExistingOpenSearchDomainName names it, a Rule refuses a
// brought URL without it, and the grant is that domain's paths, never domain/* (every domain in the account).
func TestBroughtSearchDomainIsNamed(t *testing.T) {
	tpl := load(t, "template.yaml")
	const url = "https://search-their-search-abc123.us-east-1.es.amazonaws.com"
	brought := func(name string) samtemplate.Scenario {
		s := tpl.Defaults()
		s["CreateOpenSearch"], s["ExistingOpenSearchUrl"], s["ExistingOpenSearchDomainName"] = "false", url, name
		return s
	}
	noIndex := tpl.Defaults()
	noIndex["CreateOpenSearch"] = "false"
	for _, tt := range []struct {
		name    string
		s       samtemplate.Scenario
		refused bool
	}{
		{"defaults", tpl.Defaults(), false},
		{"no index function", noIndex, false},
		{"brought domain, named", brought("their-search"), false},
		{"brought domain, not named", brought(""), true},
	} {
		violations, err := tpl.RuleViolations(tt.s)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := len(violations) > 0; got != tt.refused {
			t.Errorf("%s: rules refuse it = %v (%v), want %v", tt.name, got, violations, tt.refused)
		}
	}
	// Every scenario the other checks enumerate evaluates (the rules use only what CloudFormation allows there).
	for _, s := range tpl.Scenarios() {
		if _, err := tpl.RuleViolations(s); err != nil {
			t.Fatalf("%v: %v", s, err)
		}
	}
	var es []string
	for _, g := range roleGrants(t, tpl, "IndexRole", brought("their-search")) {
		if slices.ContainsFunc(g.actions, func(a string) bool { return strings.HasPrefix(a, "es:") }) {
			es = append(es, g.resources...)
		}
	}
	if want := []string{"arn:aws:es:us-east-1:123456789012:domain/their-search/*"}; !slices.Equal(es, want) {
		t.Errorf("IndexRole grants es:* on %v with a brought domain, want %v", es, want)
	}
}

// TestBroughtSecretKey: a brought Alpaca secret encrypted with a customer-managed key is readable only with
// kms:Decrypt on that key. With AlpacaSecretKmsKeyArn, every role that reads the secret may decrypt with exactly
// that key, through Secrets Manager only; without it (or with the stack's own secret) no role has any kms action.
func TestBroughtSecretKey(t *testing.T) {
	tpl := load(t, "template.yaml")
	const secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:alpaca-XyZ"
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	base := tpl.Defaults()
	base["AlpacaSecretArn"] = secret
	base["IngesterImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/finfeed-ingester:v1"
	withKey := maps.Clone(base)
	withKey["AlpacaSecretKmsKeyArn"] = key
	ownSecret := maps.Clone(base)
	ownSecret["AlpacaSecretArn"] = ""
	ownSecretWithKey := maps.Clone(withKey)
	ownSecretWithKey["AlpacaSecretArn"] = ""
	for name, tt := range map[string]struct {
		s       samtemplate.Scenario
		wantKey bool
	}{
		"brought secret, its key":   {withKey, true},
		"brought secret, no key":    {base, false},
		"the stack's secret":        {ownSecret, false},
		"the stack's secret, a key": {ownSecretWithKey, false},
	} {
		t.Run(name, func(t *testing.T) {
			readers := 0
			for _, id := range tpl.ResourceIDs() {
				if tpl.Resources[id].Type != "AWS::IAM::Role" {
					continue
				}
				if active, err := tpl.Active(id, tt.s); err != nil || !active {
					continue
				}
				reads, decrypts := false, false
				for _, g := range roleGrants(t, tpl, id, tt.s) {
					if slices.Contains(g.actions, "secretsmanager:GetSecretValue") {
						reads = true
					}
					for _, a := range g.actions {
						if !strings.HasPrefix(a, "kms:") {
							continue
						}
						if !tt.wantKey {
							t.Errorf("%s grants %s on %v: no key was given", id, a, g.resources)
							continue
						}
						if a != "kms:Decrypt" || !slices.Equal(g.resources, []string{key}) {
							t.Errorf("%s grants %s on %v, want kms:Decrypt on %s only", id, a, g.resources, key)
						}
						via, _ := g.condition["StringEquals"].(map[string]any)
						if via["kms:ViaService"] != "secretsmanager.us-east-1.amazonaws.com" {
							t.Errorf("%s grants %s without kms:ViaService=secretsmanager (condition %v)", id, a, g.condition)
						}
						decrypts = true
					}
				}
				if reads {
					readers++
				}
				if tt.wantKey && reads != decrypts {
					t.Errorf("%s: reads the secret %v, may decrypt with its key %v", id, reads, decrypts)
				}
			}
			if readers < 2 {
				t.Errorf("%d roles read the Alpaca secret, want the loader's and the ingester's", readers)
			}
		})
	}
}

// listsStatePrefixOnly reports whether a ListBucket statement's condition limits it to the state prefix.
func listsStatePrefixOnly(cond map[string]any) bool {
	like, _ := cond["StringLike"].(map[string]any)
	switch p := like["s3:prefix"].(type) {
	case string:
		return p == "state/v1/*"
	case []any:
		return len(p) == 1 && p[0] == "state/v1/*"
	}
	return false
}
