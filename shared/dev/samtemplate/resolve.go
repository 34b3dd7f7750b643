package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// resolver interprets a template's intrinsic functions in one scenario. It is the one place that knows what Ref,
// Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Split, Fn::Select, the condition functions (Condition, Fn::Equals,
// Fn::Not, Fn::And, Fn::Or), AWS::NoValue and the pseudo parameters mean: conditions and rules are evaluated with
// it (Condition, Active, RuleViolations), values are resolved with it (String, Value), and CheckRefs checks the
// references of every resource by resolving it.
type resolver struct {
	t *Template
	s Scenario
	// fakes stand in for what only a deployed stack knows; without them a resource's Ref or attribute is unknown.
	fakes Fakes
	// check, when set, makes the resolver a checker: a problem is reported with its place and resolution goes on
	// with an unknown value, so that one pass finds every problem; references must then also name resources
	// created in the scenario, with attributes their type has (attrs, when set). Unset, the first problem is the
	// error.
	check func(msg string)
	attrs AttrChecker
	// inCondition: resolving a condition or a rule, where only parameters and pseudo parameters may be referred to.
	inCondition bool

	conds map[string]bool // conditions evaluated so far
	busy  map[string]bool // conditions being evaluated (met again: a cycle)
	// read, when not nil, collects the conditions whose value the resolution depended on.
	read map[string]bool
}

func newResolver(t *Template, s Scenario, f Fakes) *resolver {
	return &resolver{t: t, s: s, fakes: f, conds: map[string]bool{}, busy: map[string]bool{}}
}

// unknown is a value only a deployed stack knows (without fakes), or what a checker goes on with after a problem:
// whatever takes it in is unknown too.
type unknown struct{}

// noValue is Ref AWS::NoValue: the property or list item is left out.
type noValue struct{}

func isUnknown(v any) bool { _, ok := v.(unknown); return ok }
func isNoValue(v any) bool { _, ok := v.(noValue); return ok }

// Pseudo parameter values used when resolving.
var pseudoValues = map[string]any{
	"AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::Region": "us-east-1",
	"AWS::StackName": "finfeed-dev", "AWS::URLSuffix": "amazonaws.com",
	"AWS::StackId":          "arn:aws:cloudformation:us-east-1:123456789012:stack/finfeed-dev/1",
	"AWS::NotificationARNs": []string{},
}

// fail is a problem at path: reported (the value is then unknown) when checking, the error otherwise.
func (r *resolver) fail(path, msg string) (any, error) {
	if path != "" {
		msg = path + ": " + msg
	}
	if r.check != nil {
		r.check(msg)
		return unknown{}, nil
	}
	return nil, errors.New(msg)
}

// odd is a value CloudFormation could not use, at path: the error when resolving; when checking, only an unknown
// value, since a checker's parameter values are samples (an ARN parameter left empty, say) and it checks
// references, not values.
func (r *resolver) odd(path, msg string) (any, error) {
	if r.check != nil {
		return unknown{}, nil
	}
	return r.fail(path, msg)
}

func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func item(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// value resolves v, found at path: a scalar as written, a []string for a list of scalars ([]any for other lists),
// a map for an object (AWS::NoValue members left out), a bool for a condition function, noValue or unknown.
func (r *resolver) value(path string, v any) (any, error) {
	if fn, arg, ok := intrinsic(v); ok {
		return r.intrinsic(path, fn, arg)
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e, err := r.value(field(path, k), x[k])
			if err != nil {
				return nil, err
			}
			if !isNoValue(e) {
				out[k] = e
			}
		}
		return out, nil
	case []any:
		items := make([]any, 0, len(x))
		strs, scalars, unknownItem := make([]string, 0, len(x)), true, false
		for i, e := range x {
			v, err := r.value(item(path, i), e)
			if err != nil {
				return nil, err
			}
			if isNoValue(v) {
				continue
			}
			unknownItem = unknownItem || isUnknown(v)
			items = append(items, v)
			if str, ok := scalar(v); ok {
				strs = append(strs, str)
			} else {
				scalars = false
			}
		}
		switch {
		case unknownItem:
			return unknown{}, nil
		case scalars:
			return strs, nil // CloudFormation passes a list of scalars as strings
		}
		return items, nil
	}
	return v, nil
}

// scalar is v as the string CloudFormation passes: a string, a number, a boolean, or a list of strings joined by
// commas.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []string:
		return strings.Join(x, ","), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// notInCondition are the functions CloudFormation does not allow in Conditions and Rules.
