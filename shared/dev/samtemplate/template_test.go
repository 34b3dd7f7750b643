package samtemplate_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
	"github.com/finfeed/finfeed/shared/loader"
	"github.com/finfeed/finfeed/shared/provision"
)

const root = "../../.."

// officialSchemaEnv names a file holding the AWS SAM project's own schema (schema_source/sam.schema.json of
// aws/serverless-application-model). When it is set, templates are validated against it too, and the project's
// schema is compared with it; the project's schema (samschema.json) always runs.
const officialSchemaEnv = "FINFEED_SAM_SCHEMA"

var templates = []string{"template.yaml", "customer/template.yaml"}

var (
	schemaOnce   sync.Once
	schema       *samtemplate.Schema
	schemaErr    error
	officialOnce sync.Once
	official     *samtemplate.Schema
	officialErr  error
	specOnce     sync.Once
	spec         *samtemplate.Spec
	specErr      error
)

// loadSchema is the project's own schema of its SAM templates.
func loadSchema(t *testing.T) *samtemplate.Schema {
	t.Helper()
	schemaOnce.Do(func() { schema, schemaErr = samtemplate.ProjectSchema() })
	if schemaErr != nil {
		t.Fatalf("project sam schema: %v", schemaErr)
	}
	return schema
}

// loadOfficialSchema is the AWS SAM project's schema named by FINFEED_SAM_SCHEMA, or nil (logged) without it.
func loadOfficialSchema(t *testing.T) *samtemplate.Schema {
	t.Helper()
	path := os.Getenv(officialSchemaEnv)
	if path == "" {
		t.Logf("%s is not set: the project's SAM schema only, not also the AWS SAM project's", officialSchemaEnv)
		return nil
	}
	officialOnce.Do(func() { official, officialErr = samtemplate.LoadSchema(path) })
	if officialErr != nil {
		t.Fatalf("%s=%s: %v", officialSchemaEnv, path, officialErr)
	}
	return official
}

func loadSpec(t *testing.T) *samtemplate.Spec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = samtemplate.LoadSpec(filepath.Join(root, samtemplate.SpecPath)) })
	if specErr != nil {
		t.Fatalf("resource specification (make deps installs it): %v", specErr)
	}
	return spec
}

func load(t *testing.T, name string) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// check runs every static check and returns the problems, labelled by check: "schema" is the project's SAM
// schema, "sam schema" the AWS SAM project's (only with FINFEED_SAM_SCHEMA).
func check(t *testing.T, tpl *samtemplate.Template) []string {
	t.Helper()
	var out []string
	for _, e := range loadSchema(t).Validate(tpl) {
		out = append(out, "schema: "+e.Error())
	}
	if off := loadOfficialSchema(t); off != nil {
		for _, e := range off.Validate(tpl) {
			out = append(out, "sam schema: "+e.Error())
		}
	}
	sp := loadSpec(t)
	for _, e := range sp.CheckProperties(tpl) {
		out = append(out, "spec: "+e.Error())
	}
	for _, e := range tpl.CheckRefs(sp.HasAttr) {
		out = append(out, "refs: "+e.Error())
	}
	for _, e := range tpl.CheckNetwork() {
		out = append(out, "network: "+e.Error())
	}
	return out
}

