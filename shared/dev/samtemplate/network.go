package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// customerPorts are the ports MSK's multi-VPC private connectivity serves the brokers on (b-1 on 14001, ...).
const customerFromPort, customerToPort = 14001, 14100

// vpcCidrParameter is the parameter holding the VPC's range, when the template has one.
const vpcCidrParameter = "VpcCidr"

// networkTypes are the resource types that make or change security groups.
var networkTypes = map[string]bool{
	"AWS::EC2::SecurityGroup":        true,
	"AWS::EC2::SecurityGroupIngress": true,
	"AWS::EC2::SecurityGroupEgress":  true,
}

// sharedWorkloads are resource types whose every instance is one workload: the interface endpoints of a VPC
// share a group by design (they serve the same callers).
var sharedWorkloads = map[string]string{"AWS::EC2::VPCEndpoint": "the interface endpoints"}

// networkFakes name what a Ref or GetAtt points at, so that rules can be traced back to resources.
var networkFakes = Fakes{
	Ref:    func(id, _ string) string { return "ref:" + id },
	GetAtt: func(id, _, attr string) string { return "getatt:" + id + "." + attr },
}

// GroupRule is one ingress or egress rule of a security group, resolved for a scenario: a Ref to a resource reads
// "ref:ID" and a GetAtt "getatt:ID.Attr", so that rules can be traced back to the resources they name.
type GroupRule struct {
	Place string // where it is written: Resources.X.Properties.SecurityGroupEgress[0], or Resources.Y for a separate rule
	Props map[string]any
}

// SecurityGroup is a security group of a scenario with every rule that applies to it (inline or separate) and
// the workloads it is attached to.
type SecurityGroup struct {
	ID              string
	Egress, Ingress []GroupRule
	Workloads       []string
}

