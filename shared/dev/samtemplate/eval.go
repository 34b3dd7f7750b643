package samtemplate

import (
	"fmt"
	"maps"
	"regexp"
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
	names := slices.Sorted(maps.Keys(used))
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
	c, ok := t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %q is not defined", name)
	}
	return t.evalBool(c, s, 0)
}

func (t *Template) evalBool(v any, s Scenario, depth int) (bool, error) {
	if depth > 20 {
		return false, fmt.Errorf("conditions nest too deep (a cycle?)")
	}
	fn, arg, ok := intrinsic(v)
	if !ok {
		return false, fmt.Errorf("not a condition function: %v", v)
	}
	args, _ := arg.([]any)
	switch fn {
	case "Condition":
		name, _ := arg.(string)
		c, ok := t.Conditions[name]
		if !ok {
			return false, fmt.Errorf("condition %q is not defined", name)
		}
		return t.evalBool(c, s, depth+1)
	case "Fn::Equals":
		if len(args) != 2 {
			return false, fmt.Errorf("Fn::Equals needs two arguments")
		}
		a, err := t.evalScalar(args[0], s)
		if err != nil {
			return false, err
		}
		b, err := t.evalScalar(args[1], s)
		return a == b, err
	case "Fn::Not":
		if len(args) != 1 {
			return false, fmt.Errorf("Fn::Not needs one argument")
		}
		b, err := t.evalBool(args[0], s, depth+1)
		return !b, err
	case "Fn::And", "Fn::Or":
		if len(args) < 2 || len(args) > 10 {
			return false, fmt.Errorf("%s needs 2 to 10 conditions", fn)
		}
		res := fn == "Fn::And"
		for _, a := range args {
			b, err := t.evalBool(a, s, depth+1)
			if err != nil {
				return false, err
			}
			if fn == "Fn::And" {
				res = res && b
			} else {
				res = res || b
			}
		}
		return res, nil
	}
	return false, fmt.Errorf("%s is not allowed in a condition", fn)
}

// evalScalar evaluates what a condition compares: literals, parameter Refs and Fn::Join of those.
func (t *Template) evalScalar(v any, s Scenario) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64, bool:
		return fmt.Sprint(x), nil
	}
	fn, arg, ok := intrinsic(v)
	if !ok {
		return "", fmt.Errorf("cannot compare %v", v)
	}
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		val, ok := s[name]
		if !ok {
			return "", fmt.Errorf("condition refers to %q, which is not a parameter", name)
		}
		if l, ok := val.([]string); ok {
			return strings.Join(l, ","), nil
		}
		return fmt.Sprint(val), nil
	case "Fn::Join":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return "", fmt.Errorf("Fn::Join needs a delimiter and a list")
		}
		delim, _ := args[0].(string)
		var parts []string
		if fn2, a2, ok := intrinsic(args[1]); ok && fn2 == "Ref" {
			name, _ := a2.(string)
			if l, ok := s[name].([]string); ok {
				parts = l
			} else {
				parts = []string{fmt.Sprint(s[name])}
			}
		} else if l, ok := args[1].([]any); ok {
			for _, e := range l {
				p, err := t.evalScalar(e, s)
				if err != nil {
					return "", err
				}
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, delim), nil
	}
	return "", fmt.Errorf("%s is not supported in a condition", fn)
}