func TestTemplatesPassEveryCheck(t *testing.T) {
	for _, name := range templates {
		t.Run(name, func(t *testing.T) {
			for _, p := range check(t, load(t, name)) {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatchMistakes breaks the real template in the ways that matter and wants each check to notice.
func TestChecksCatchMistakes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{
			name: "unknown MSK event property",
			old:  "            BatchSize: 2000\n", new: "            BatchSize: 2000\n            BatchSizes: 5\n",
			want: "schema: /Resources/EnrichFunction/Properties/Events/Raw/Properties: additionalProperties 'BatchSizes' not allowed",
		},
		{
			name: "unknown function property in Globals",
			old:  "    Handler: bootstrap\n", new: "    Handler: bootstrap\n    Timeot: 3\n",
			want: "schema: /Globals/Function: additionalProperties 'Timeot' not allowed",
		},
		{
			name: "MSK starting position SAM does not know",
			old:  "StartingPosition: TRIM_HORIZON\n            # Bars", new: "StartingPosition: OLDEST\n            # Bars",
			want: "schema: /Resources/EnrichFunction/Properties/Events/Raw/Properties/StartingPosition: value must be one of",
		},
		{
			name: "misspelt ScheduleV2 property",
			old:  "ScheduleExpressionTimezone: America/New_York\n            Input: '{\"run\":\"after-close\"}'", new: "ScheduleExpressionTimeZone: America/New_York\n            Input: '{\"run\":\"after-close\"}'",
			want: "schema: /Resources/PrevCloseFunction/Properties/Events/AfterClose/Properties: additionalProperties 'ScheduleExpressionTimeZone' not allowed",
		},
		{
			name: "misspelt event source type",
			old:  "AfterClose:\n          Type: ScheduleV2", new: "AfterClose:\n          Type: Schedulev2",
			want: "schema: /Resources/PrevCloseFunction/Properties/Events/AfterClose/Type: value must be one of",
		},
		{
			name: "function memory beyond Lambda's limit",
			old:  "MemorySize: 512\n      Timeout: 60", new: "MemorySize: 51200\n      Timeout: 60",
			want: "schema: /Resources/EnrichFunction/Properties/MemorySize: must be <= 10240",
		},
		{
			name: "list where SAM wants a string, in a branch of Fn::If",
			old:  "OPENSEARCH_URL: !If [CreateOpenSearch, !GetAtt SearchSetup.Url, !Ref ExistingOpenSearchUrl]", new: "OPENSEARCH_URL: !If [CreateOpenSearch, !GetAtt SearchSetup.Url, [!Ref ExistingOpenSearchUrl]]",
			want: "schema: /Resources/IndexFunction/Properties/Environment/Variables/OPENSEARCH_URL: expected string, but got array",
		},
		{
			name: "misspelt MSK cluster property",
			old:  "      NumberOfBrokerNodes: !Ref BrokerCount", new: "      NumberOfBrokers: !Ref BrokerCount",
			want: `spec: Resources.KafkaCluster.Properties: unknown property "NumberOfBrokers"`,
		},
		{
			name: "misspelt nested property",
			old:  "          ClientBroker: TLS", new: "          ClientBrokers: TLS",
			want: `spec: Resources.KafkaCluster.Properties.EncryptionInfo.EncryptionInTransit: unknown property "ClientBrokers"`,
		},
		{
			name: "missing required property",
			old:  "      KeySchema:\n        - {AttributeName: symbol, KeyType: HASH}\n        - {AttributeName: date, KeyType: RANGE}\n", new: "",
			want: `spec: Resources.PrevCloseTable.Properties: required property "KeySchema" is missing`,
		},
		{
			name: "misspelt lifecycle property of the state bucket",
			old:  "            ExpirationInDays: 14\n", new: "            ExpirationDays: 14\n",
			want: `spec: Resources.StateBucket.Properties.LifecycleConfiguration.Rules[0]: unknown property "ExpirationDays"`,
		},
		{
			name: "Ref to nothing",
			old:  "THRESHOLD_PCT: \"5\"", new: "THRESHOLD_PCT: !Ref ThresholdPct",
			want: `refs: Resources.EnrichFunction.Properties.Environment.Variables.THRESHOLD_PCT: Ref "ThresholdPct" is neither a parameter nor a resource`,
		},
		{
			name: "GetAtt of a resource that only exists under a condition",
			old:  "THRESHOLD_PCT: \"5\"", new: "THRESHOLD_PCT: !GetAtt SearchDomain.DomainEndpoint",
			want: "refs: Resources.EnrichFunction.Properties.Environment.Variables.THRESHOLD_PCT: GetAtt SearchDomain.DomainEndpoint, a resource that is not created here (condition CreateOpenSearch)",
		},
		{
			name: "Sub of an attribute the type does not have",
			old:  `Value: !Sub https://${SearchDomain.DomainEndpoint}`, new: `Value: !Sub https://${SearchDomain.Endpoint}`,
			want: `refs: Outputs.OpenSearchEndpoint.Value: GetAtt SearchDomain.Endpoint: AWS::OpenSearchService::Domain has no attribute "Endpoint"`,
		},
		{
			name: "If branch that names a resource of another condition",
			old:  "ClusterArn: !If [CreateCluster, !Ref KafkaCluster, !Ref ExistingClusterArn]\n      RawTopic", new: "ClusterArn: !If [CreateVpc, !Ref KafkaCluster, !Ref ExistingClusterArn]\n      RawTopic",
			want: `refs: Resources.KafkaSetup.Properties.ClusterArn: Ref "KafkaCluster", a resource that is not created here (condition CreateCluster)`,
		},
		{
			name: "a workload's egress open on every port",
			old:  `{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: "HTTPS only: Alpaca REST, DynamoDB, Secrets Manager"}`,
			new:  `{IpProtocol: "-1", CidrIp: 0.0.0.0/0, Description: everything}`,
			want: "network: Resources.PrevCloseSecurityGroup.Properties.SecurityGroupEgress[0]: egress of PrevCloseSecurityGroup open to 0.0.0.0/0 on every port",
		},
		{
			name: "every TCP port open in a branch of Fn::If",
			old:  "{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0, Description: the brought OpenSearch domain (its addresses are not known here)}",
			new:  "{IpProtocol: tcp, FromPort: 0, ToPort: 65535, CidrIp: 0.0.0.0/0, Description: the brought OpenSearch domain}",
			want: "network: Resources.IndexSecurityGroup.Properties.SecurityGroupEgress[1]: egress of IndexSecurityGroup open to 0.0.0.0/0 on every port (with ",
		},
		{
			name: "a group that declares no egress keeps AWS's allow-all",
			old:  "      SecurityGroupEgress: [{IpProtocol: icmp, FromPort: 252, ToPort: 86, CidrIp: 255.255.255.255/32, Description: no egress (an impossible rule replaces AWS's allow-all default)}]\n  SearchFromIndex:",
			new:  "  SearchFromIndex:",
			want: "network: Resources.SearchSecurityGroup: declares no egress, so AWS keeps its default: every port to 0.0.0.0/0",
		},
		{
			name: "one group for two workloads",
			old:  "        SecurityGroupIds: [!Ref EnrichSecurityGroup]",
			new:  "        SecurityGroupIds: [!Ref IndexSecurityGroup]",
			want: "network: Resources.IndexSecurityGroup is attached to more than one workload: EnrichFunction, IndexFunction",
		},
		{
			name: "the customer port range open to the VPC",
			old:  "      CidrIp: !If [CreateVpc, !GetAtt PrivateSubnetB.CidrBlock, !Ref ExistingPrivateSubnetCidrB]",
			new:  "      CidrIp: !Ref VpcCidr",
			want: "network: Resources.CustomerPortsFromSubnetB: ports 14001-14100 of KafkaSecurityGroup open to 10.40.0.0/16, which holds the whole VPC (10.40.0.0/16)",
		},
		{
			name: "the customer port range open to a wider range, only when the VPC is brought",
			old:  "      CidrIp: !If [CreateVpc, !GetAtt PrivateSubnetA.CidrBlock, !Ref ExistingPrivateSubnetCidrA]",
			new:  "      CidrIp: !If [CreateVpc, !GetAtt PrivateSubnetA.CidrBlock, 10.0.0.0/8]",
			want: "network: Resources.CustomerPortsFromSubnetA: ports 14001-14100 of KafkaSecurityGroup open to 10.0.0.0/8, which holds the whole VPC (10.40.0.0/16) (with ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(raw), tt.old) {
				t.Fatalf("template.yaml no longer contains %q: update this case", tt.old)
			}
			tpl, err := samtemplate.Parse([]byte(strings.Replace(string(raw), tt.old, tt.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			got := check(t, tpl)
			for _, g := range got {
				if strings.HasPrefix(g, tt.want) {
					return
				}
			}
			t.Errorf("problems found:\n%s\nwant one starting with:\n%s", strings.Join(got, "\n"), tt.want)
		})
	}
}

// TestTemplateDesign pins the decisions the issue asks for, so an edit cannot drop one silently.
func TestTemplateDesign(t *testing.T) {
	tpl := load(t, "template.yaml")
	res := func(id string) map[string]any {
		t.Helper()
		r, ok := tpl.Resources[id]
		if !ok {
			t.Fatalf("no resource %s", id)
		}
		return r.Properties
	}
	str := func(v any) string {
		t.Helper()
		s, ok, err := tpl.String(v, tpl.Defaults(), samtemplate.PlausibleFakes)
		if err != nil || !ok {
			t.Fatalf("resolve %v: %v", v, err)
		}
		return s
	}
	props := tpl.Globals["Function"].(map[string]any)
	if props["Runtime"] != "provided.al2023" || str(props["Architectures"]) != "arm64" || props["Handler"] != "bootstrap" {
		t.Errorf("Globals.Function = %v, want provided.al2023 on arm64 with handler bootstrap", props)
	}
	for _, f := range tpl.Functions() {
		if f.BuildMethod != "makefile" {
			t.Errorf("%s: BuildMethod %q, want makefile", f.LogicalID, f.BuildMethod)
		}
	}
	server := str(res("KafkaConfiguration")["ServerProperties"])
	for _, want := range []string{"auto.create.topics.enable=false", "allow.everyone.if.no.acl.found=false", "default.replication.factor=3", "min.insync.replicas=2"} {
		if !strings.Contains(server, want+"\n") {
			t.Errorf("KafkaConfiguration.ServerProperties lacks %s:\n%s", want, server)
		}
	}
	setup := res("KafkaSetup")
	groups := map[string]string{"EnrichFunction.Raw": "EnrichGroup", "IndexFunction.Enhanced": "IndexGroup", "IndexFunction.Candles": "IndexCandlesGroup"}
	for _, fn := range []string{"EnrichFunction", "IndexFunction"} {
		events := res(fn)["Events"].(map[string]any)
		for name, e := range events {
			group, ok := groups[fn+"."+name]
			if !ok {
				t.Errorf("%s.Events.%s: an event source this test does not know (which KafkaSetup group is it?)", fn, name)
				continue
			}
			p := e.(map[string]any)["Properties"].(map[string]any)
			for _, k := range []string{"BatchSize", "MaximumBatchingWindowInSeconds", "StartingPosition", "ConsumerGroupId"} {
				if _, ok := p[k]; !ok {
					t.Errorf("%s.Events.%s: %s is not set (choose it deliberately)", fn, name, k)
				}
			}
			if got, want := p["ConsumerGroupId"], setup[group]; got != want {
				t.Errorf("%s.Events.%s: ConsumerGroupId %v, but the ACLs are made for %v", fn, name, got, want)
			}
		}
	}
	table := res("PrevCloseTable")
	if table["BillingMode"] != "PAY_PER_REQUEST" || str(table["PointInTimeRecoverySpecification"].(map[string]any)["PointInTimeRecoveryEnabled"]) != "true" {
		t.Errorf("PrevCloseTable = %v, want on-demand with point-in-time recovery", table)
	}
	bucket := res("StateBucket")
	if r := tpl.Resources["StateBucket"]; r.DeletionPolicy != "Retain" {
		t.Errorf("StateBucket: DeletionPolicy %q, want Retain (docs/deploy.md teardown says why)", r.DeletionPolicy)
	}
	pab := bucket["PublicAccessBlockConfiguration"].(map[string]any)
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if str(pab[k]) != "true" {
			t.Errorf("StateBucket: %s is not true", k)
		}
	}
	if _, ok := bucket["BucketEncryption"]; !ok {
		t.Error("StateBucket: no default encryption")
	}
	rules := bucket["LifecycleConfiguration"].(map[string]any)["Rules"].([]any)
	if r := rules[0].(map[string]any); str(r["ExpirationInDays"]) != "14" || r["Prefix"] != "state/" || r["Status"] != "Enabled" {
		t.Errorf("StateBucket lifecycle = %v, want checkpoints under state/ deleted after 14 days", r)
	}
	domain := res("SearchDomain")
	if _, ok := domain["VPCOptions"]; !ok {
		t.Error("SearchDomain has no VPCOptions: it would get a public endpoint")
	}
	if str(domain["AdvancedSecurityOptions"].(map[string]any)["Enabled"]) != "true" {
		t.Error("SearchDomain: fine-grained access control is off")
	}
	for _, id := range []string{"Customer1Secret", "Customer2Secret", "Customer3Secret"} {
		p := res(id)
		if name := str(p["Name"]); !strings.HasPrefix(name, "AmazonMSK_") {
			t.Errorf("%s: name %q, MSK only associates secrets named AmazonMSK_*", id, name)
		}
		if _, ok := p["KmsKeyId"]; !ok {
			t.Errorf("%s: no customer-managed KMS key (MSK refuses the default key)", id)
		}
	}
	cust := load(t, "customer/template.yaml")
	if cust.Resources["Connection"].Type != "AWS::MSK::VpcConnection" {
		t.Error("customer template: no AWS::MSK::VpcConnection")
	}
	if _, ok := cust.Outputs["BootstrapBrokers"]; !ok {
		t.Error("customer template: no BootstrapBrokers output")
	}
}

func TestSamconfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[dev.deploy.parameters]", "[prod.deploy.parameters]", "[customer.deploy.parameters]", `capabilities = "CAPABILITY_IAM`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("samconfig.toml lacks %s", want)
		}
	}
}

// TestPrevCloseSchedules wants the loader's schedule (shared/loader.Schedules, where the times are argued) in the
// template, in New York time.
func TestPrevCloseSchedules(t *testing.T) {
	tpl := load(t, "template.yaml")
	events, _ := tpl.Resources["PrevCloseFunction"].Properties["Events"].(map[string]any)
	var got []string
	for name, e := range events {
		ev := e.(map[string]any)
		p, _ := ev["Properties"].(map[string]any)
		if ev["Type"] != "ScheduleV2" || p["ScheduleExpressionTimezone"] != loader.ScheduleTimezone {
			t.Errorf("PrevCloseFunction.Events.%s: %v in %v, want ScheduleV2 in %s", name, ev["Type"], p["ScheduleExpressionTimezone"], loader.ScheduleTimezone)
		}
		got = append(got, fmt.Sprint(p["ScheduleExpression"]))
	}
	var want []string
	for _, s := range loader.Schedules {
		want = append(want, s.Expression)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("PrevCloseFunction schedules = %v, want %v", got, want)
	}
}

// TestKafkaSetupProperties feeds the custom resource's properties, as CloudFormation would send them, to the
// provisioning function's parser: the template and the function agree on names and values.
func TestKafkaSetupProperties(t *testing.T) {
	tpl := load(t, "template.yaml")
	for _, s := range []samtemplate.Scenario{tpl.Defaults(), withCustomers(tpl.Defaults())} {
		v, _, err := tpl.Value(tpl.Resources["KafkaSetup"].Properties, s, samtemplate.PlausibleFakes)
		if err != nil {
			t.Fatal(err)
		}
		props := map[string]any{}
		for k, val := range v.(map[string]any) {
			if l, ok := val.([]string); ok { // CloudFormation sends lists as JSON arrays of strings
				items := make([]any, len(l))
				for i, e := range l {
					items[i] = e
				}
				val = items
			}
			props[k] = val
		}
		spec, target, err := provision.ParseProperties(props)
		if err != nil {
			t.Fatalf("ParseProperties(%v) = %v", props, err)
		}
		if target.ClusterArn == "" || len(spec.Topics) != 5 || spec.Topics[0].Replication != 3 {
			t.Errorf("spec %+v target %+v, want five topics with replication 3 on the cluster ARN", spec, target)
		}
		if got, want := len(spec.Customers), len(slices.DeleteFunc([]string{fmt.Sprint(s["CustomerUser1"]), fmt.Sprint(s["CustomerUser2"]), fmt.Sprint(s["CustomerUser3"])}, func(u string) bool { return u == "" })); got != want {
			t.Errorf("customers %v, want %d", spec.Customers, want)
		}
	}
}

func withCustomers(s samtemplate.Scenario) samtemplate.Scenario {
	out := samtemplate.Scenario{}
	for k, v := range s {
		out[k] = v
	}
	out["CustomerUser1"], out["CustomerUser3"] = "acme", "globex"
	return out
}

// TestMakefileSamConfig follows each `sam <command> --config-env E` of the Makefile to the samconfig.toml SAM
// reads: --config-file when absolute, otherwise that name (default samconfig.toml) in the directory of
// --template-file (SAM looks beside the template, not in the working directory), and wants the file to have
// the [E.<command>.parameters] section, for each ENV the Makefile documents.
func TestMakefileSamConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		for _, cmd := range strings.Split(line, "&&") {
			args := strings.Fields(cmd)
			if len(args) < 2 || args[0] != "sam" || !slices.Contains(args, "--config-env") {
				continue
			}
			n++
			flag := func(name string) string {
				if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
					return args[i+1]
				}
				return ""
			}
			dir := filepath.Dir(flag("--template-file")) // "." without one
			file := flag("--config-file")
			switch {
			case file == "":
				file = filepath.Join(root, dir, "samconfig.toml")
			case strings.HasPrefix(file, "$(CURDIR)/"):
				file = filepath.Join(root, strings.TrimPrefix(file, "$(CURDIR)/"))
			case filepath.IsAbs(file):
			default:
				file = filepath.Join(root, dir, file)
			}
			envs := []string{flag("--config-env")}
			if envs[0] == "$(ENV)" {
				envs = []string{"dev", "prod"}
			}
			config, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%q reads %s, which SAM cannot find: %v", strings.TrimSpace(cmd), file, err)
				continue
			}
			for _, env := range envs {
				if section := "[" + env + "." + args[1] + ".parameters]"; !strings.Contains(string(config), section) {
					t.Errorf("%q: %s has no %s", strings.TrimSpace(cmd), file, section)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no sam command with --config-env in the Makefile")
	}
}

// TestKafkaSetupRereadsBootstrapBrokers: KafkaSetup reads the cluster's bootstrap strings only when CloudFormation
// sends it a Create or Update, and CloudFormation sends an Update only when its properties change. Switching
// EnableCustomerConnectivity (docs/deploy.md: deploy with "false", then "true") updates the cluster in place, so
// KafkaSetup's properties must change with it, or CustomerBootstrapBrokers keeps the "none" read before.
func TestKafkaSetupRereadsBootstrapBrokers(t *testing.T) {
	tpl := load(t, "template.yaml")
	props := func(connectivity string) string {
		t.Helper()
		s := tpl.Defaults()
		s["EnableCustomerConnectivity"] = connectivity
		v, _, err := tpl.Value(tpl.Resources["KafkaSetup"].Properties, s, samtemplate.PlausibleFakes)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(v)
	}
	if on, off := props("true"), props("false"); on == off {
		t.Errorf("KafkaSetup has the same properties with and without customer connectivity (%s): no Update, stale CustomerBootstrapBrokers", on)
	}
}

// TestDeployDocKeepsSamconfigParameters: a --parameter-overrides on the command line replaces samconfig.toml's
// parameter_overrides for that --config-env instead of adding to it (aws/aws-sam-cli#2380), so a documented
// `sam deploy --config-env E --parameter-overrides X=Y` deploys with the template's defaults instead of E's
// values, and the next plain deploy of E then tries to change them back (MSK cannot shrink broker storage).
func TestDeployDocKeepsSamconfigParameters(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "docs/deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n")
	for _, c := range cmds {
		args := strings.Fields(c)
		i := slices.Index(args, "sam")
		if i < 0 || i+1 >= len(args) || args[i+1] != "deploy" {
			continue
		}
		if slices.Contains(args, "--config-env") && slices.Contains(args, "--parameter-overrides") {
			t.Errorf("docs/deploy.md: %q drops samconfig.toml's parameter_overrides of that environment", strings.TrimSpace(c))
		}
	}
}

// TestDeployDocConditionalOutputs: an output that exists only under a condition (BrokerAzIds only when the stack
// creates the VPC) must not be the doc's only way to a value: the paragraph of docs/deploy.md that asks for it
// names a parameter of its condition, where it says what to do otherwise.
func TestDeployDocConditionalOutputs(t *testing.T) {
	tpl := load(t, "template.yaml")
	data, err := os.ReadFile(filepath.Join(root, "docs/deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	paragraphs := strings.Split(string(data), "\n\n")
	for _, name := range slices.Sorted(maps.Keys(tpl.Outputs)) {
		out := tpl.Outputs[name]
		if out.Condition == "" {
			continue
		}
		params := map[string]bool{}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if k == "Ref" {
						if s, ok := e.(string); ok {
							params[s] = true
						}
					}
					if k == "Condition" {
						if s, ok := e.(string); ok {
							walk(tpl.Conditions[s])
						}
					}
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(tpl.Conditions[out.Condition])
		for _, p := range paragraphs {
			if !strings.Contains(p, "`"+name+"`") {
				continue
			}
			if !slices.ContainsFunc(slices.Collect(maps.Keys(params)), func(param string) bool { return strings.Contains(p, param) }) {
				t.Errorf("docs/deploy.md asks for output %s, which exists only under %s (parameters %v), and does not say what to do otherwise:\n%s", name, out.Condition, slices.Sorted(maps.Keys(params)), p)
			}
		}
	}
}

// TestDeployDocBroughtPieces: every parameter that names a piece the provider brings (Create*, Existing*, the
// Alpaca secret and its key) is in docs/deploy.md, where the doc says what it must be.
func TestDeployDocBroughtPieces(t *testing.T) {
	tpl := load(t, "template.yaml")
	data, err := os.ReadFile(filepath.Join(root, "docs/deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(tpl.Parameters)) {
		if !strings.HasPrefix(name, "Create") && !strings.HasPrefix(name, "Existing") && !strings.HasPrefix(name, "AlpacaSecret") {
			continue
		}
		if !strings.Contains(string(data), "`"+name) {
			t.Errorf("docs/deploy.md does not document parameter %s", name)
		}
	}
}