var notInCondition = map[string]bool{"Fn::GetAtt": true, "Fn::If": true, "Fn::Sub": true}

func (r *resolver) intrinsic(path, fn string, arg any) (any, error) {
	if r.inCondition && notInCondition[fn] {
		return r.fail(path, fn+" is not allowed in a condition")
	}
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return r.ref(path, name)
	case "Fn::GetAtt":
		res, attr := splitGetAtt(arg)
		return r.getAtt(path, res, attr)
	case "Fn::Sub":
		return r.sub(path, arg)
	case "Fn::If":
		if len(args) != 3 {
			return r.fail(path, "Fn::If takes [condition, then, else]")
		}
		name, _ := args[0].(string)
		b, err := r.condition(name)
		if err != nil {
			return r.fail(path, err.Error())
		}
		if b {
			return r.value(path, args[1])
		}
		return r.value(path, args[2])
	case "Condition":
		name, _ := arg.(string)
		b, err := r.condition(name)
		if err != nil {
			return r.fail(path, err.Error())
		}
		return b, nil
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.logic(path, fn, args)
	case "Fn::Join", "Fn::Split", "Fn::Select":
		return r.list(path, fn, args)
	}
	if r.check != nil { // resolved by CloudFormation only: look inside for the references it holds
		if _, err := r.value(path+"."+fn, arg); err != nil {
			return nil, err
		}
		return unknown{}, nil
	}
	return r.fail(path, fn+" is not resolved offline")
}

func (r *resolver) ref(path, name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := pseudoValues[name]; ok {
		return v, nil
	}
	if v, ok := r.s[name]; ok {
		return v, nil
	}
	if _, ok := r.t.Parameters[name]; ok {
		return unknown{}, nil // a parameter the scenario does not set
	}
	if r.inCondition {
		return r.fail(path, fmt.Sprintf("condition refers to %q, which is not a parameter", name))
	}
	res, ok := r.t.Resources[name]
	if !ok {
		return r.fail(path, fmt.Sprintf("Ref %q is neither a parameter nor a resource", name))
	}
	if r.check != nil && !r.active(name) {
		return r.fail(path, fmt.Sprintf("Ref %q, a resource that is not created here (condition %s)", name, res.Condition))
	}
	if r.fakes.Ref == nil {
		return unknown{}, nil
	}
	return r.fakes.Ref(name, res.Type), nil
}

func (r *resolver) getAtt(path, id, attr string) (any, error) {
	res, ok := r.t.Resources[id]
	if !ok {
		return r.fail(path, fmt.Sprintf("GetAtt %s.%s: no resource %q", id, attr, id))
	}
	if r.check != nil {
		if !r.active(id) {
			return r.fail(path, fmt.Sprintf("GetAtt %s.%s, a resource that is not created here (condition %s)", id, attr, res.Condition))
		}
		if r.attrs != nil && !r.attrs(res.Type, attr) {
			return r.fail(path, fmt.Sprintf("GetAtt %s.%s: %s has no attribute %q", id, attr, res.Type, attr))
		}
	}
	if r.fakes.GetAtt == nil {
		return unknown{}, nil
	}
	return r.fakes.GetAtt(id, res.Type, attr), nil
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

// sub resolves Fn::Sub: each ${Name} is the variable of that name, or a Ref (a GetAtt for ${Resource.Attr}).
func (r *resolver) sub(path string, arg any) (any, error) {
	str, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		str = x
	case []any:
		if len(x) != 2 {
			return r.fail(path, "Fn::Sub takes a string or [string, map]")
		}
		str, _ = x[0].(string)
		m, _ := x[1].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v, err := r.value(path+".Fn::Sub."+k, m[k])
			if err != nil {
				return nil, err
			}
			vars[k] = v
		}
	default:
		return r.fail(path, "Fn::Sub takes a string or [string, map]")
	}
	var firstErr error
	unknownPart := false
	out := subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-1])
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		v, ok := vars[name]
		var err error
		switch {
		case ok:
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			res, attr, _ := strings.Cut(name, ".")
			v, err = r.getAtt(path, res, attr)
		default:
			v, err = r.ref(path, name)
		}
		if err != nil {
			firstErr = firstOf(firstErr, err)
			return ""
		}
		if isUnknown(v) {
			unknownPart = true
			return ""
		}
		str, ok := scalar(v)
		if !ok {
			_, err := r.odd(path, fmt.Sprintf("Fn::Sub: ${%s} is not a string", name))
			firstErr, unknownPart = firstOf(firstErr, err), true
		}
		return str
	})
	switch {
	case firstErr != nil:
		return nil, firstErr
	case unknownPart:
		return unknown{}, nil
	}
	return out, nil
}

