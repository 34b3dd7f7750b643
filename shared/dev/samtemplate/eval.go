package samtemplate

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Scenario is one assignment of parameter values: a string, or []string for list parameters.
type Scenario map[string]any

func (s Scenario) String() string {
	keys := slices.Sorted(maps.Keys(s))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, s[k]))
	}
	return strings.Join(parts, " ")
}

// Defaults is the scenario of every parameter's default.
func (t *Template) Defaults() Scenario {
	s := Scenario{}
	for name, p := range t.Parameters {
		s[name] = p.value(p.Default)
	}
	return s
}

func (p Parameter) value(v any) any {
	str := ""
	switch x := v.(type) {
	case nil:
	case string:
		str = x
	default:
		str = fmt.Sprint(x)
	}
	if strings.Contains(p.Type, "List") {
		if str == "" {
			return []string{""} // how CloudFormation sees an empty CommaDelimitedList
		}
		return strings.Split(str, ",")
	}
	return str
}

// Scenarios enumerates every combination of the parameters the Conditions read: their AllowedValues, or their
// default and one other value (empty when the default is not, a sample when it is). Other parameters keep
// their defaults.
func (t *Template) Scenarios() []Scenario {
	used := map[string]bool{}
	for _, c := range t.Conditions {
		collectRefs(c, used)
	}
	return t.scenariosOver(slices.Sorted(maps.Keys(used)))
}

// scenariosOver enumerates every combination of the named parameters' values, as Scenarios does for those the
// conditions read; other parameters keep their defaults.
func (t *Template) scenariosOver(names []string) []Scenario {
	var choices [][]any
	var kept []string
	for _, n := range names {
		p, ok := t.Parameters[n]
		if !ok {
			continue
		}
		kept = append(kept, n)
		var vals []any
		if len(p.AllowedValues) > 0 {
			for _, v := range p.AllowedValues {
				vals = append(vals, p.value(v))
			}
		} else {
			def := p.value(p.Default)
			alt := p.value("")
			if fmt.Sprint(def) == fmt.Sprint(alt) {
				alt = p.value(sampleFor(n, p))
			}
			vals = []any{def, alt}
		}
		choices = append(choices, vals)
	}
	base := t.Defaults()
	out := []Scenario{}
	var rec func(i int, cur Scenario)
	rec = func(i int, cur Scenario) {
		if i == len(kept) {
			out = append(out, maps.Clone(cur))
			return
		}
		for _, v := range choices[i] {
			cur[kept[i]] = v
			rec(i+1, cur)
		}
	}
	rec(0, base)
	return out
}

func sampleFor(name string, p Parameter) string {
	switch {
	case strings.Contains(p.Type, "List"):
		return "111122223333,444455556666"
	case strings.HasSuffix(name, "Arn"):
		return "arn:aws:service:us-east-1:111122223333:sample"
	case strings.HasSuffix(name, "Url"):
		return "https://sample.example.com"
	default:
		return "sample"
	}
}

func collectRefs(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, a := range x {
			if k == "Ref" {
				if s, ok := a.(string); ok {
					into[s] = true
				}
			}
			collectRefs(a, into)
		}
	case []any:
		for _, a := range x {
			collectRefs(a, into)
		}
	}
}

// Condition evaluates a named condition in s.
func (t *Template) Condition(name string, s Scenario) (bool, error) {
	return newResolver(t, s, Fakes{}).condition(name)
}

// RuleViolations evaluates the template's Rules in s: the description of every assertion that fails (CloudFormation
// would refuse these parameters), or an error when a rule uses what the evaluator does not know (rules here are
// written with the condition functions on parameters only).
func (t *Template) RuleViolations(s Scenario) ([]string, error) {
	r := newResolver(t, s, Fakes{})
	var out []string
	for _, name := range slices.Sorted(maps.Keys(t.Rules)) {
		rule := t.Rules[name]
		if usesCondition(rule.RuleCondition) || slices.ContainsFunc(rule.Assertions, func(a RuleAssertion) bool { return usesCondition(a.Assert) }) {
			return nil, fmt.Errorf("Rules.%s: a rule cannot refer to a Condition", name)
		}
		if rule.RuleCondition != nil {
			applies, err := r.truth("Rules."+name+".RuleCondition", rule.RuleCondition)
			if err != nil {
				return nil, err
			}
			if !applies {
				continue
			}
		}
		if len(rule.Assertions) == 0 {
			return nil, fmt.Errorf("Rules.%s: no Assertions", name)
		}
		for i, a := range rule.Assertions {
			ok, err := r.truth(fmt.Sprintf("Rules.%s.Assertions[%d]", name, i), a.Assert)
			if err != nil {
				return nil, err
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s: %s", name, a.AssertDescription))
			}
		}
	}
	return out, nil
}