// TestRuleViolationsCatchMistakes: the rule evaluator refuses what CloudFormation refuses in a rule (a named
// condition, a Ref to no parameter) instead of passing it.
func TestRuleViolationsCatchMistakes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct{ old, new string }{
		"a Condition in a rule": {
			"RuleCondition: !And [!Equals [!Ref CreateOpenSearch, \"false\"],",
			"RuleCondition: !And [{Condition: CreateOpenSearch},"},
		"a Ref to no parameter": {
			"Assert: !Not [!Equals [!Ref ExistingOpenSearchDomainName, \"\"]]",
			"Assert: !Not [!Equals [!Ref ExistingOpenSearchDomain, \"\"]]"},
	} {
		if !strings.Contains(string(raw), tt.old) {
			t.Fatalf("%s: template.yaml no longer has %q", name, tt.old)
		}
		tpl, err := samtemplate.Parse([]byte(strings.Replace(string(raw), tt.old, tt.new, 1)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := tpl.Defaults()
		s["CreateOpenSearch"], s["ExistingOpenSearchUrl"] = "false", "https://search-x.us-east-1.es.amazonaws.com"
		if _, err := tpl.RuleViolations(s); err == nil {
			t.Errorf("%s: RuleViolations passes it", name)
		}
	}
}