// CheckNetwork resolves every security group, its rules (inline and separate) and every place a group is
// attached, in every combination of the parameters the conditions of those resources read, and reports:
//   - egress open to 0.0.0.0/0 (or ::/0) on every port and protocol, including a group that declares no egress
//     at all (AWS then keeps its allow-all default);
//   - a group attached to more than one workload (a function, a task's service, a cluster, a domain; the VPC's
//     interface endpoints count as one);
//   - the customer port range 14001-14100 open to a CIDR that holds the whole VPC (the VpcCidr parameter).
//
// Each problem is reported once, with the first scenario showing it.
func (t *Template) CheckNetwork() []error {
	var errs []error
	seen := map[string]bool{}
	params := t.networkParameters()
	for _, s := range t.scenariosOver(params) {
		shown := Scenario{}
		for _, p := range params {
			shown[p] = s[p]
		}
		for _, msg := range t.networkProblems(s) {
			if !seen[msg] {
				seen[msg] = true
				errs = append(errs, fmt.Errorf("%s (with %s)", msg, shown))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

// SecurityGroups resolves the security groups that exist in scenario s, sorted by id.
func (t *Template) SecurityGroups(s Scenario) ([]SecurityGroup, error) {
	var errs []error
	resolve := func(place string, v any) (any, bool) {
		r, ok, err := t.Value(v, s, networkFakes)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", place, err))
			return nil, false
		}
		return r, ok
	}
	groups := map[string]*SecurityGroup{}
	egress, ingress := map[string][]GroupRule{}, map[string][]GroupRule{}
	attached := map[string]map[string]bool{}
	inline := func(id, key string, into map[string][]GroupRule) {
		place := "Resources." + id + ".Properties." + key
		v, ok := resolve(place, t.Resources[id].Properties[key])
		if !ok {
			return
		}
		list, _ := v.([]any)
		for i, r := range list {
			if m, ok := r.(map[string]any); ok {
				into[id] = append(into[id], GroupRule{Place: item(place, i), Props: m})
			}
		}
	}
	for _, id := range t.ResourceIDs() {
		res := t.Resources[id]
		if ok, err := t.Active(id, s); err != nil {
			errs = append(errs, fmt.Errorf("Resources.%s: %w", id, err))
			continue
		} else if !ok {
			continue
		}
		switch res.Type {
		case "AWS::EC2::SecurityGroup":
			groups[id] = &SecurityGroup{ID: id}
			inline(id, "SecurityGroupEgress", egress)
			inline(id, "SecurityGroupIngress", ingress)
		case "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress":
			v, ok := resolve("Resources."+id+".Properties", res.Properties)
			if !ok {
				continue
			}
			props, _ := v.(map[string]any)
			group := strings.TrimPrefix(fmt.Sprint(props["GroupId"]), "ref:")
			into := ingress
			if res.Type == "AWS::EC2::SecurityGroupEgress" {
				into = egress
			}
			into[group] = append(into[group], GroupRule{Place: "Resources." + id, Props: props})
		default:
			workload := id
			if w, ok := sharedWorkloads[res.Type]; ok {
				workload = w
			}
			for _, written := range attachedGroupRefs(res.Properties) {
				v, ok := resolve("Resources."+id+".Properties", written)
				if !ok {
					continue
				}
				ids, _ := v.([]string)
				for _, ref := range ids {
					g, ok := strings.CutPrefix(ref, "ref:")
					if !ok {
						continue
					}
					if attached[g] == nil {
						attached[g] = map[string]bool{}
					}
					attached[g][workload] = true
				}
			}
		}
	}
	out := make([]SecurityGroup, 0, len(groups))
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		g := groups[id]
		g.Egress, g.Ingress, g.Workloads = egress[id], ingress[id], slices.Sorted(maps.Keys(attached[id]))
		out = append(out, *g)
	}
	for id := range egress {
		if groups[id] == nil {
			errs = append(errs, fmt.Errorf("an egress rule names %s, which is not a security group here", id))
		}
	}
	for id := range ingress {
		if groups[id] == nil {
			errs = append(errs, fmt.Errorf("an ingress rule names %s, which is not a security group here", id))
		}
	}
	return out, errors.Join(errs...)
}

// networkProblems checks scenario s.
func (t *Template) networkProblems(s Scenario) []string {
	groups, err := t.SecurityGroups(s)
	var out []string
	if err != nil {
		out = append(out, err.Error())
	}
	vpc, hasVPC := netip.Prefix{}, false
	if v, ok := s[vpcCidrParameter].(string); ok {
		p, err := netip.ParsePrefix(v)
		vpc, hasVPC = p.Masked(), err == nil
	}
	for _, g := range groups {
		if len(g.Egress) == 0 {
			out = append(out, fmt.Sprintf("Resources.%s: declares no egress, so AWS keeps its default: every port to 0.0.0.0/0", g.ID))
		}
		for _, r := range g.Egress {
			if EveryPort(r.Props) && Anywhere(r.Props) {
				out = append(out, fmt.Sprintf("%s: egress of %s open to %s on every port", r.Place, g.ID, destination(r.Props)))
			}
		}
		for _, r := range g.Ingress {
			if !hasVPC || !overlaps(r.Props, customerFromPort, customerToPort) {
				continue
			}
			if src, ok := r.Props["CidrIp"].(string); ok {
				if p, err := netip.ParsePrefix(src); err == nil && p.Bits() <= vpc.Bits() && p.Masked().Contains(vpc.Addr()) {
					out = append(out, fmt.Sprintf("%s: ports %d-%d of %s open to %s, which holds the whole VPC (%s)", r.Place, customerFromPort, customerToPort, g.ID, src, vpc))
				}
			}
		}
		if len(g.Workloads) > 1 {
			out = append(out, fmt.Sprintf("Resources.%s is attached to more than one workload: %s", g.ID, strings.Join(g.Workloads, ", ")))
		}
	}
	return out
}

// ports is a rule's port range; every port for protocol -1 (all) or a range without bounds.
func ports(r map[string]any) (from, to int) {
	if p := fmt.Sprint(r["IpProtocol"]); p == "-1" || p == "all" {
		return 0, 65535
	}
	num := func(k string, def int) int {
		n, err := strconv.Atoi(fmt.Sprint(r[k]))
		if err != nil || n < 0 {
			return def
		}
		return n
	}
	return num("FromPort", 0), num("ToPort", 65535)
}

// EveryPort reports whether a rule covers every port: protocol -1 (all), or TCP or UDP from port 0 or 1 to 65535.
func EveryPort(r map[string]any) bool {
	if p := fmt.Sprint(r["IpProtocol"]); p == "-1" || p == "all" {
		return true
	}
	if p := fmt.Sprint(r["IpProtocol"]); p != "tcp" && p != "udp" && p != "6" && p != "17" {
		return false // icmp and others carry no ports
	}
	from, to := ports(r)
	return from <= 1 && to >= 65535
}

func overlaps(r map[string]any, lo, hi int) bool {
	if p := fmt.Sprint(r["IpProtocol"]); p != "-1" && p != "all" && p != "tcp" && p != "6" {
		return false
	}
	from, to := ports(r)
	return from <= hi && to >= lo
}

// Anywhere reports whether a rule's address range is the whole internet (0.0.0.0/0 or ::/0).
func Anywhere(r map[string]any) bool {
	return r["CidrIp"] == "0.0.0.0/0" || r["CidrIpv6"] == "::/0"
}

func destination(r map[string]any) string {
	if r["CidrIp"] == "0.0.0.0/0" {
		return "0.0.0.0/0"
	}
	return "::/0"
}

// networkParameters are the parameters the conditions of the network resources (and of the resources groups are
// attached to) read, directly or through other conditions.
func (t *Template) networkParameters() []string {
	conds := map[string]bool{}
	for _, id := range t.ResourceIDs() {
		res := t.Resources[id]
		if !networkTypes[res.Type] && len(attachedGroupRefs(res.Properties)) == 0 {
			continue
		}
		if res.Condition != "" {
			conds[res.Condition] = true
		}
		collectConditions(res.Properties, conds)
	}
	params := map[string]bool{}
	done := map[string]bool{}
	var expand func(name string)
	expand = func(name string) {
		if done[name] {
			return
		}
		done[name] = true
		c := t.Conditions[name]
		collectRefs(c, params)
		inner := map[string]bool{}
		collectConditions(c, inner)
		for n := range inner {
			expand(n)
		}
	}
	for c := range conds {
		expand(c)
	}
	var out []string
	for p := range params {
		if _, ok := t.Parameters[p]; ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// attachedGroupRefs are the written values that attach security groups to a resource: SecurityGroupIds or
// SecurityGroups at any depth (a function's VpcConfig, a service's AwsvpcConfiguration, a cluster's
// BrokerNodeGroupInfo, a domain's VPCOptions, an endpoint's own property).
func attachedGroupRefs(v any) []any {
	var out []any
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			if k == "SecurityGroupIds" || k == "SecurityGroups" {
				out = append(out, e)
				continue
			}
			out = append(out, attachedGroupRefs(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, attachedGroupRefs(e)...)
		}
	}
	return out
}

// collectConditions gathers the condition names v uses: Fn::If's first argument and {"Condition": name}.
func collectConditions(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "Fn::If":
				if args, ok := e.([]any); ok && len(args) > 0 {
					if name, ok := args[0].(string); ok {
						into[name] = true
					}
				}
			case "Condition":
				if name, ok := e.(string); ok {
					into[name] = true
				}
			}
			collectConditions(e, into)
		}
	case []any:
		for _, e := range x {
			collectConditions(e, into)
		}
	}
}