func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// list resolves Fn::Join, Fn::Split and Fn::Select.
func (r *resolver) list(path, fn string, args []any) (any, error) {
	if len(args) != 2 {
		return r.fail(path, fn+" takes two arguments")
	}
	a, err := r.value(item(path+"."+fn, 0), args[0])
	if err != nil {
		return nil, err
	}
	b, err := r.value(item(path+"."+fn, 1), args[1])
	if err != nil {
		return nil, err
	}
	if isUnknown(a) || isUnknown(b) {
		return unknown{}, nil
	}
	first, _ := scalar(a)
	switch fn {
	case "Fn::Join":
		switch l := b.(type) {
		case []string:
			return strings.Join(l, first), nil
		case string: // a Ref to a parameter that is not a list
			return l, nil
		}
		return r.odd(path, fmt.Sprintf("Fn::Join joins a list of strings, not %v", b))
	case "Fn::Split":
		str, ok := scalar(b)
		if !ok {
			return r.odd(path, fmt.Sprintf("Fn::Split splits a string, not %v", b))
		}
		return strings.Split(str, first), nil
	}
	i, err := strconv.Atoi(first)
	if err != nil {
		return r.odd(path, fmt.Sprintf("Fn::Select index %v is not a number", a))
	}
	var n int
	switch l := b.(type) {
	case []string:
		if n = len(l); i >= 0 && i < n {
			return l[i], nil
		}
	case []any:
		if n = len(l); i >= 0 && i < n {
			return l[i], nil
		}
	default:
		return r.odd(path, fmt.Sprintf("Fn::Select selects from a list, not %v", b))
	}
	return r.odd(path, fmt.Sprintf("Fn::Select index %d outside a list of %d", i, n))
}

// logic resolves the condition functions to a bool.
func (r *resolver) logic(path, fn string, args []any) (any, error) {
	var vals []any
	for i, a := range args {
		v, err := r.value(item(path+"."+fn, i), a)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	if slices.ContainsFunc(vals, isUnknown) {
		return unknown{}, nil
	}
	switch fn {
	case "Fn::Equals":
		if len(vals) != 2 {
			return r.fail(path, "Fn::Equals needs two arguments")
		}
		a, okA := scalar(vals[0])
		b, okB := scalar(vals[1])
		if !okA || !okB {
			return r.odd(path, fmt.Sprintf("Fn::Equals compares strings, not %v and %v", vals[0], vals[1]))
		}
		return a == b, nil
	case "Fn::Not":
		if len(vals) != 1 {
			return r.fail(path, "Fn::Not needs one argument")
		}
	default:
		if len(vals) < 2 || len(vals) > 10 {
			return r.fail(path, fn+" needs 2 to 10 conditions")
		}
	}
	res := fn == "Fn::And"
	for i, v := range vals {
		b, ok := v.(bool)
		if !ok {
			return r.fail(item(path+"."+fn, i), fmt.Sprintf("not a condition: %v", args[i]))
		}
		switch fn {
		case "Fn::Not":
			return !b, nil
		case "Fn::And":
			res = res && b
		default:
			res = res || b
		}
	}
	return res, nil
}

// truth resolves v, found at path, as a condition or a rule: it must be a condition function.
func (r *resolver) truth(path string, v any) (bool, error) {
	c := *r
	c.inCondition, c.check, c.read = true, nil, nil
	val, err := c.value(path, v)
	if err != nil {
		return false, err
	}
	b, ok := val.(bool)
	if !ok {
		return false, fmt.Errorf("%s: not a condition function: %v", path, v)
	}
	return b, nil
}

// condition evaluates the named condition once per resolver.
func (r *resolver) condition(name string) (bool, error) {
	if r.read != nil {
		r.read[name] = true
	}
	if b, ok := r.conds[name]; ok {
		return b, nil
	}
	c, ok := r.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %q is not defined", name)
	}
	if r.busy[name] {
		return false, fmt.Errorf("condition %q depends on itself", name)
	}
	r.busy[name] = true
	defer delete(r.busy, name)
	b, err := r.truth("Conditions."+name, c)
	if err != nil {
		return false, err
	}
	r.conds[name] = b
	return b, nil
}

// active reports whether resource id exists in the scenario.
func (r *resolver) active(id string) bool {
	res, ok := r.t.Resources[id]
	if !ok {
		return false
	}
	if res.Condition == "" {
		return true
	}
	b, err := r.condition(res.Condition)
	return err == nil && b
}