// usesCondition reports whether v refers to a named condition anywhere ({"Condition": name}).
func usesCondition(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "Condition" || usesCondition(e) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, usesCondition)
	}
	return false
}

// Active reports whether resource id exists in s.
func (t *Template) Active(id string, s Scenario) (bool, error) {
	r, ok := t.Resources[id]
	if !ok {
		return false, nil
	}
	if r.Condition == "" {
		return true, nil
	}
	return t.Condition(r.Condition, s)
}

// AttrChecker says whether a resource type has an attribute (for Fn::GetAtt).
type AttrChecker func(resourceType, attr string) bool

// CheckRefs checks every Ref, Fn::GetAtt, Fn::Sub name, DependsOn and condition name, in every scenario:
// a reference must name a parameter, a pseudo parameter or a resource that exists in that scenario (taking
// Fn::If branches as CloudFormation would). Each problem is reported once, with the first scenario showing it.
func (t *Template) CheckRefs(attrs AttrChecker) []error {
	seen := map[string]bool{}
	var errs []error
	used := map[string]bool{}
	for _, c := range t.Conditions {
		collectRefs(c, used)
	}
	report := func(msg string, s Scenario) {
		if seen[msg] {
			return
		}
		seen[msg] = true
		shown := Scenario{}
		for k, v := range s {
			if used[k] {
				shown[k] = v
			}
		}
		errs = append(errs, fmt.Errorf("%s (with %s)", msg, shown))
	}
	for _, id := range t.ResourceIDs() {
		if c := t.Resources[id].Condition; c != "" {
			if _, ok := t.Conditions[c]; !ok {
				report(fmt.Sprintf("Resources.%s: condition %q is not defined", id, c), nil)
			}
		}
	}
	outputs := slices.Sorted(maps.Keys(t.Outputs))
	for _, name := range outputs {
		if c := t.Outputs[name].Condition; c != "" {
			if _, ok := t.Conditions[c]; !ok {
				report(fmt.Sprintf("Outputs.%s: condition %q is not defined", name, c), nil)
			}
		}
	}
	// References depend on the scenario only through the conditions, and each part (a resource, an output, the
	// Globals) only through the few conditions its resolution reads (its own, its Fn::Ifs', those of the
	// resources it names): a part is resolved again only in a scenario where one of those differs.
	condNames := slices.Sorted(maps.Keys(t.Conditions))
	resolved := map[string][]map[string]bool{} // per part: the conditions each resolution read, with their values
	vectors := map[string]bool{}
	for _, s := range t.Scenarios() {
		r := newResolver(t, s, Fakes{})
		var vec strings.Builder
		for _, name := range condNames {
			b, err := r.condition(name)
			if err != nil {
				report(err.Error(), s)
			}
			vec.WriteString(strconv.FormatBool(b))
		}
		if vectors[vec.String()] {
			continue
		}
		vectors[vec.String()] = true
		r.check, r.attrs = func(msg string) { report(msg, s) }, attrs
		part := func(key string, resolve func()) {
			for _, prev := range resolved[key] {
				same := true
				for c, b := range prev {
					same = same && r.conds[c] == b
				}
				if same {
					return
				}
			}
			r.read = map[string]bool{}
			resolve()
			read := map[string]bool{}
			for c := range r.read {
				read[c] = r.conds[c]
			}
			resolved[key] = append(resolved[key], read)
			r.read = nil
		}
		walk := func(path string, v any) {
			if _, err := r.value(path, v); err != nil {
				report(err.Error(), s) // not expected: a checking resolver reports its problems
			}
		}
		part("Globals", func() { walk("Globals", t.Globals) })
		for _, id := range t.ResourceIDs() {
			part("Resources."+id, func() {
				if !r.active(id) {
					return
				}
				res := t.Resources[id]
				walk("Resources."+id+".Properties", res.Properties)
				walk("Resources."+id+".Metadata", res.Metadata)
				for _, dep := range dependsOn(res.DependsOn) {
					if !r.active(dep) {
						report(fmt.Sprintf("Resources.%s.DependsOn: %q is not a resource here", id, dep), s)
					}
				}
			})
		}
		for _, name := range outputs {
			part("Outputs."+name, func() {
				o := t.Outputs[name]
				if o.Condition != "" {
					if b, err := r.condition(o.Condition); err != nil || !b {
						return
					}
				}
				walk("Outputs."+name+".Value", o.Value)
			})
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

func dependsOn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func splitGetAtt(arg any) (string, string) {
	switch x := arg.(type) {
	case string:
		res, attr, _ := strings.Cut(x, ".")
		return res, attr
	case []any:
		if len(x) == 2 {
			res, _ := x[0].(string)
			attr, _ := x[1].(string)
			return res, attr
		}
	}
	return fmt.Sprint(arg), ""
}
