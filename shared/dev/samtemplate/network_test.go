package samtemplate_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
)

// networkScenarios are the deployments the per-workload network test walks: everything created, and each piece
// brought by the provider.
func networkScenarios(tpl *samtemplate.Template) map[string]samtemplate.Scenario {
	base := tpl.Defaults()
	base["IngesterImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/finfeed-ingester:v1"
	base["EnableCustomerConnectivity"] = "true"
	out := map[string]samtemplate.Scenario{"everything created": base}
	prefix := maps.Clone(base)
	prefix["DynamoDbPrefixListId"], prefix["S3PrefixListId"] = "pl-02cd2c6b", "pl-63a5400a"
	out["gateway prefix lists"] = prefix
	vpc := maps.Clone(base)
	vpc["CreateVpc"], vpc["ExistingVpcId"] = "false", "vpc-0abc"
	vpc["ExistingPrivateSubnetIds"] = []string{"subnet-a", "subnet-b"}
	vpc["ExistingPrivateSubnetCidrA"], vpc["ExistingPrivateSubnetCidrB"] = "10.40.8.0/22", "10.40.12.0/22"
	out["brought VPC"] = vpc
	cluster := maps.Clone(base)
	cluster["CreateCluster"], cluster["ExistingClusterArn"] = "false", "arn:aws:kafka:us-east-1:123456789012:cluster/theirs/5e2b-7"
	out["brought cluster"] = cluster
	search := maps.Clone(base)
	search["CreateOpenSearch"], search["ExistingOpenSearchUrl"] = "false", "https://search-their-search-abc123.us-east-1.es.amazonaws.com"
	search["ExistingOpenSearchDomainName"] = "their-search"
	out["brought search domain"] = search
	return out
}

// TestSecurityGroupsPerWorkload pins what each workload may reach: HTTPS to the internet only for the workloads
// that call Alpaca or AWS APIs through the NAT (the enrich function only while the gateway prefix lists are not given,
// the index function only for a brought domain, whose addresses are unknown), Kafka's port only to the brokers,
// ingress on the brokers, the domain and the endpoints only from named groups, and the customer ports only from
// the broker subnets.
func TestSecurityGroupsPerWorkload(t *testing.T) {
	tpl := load(t, "template.yaml")
	for name, s := range networkScenarios(tpl) {
		t.Run(name, func(t *testing.T) {
			groups, err := tpl.SecurityGroups(s)
			if err != nil {
				t.Fatal(err)
			}
			internet := map[string]bool{"IngesterService": true, "PrevCloseFunction": true, "ProvisionFunction": true,
				"EnrichFunction": s["DynamoDbPrefixListId"] == "" || s["S3PrefixListId"] == "", "IndexFunction": s["CreateOpenSearch"] == "false",
				// the event source pollers reach Lambda and STS by whatever route a brought VPC has
				"KafkaCluster": s["CreateVpc"] == "false"}
			byID := map[string]samtemplate.SecurityGroup{}
			workloads := map[string]bool{}
			for _, g := range groups {
				byID[g.ID] = g
				for _, w := range g.Workloads {
					if workloads[w] {
						t.Errorf("%s has more than one group", w)
					}
					workloads[w] = true
				}
				for _, r := range g.Egress {
					from, to := fmt.Sprint(r.Props["FromPort"]), fmt.Sprint(r.Props["ToPort"])
					switch {
					case samtemplate.Anywhere(r.Props):
						if from != "443" || to != "443" || r.Props["IpProtocol"] != "tcp" {
							t.Errorf("%s: %s egress to the internet on %v %s-%s, want tcp 443 only", r.Place, g.ID, r.Props["IpProtocol"], from, to)
						}
						if len(g.Workloads) != 1 || !internet[g.Workloads[0]] {
							t.Errorf("%s: %s (%v) may reach the internet on 443; nothing of it needs to", r.Place, g.ID, g.Workloads)
						}
					case from == "9098":
						dest := fmt.Sprint(r.Props["DestinationSecurityGroupId"])
						if s["CreateCluster"] == "true" && dest != "ref:KafkaSecurityGroup" {
							t.Errorf("%s: Kafka egress of %s to %v, want the brokers' group", r.Place, g.ID, r.Props)
						}
						if s["CreateCluster"] == "false" && r.Props["CidrIp"] != s["VpcCidr"] {
							t.Errorf("%s: Kafka egress of %s to %v, want the VPC (a brought cluster's group is unknown)", r.Place, g.ID, r.Props)
						}
					}
				}
			}
			for _, w := range []string{"IngesterService", "EnrichFunction", "IndexFunction", "PrevCloseFunction", "ProvisionFunction"} {
				if !workloads[w] {
					t.Errorf("%s has no security group of its own", w)
				}
			}
			if s["CreateCluster"] == "true" && !workloads["KafkaCluster"] {
				t.Error("the MSK cluster has no security group")
			}
			if s["CreateOpenSearch"] == "true" && !workloads["SearchDomain"] {
				t.Error("the OpenSearch domain has no security group")
			}
			wantFrom := map[string][]string{
				"KafkaSecurityGroup":    {"EnrichSecurityGroup", "IndexSecurityGroup", "IngesterSecurityGroup", "KafkaSecurityGroup", "ProvisionSecurityGroup"},
				"SearchSecurityGroup":   {"IndexSecurityGroup", "ProvisionSecurityGroup"},
				"EndpointSecurityGroup": {"IngesterSecurityGroup", "KafkaSecurityGroup", "PrevCloseSecurityGroup"},
			}
			if s["CreateCluster"] == "false" { // a brought cluster's pollers have the provider's group (docs/deploy.md)
				wantFrom["EndpointSecurityGroup"] = []string{"IngesterSecurityGroup", "PrevCloseSecurityGroup"}
			}
			for id, want := range wantFrom {
				g, ok := byID[id]
				if !ok {
					continue
				}
				var from []string
				for _, r := range g.Ingress {
					src, isGroup := r.Props["SourceSecurityGroupId"].(string)
					switch {
					case isGroup:
						from = append(from, strings.TrimPrefix(src, "ref:"))
					case id == "KafkaSecurityGroup" && fmt.Sprint(r.Props["FromPort"]) == "14001" && fmt.Sprint(r.Props["ToPort"]) == "14100":
						cidr := fmt.Sprint(r.Props["CidrIp"])
						subnets := []string{"getatt:PrivateSubnetA.CidrBlock", "getatt:PrivateSubnetB.CidrBlock"}
						if s["CreateVpc"] == "false" {
							subnets = []string{s["ExistingPrivateSubnetCidrA"].(string), s["ExistingPrivateSubnetCidrB"].(string)}
						}
						if !slices.Contains(subnets, cidr) {
							t.Errorf("%s: customer ports from %s, want a broker subnet (%v)", r.Place, cidr, subnets)
						}
					default:
						t.Errorf("%s: %s takes traffic from %v; want named groups only", r.Place, id, r.Props)
					}
				}
				slices.Sort(from)
				from = slices.Compact(from)
				if !slices.Equal(from, want) {
					t.Errorf("%s takes traffic from %v, want %v", id, from, want)
				}
			}
		})
	}
}