// RuleViolations evaluates the template's Rules in s: the description of every assertion that fails (CloudFormation
// would refuse these parameters), or an error when a rule uses what the evaluator does not know (rules here are
// written with the condition functions on parameters only).
func (t *Template) RuleViolations(s Scenario) ([]string, error) {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(t.Rules)) {
		r := t.Rules[name]
		if usesCondition(r.RuleCondition) || slices.ContainsFunc(r.Assertions, func(a RuleAssertion) bool { return usesCondition(a.Assert) }) {
			return nil, fmt.Errorf("Rules.%s: a rule cannot refer to a Condition", name)
		}
		if r.RuleCondition != nil {
			applies, err := t.evalBool(r.RuleCondition, s, 0)
			if err != nil {
				return nil, fmt.Errorf("Rules.%s.RuleCondition: %w", name, err)
			}
			if !applies {
				continue
			}
		}
		if len(r.Assertions) == 0 {
			return nil, fmt.Errorf("Rules.%s: no Assertions", name)
		}
		for i, a := range r.Assertions {
			ok, err := t.evalBool(a.Assert, s, 0)
			if err != nil {
				return nil, fmt.Errorf("Rules.%s.Assertions[%d]: %w", name, i, err)
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

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// SubNames lists the ${...} names in a Fn::Sub string (not ${!Literal}).
func SubNames(s string) []string {
	var out []string
	for _, m := range subVar.FindAllStringSubmatch(s, -1) {
		if strings.HasPrefix(m[1], "!") {
			continue
		}
		out = append(out, strings.TrimSpace(m[1]))
	}
	return out
}

var pseudo = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
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
	// References depend on the scenario only through the conditions, and each resource only through the few
	// conditions it touches (its own, its Fn::If's, those of the resources it names): walk each resource once
	// per distinct combination of those.
	condNames := slices.Sorted(maps.Keys(t.Conditions))
	relevant := map[string][]string{}
	for _, id := range t.ResourceIDs() {
		relevant["R:"+id] = t.touched(t.Resources[id].Condition, t.Resources[id])
	}
	for name, o := range t.Outputs {
		relevant["O:"+name] = t.touched(o.Condition, o.Value)
	}
	relevant["G:"] = t.touched("", t.Globals)
	walked := map[string]bool{}
	vectors := map[string]bool{}
	for _, s := range t.Scenarios() {
		conds := map[string]bool{}
		var vec strings.Builder
		for _, name := range condNames {
			b, err := t.evalBool(t.Conditions[name], s, 0)
			if err != nil {
				report(fmt.Sprintf("Conditions.%s: %v", name, err), s)
			}
			conds[name] = b
			vec.WriteString(strconv.FormatBool(b))
		}
		if vectors[vec.String()] {
			continue
		}
		vectors[vec.String()] = true
		w := walker{t: t, s: s, conds: conds, attrs: attrs, report: report}
		first := func(key string) bool {
			var k strings.Builder
			k.WriteString(key)
			for _, c := range relevant[key] {
				k.WriteString(strconv.FormatBool(conds[c]))
			}
			if walked[k.String()] {
				return false
			}
			walked[k.String()] = true
			return true
		}
		if first("G:") {
			w.walk("Globals", t.Globals, nil)
		}
		for _, id := range t.ResourceIDs() {
			if !w.active(id) || !first("R:"+id) {
				continue
			}
			r := t.Resources[id]
			w.walk("Resources."+id+".Properties", r.Properties, nil)
			w.walk("Resources."+id+".Metadata", r.Metadata, nil)
			for _, dep := range dependsOn(r.DependsOn) {
				if !w.active(dep) {
					report(fmt.Sprintf("Resources.%s.DependsOn: %q is not a resource here", id, dep), s)
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(t.Outputs)) {
			o := t.Outputs[name]
			if o.Condition != "" {
				if _, ok := t.Conditions[o.Condition]; !ok {
					report(fmt.Sprintf("Outputs.%s: condition %q is not defined", name, o.Condition), nil)
					continue
				}
				if !conds[o.Condition] {
					continue
				}
			}
			if first("O:" + name) {
				w.walk("Outputs."+name+".Value", o.Value, nil)
			}
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

type walker struct {
	t      *Template
	s      Scenario
	conds  map[string]bool
	attrs  AttrChecker
	report func(string, Scenario)
}

func (w walker) walk(path string, v any, subVars map[string]bool) {
	if fn, arg, ok := intrinsic(v); ok {
		w.intrinsic(path, fn, arg, subVars)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			w.walk(path+"."+k, x[k], subVars)
		}
	case []any:
		for i, e := range x {
			w.walk(fmt.Sprintf("%s[%d]", path, i), e, subVars)
		}
	}
}

func (w walker) intrinsic(path, fn string, arg any, subVars map[string]bool) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		w.ref(path, name)
	case "Fn::GetAtt":
		res, attr := splitGetAtt(arg)
		w.getAtt(path, res, attr)
	case "Fn::Sub":
		str, vars := "", map[string]bool{}
		switch x := arg.(type) {
		case string:
			str = x
		case []any:
			if len(x) != 2 {
				w.report(path+": Fn::Sub takes a string or [string, map]", w.s)
				return
			}
			str, _ = x[0].(string)
			m, _ := x[1].(map[string]any)
			for k, val := range m {
				vars[k] = true
				w.walk(path+".Fn::Sub."+k, val, nil)
			}
		}
		for _, name := range SubNames(str) {
			switch {
			case vars[name]:
			case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
				res, attr, _ := strings.Cut(name, ".")
				w.getAtt(path, res, attr)
			default:
				w.ref(path, name)
			}
		}
	case "Fn::If":
		args, _ := arg.([]any)
		if len(args) != 3 {
			w.report(path+": Fn::If takes [condition, then, else]", w.s)
			return
		}
		name, _ := args[0].(string)
		b, ok := w.conds[name]
		if !ok {
			w.report(fmt.Sprintf("%s: condition %q is not defined", path, name), w.s)
			return
		}
		if b {
			w.walk(path, args[1], subVars)
		} else {
			w.walk(path, args[2], subVars)
		}
	case "Condition":
		name, _ := arg.(string)
		if _, ok := w.t.Conditions[name]; !ok {
			w.report(fmt.Sprintf("%s: condition %q is not defined", path, name), w.s)
		}
	default:
		w.walk(path+"."+fn, arg, subVars)
	}
}

func (w walker) active(id string) bool {
	r, ok := w.t.Resources[id]
	if !ok {
		return false
	}
	return r.Condition == "" || w.conds[r.Condition]
}

// touched lists the conditions a resource's checks depend on: its own, those of its Fn::Ifs and those of the
// resources it names.
func (t *Template) touched(own string, body any) []string {
	set := map[string]bool{}
	if own != "" {
		set[own] = true
	}
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, a := range x {
				switch k {
				case "Fn::If":
					if args, ok := a.([]any); ok && len(args) > 0 {
						if c, ok := args[0].(string); ok {
							set[c] = true
						}
					}
				case "Ref":
					if n, ok := a.(string); ok {
						if r, ok := t.Resources[n]; ok && r.Condition != "" {
							set[r.Condition] = true
						}
					}
				case "Fn::GetAtt":
					res, _ := splitGetAtt(a)
					if r, ok := t.Resources[res]; ok && r.Condition != "" {
						set[r.Condition] = true
					}
				case "Fn::Sub":
					str, _ := a.(string)
					if l, ok := a.([]any); ok && len(l) > 0 {
						str, _ = l[0].(string)
					}
					for _, n := range SubNames(str) {
						n, _, _ = strings.Cut(n, ".")
						if r, ok := t.Resources[n]; ok && r.Condition != "" {
							set[r.Condition] = true
						}
					}
				}
				visit(a)
			}
		case []any:
			for _, e := range x {
				visit(e)
			}
		}
	}
	visit(body)
	if r, ok := body.(Resource); ok {
		visit(r.Properties)
		visit(r.Metadata)
		for _, d := range dependsOn(r.DependsOn) {
			if dr, ok := t.Resources[d]; ok && dr.Condition != "" {
				set[dr.Condition] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func (w walker) ref(path, name string) {
	if pseudo[name] {
		return
	}
	if _, ok := w.t.Parameters[name]; ok {
		return
	}
	if _, ok := w.t.Resources[name]; !ok {
		w.report(fmt.Sprintf("%s: Ref %q is neither a parameter nor a resource", path, name), w.s)
		return
	}
	if !w.active(name) {
		w.report(fmt.Sprintf("%s: Ref %q, a resource that is not created here (condition %s)", path, name, w.t.Resources[name].Condition), w.s)
	}
}

func (w walker) getAtt(path, res, attr string) {
	r, ok := w.t.Resources[res]
	if !ok {
		w.report(fmt.Sprintf("%s: GetAtt %s.%s: no resource %q", path, res, attr, res), w.s)
		return
	}
	if !w.active(res) {
		w.report(fmt.Sprintf("%s: GetAtt %s.%s, a resource that is not created here (condition %s)", path, res, attr, r.Condition), w.s)
		return
	}
	if w.attrs != nil && !w.attrs(r.Type, attr) {
		w.report(fmt.Sprintf("%s: GetAtt %s.%s: %s has no attribute %q", path, res, attr, r.Type, attr), w.s)
	}
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
