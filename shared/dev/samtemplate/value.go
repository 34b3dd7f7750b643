package samtemplate

import (
	"fmt"
	"strconv"
	"strings"
)

// Fakes stands in for what only a deployed stack knows: the value of a resource's Ref and its attributes.
type Fakes struct {
	Ref    func(id, resourceType string) string
	GetAtt func(id, resourceType, attr string) string
}

// Pseudo parameter values used when resolving.
var pseudoValues = map[string]string{
	"AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::Region": "us-east-1",
	"AWS::StackName": "finfeed-dev", "AWS::URLSuffix": "amazonaws.com",
	"AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/finfeed-dev/1",
}

// errNoValue marks AWS::NoValue: the property is left out.
var errNoValue = fmt.Errorf("AWS::NoValue")

// String resolves a template value to the string CloudFormation would pass in scenario s. ok is false when the
// value is AWS::NoValue (the property is left out).
func (t *Template) String(v any, s Scenario, f Fakes) (value string, ok bool, err error) {
	r, err := t.resolve(v, s, f)
	if err == errNoValue {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	switch x := r.(type) {
	case string:
		return x, true, nil
	case []string:
		return strings.Join(x, ","), true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	}
	return "", false, fmt.Errorf("value %v is not a scalar", r)
}

// Value resolves a template value to what CloudFormation would pass in scenario s: a string, a []string for a
// list, or a map for an object. ok is false for AWS::NoValue.
func (t *Template) Value(v any, s Scenario, f Fakes) (value any, ok bool, err error) {
	if m, isMap := v.(map[string]any); isMap {
		if _, _, isFn := intrinsic(v); !isFn {
			out := map[string]any{}
			for k, e := range m {
				val, ok, err := t.Value(e, s, f)
				if err != nil {
					return nil, false, fmt.Errorf("%s: %w", k, err)
				}
				if ok {
					out[k] = val
				}
			}
			return out, true, nil
		}
	}
	r, err := t.resolve(v, s, f)
	if err == errNoValue {
		return nil, false, nil
	}
	return r, err == nil, err
}

func (t *Template) resolve(v any, s Scenario, f Fakes) (any, error) {
	fn, arg, ok := intrinsic(v)
	if !ok {
		if l, isList := v.([]any); isList {
			out := []string{}
			for _, e := range l {
				str, ok, err := t.String(e, s, f)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, str)
				}
			}
			return out, nil
		}
		return v, nil
	}
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return nil, errNoValue
		}
		if p, ok := pseudoValues[name]; ok {
			return p, nil
		}
		if val, ok := s[name]; ok {
			return val, nil
		}
		if r, ok := t.Resources[name]; ok {
			return f.Ref(name, r.Type), nil
		}
		return nil, fmt.Errorf("Ref %q: unknown", name)
	case "Fn::GetAtt":
		res, attr := splitGetAtt(arg)
		r, ok := t.Resources[res]
		if !ok {
			return nil, fmt.Errorf("GetAtt %s.%s: unknown resource", res, attr)
		}
		return f.GetAtt(res, r.Type, attr), nil
	case "Fn::If":
		args, _ := arg.([]any)
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If takes three arguments")
		}
		name, _ := args[0].(string)
		b, err := t.Condition(name, s)
		if err != nil {
			return nil, err
		}
		if b {
			return t.resolve(args[1], s, f)
		}
		return t.resolve(args[2], s, f)
	case "Fn::Sub":
		str, vars := "", map[string]any{}
		switch x := arg.(type) {
		case string:
			str = x
		case []any:
			if len(x) == 2 {
				str, _ = x[0].(string)
				vars, _ = x[1].(map[string]any)
			}
		}
		var firstErr error
		out := subVar.ReplaceAllStringFunc(str, func(m string) string {
			name := strings.TrimSpace(m[2 : len(m)-1])
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}"
			}
			var val any = map[string]any{"Ref": name}
			if v, ok := vars[name]; ok {
				val = v
			} else if strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::") {
				val = map[string]any{"Fn::GetAtt": name}
			}
			s2, _, err := t.String(val, s, f)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			return s2
		})
		return out, firstErr
	case "Fn::Join":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join takes two arguments")
		}
		delim, _ := args[0].(string)
		l, err := t.resolve(args[1], s, f)
		if err != nil {
			return nil, err
		}
		parts, _ := l.([]string)
		return strings.Join(parts, delim), nil
	case "Fn::Split":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Split takes two arguments")
		}
		delim, _ := args[0].(string)
		str, _, err := t.String(args[1], s, f)
		if err != nil {
			return nil, err
		}
		return strings.Split(str, delim), nil
	case "Fn::Select":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Select takes two arguments")
		}
		idx, err := t.resolve(args[0], s, f)
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(fmt.Sprint(idx))
		if err != nil {
			return nil, fmt.Errorf("Fn::Select index %v: %w", idx, err)
		}
		l, err := t.resolve(args[1], s, f)
		if err != nil {
			return nil, err
		}
		parts, _ := l.([]string)
		if i < 0 || i >= len(parts) {
			return nil, fmt.Errorf("Fn::Select index %d outside a list of %d", i, len(parts))
		}
		return parts[i], nil
	}
	return nil, fmt.Errorf("%s is not resolved offline", fn)
}

// PlausibleFakes give values of the right shape: ARNs for the resources whose Ref is an ARN, host:port lists
// for bootstrap strings, host names for endpoints.
var PlausibleFakes = Fakes{
	Ref: func(id, typ string) string {
		switch typ {
		case "AWS::SecretsManager::Secret":
			return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + id + "-AbCdEf"
		case "AWS::MSK::Cluster":
			return "arn:aws:kafka:us-east-1:123456789012:cluster/" + strings.ToLower(id) + "/0000-1"
		case "AWS::SNS::Topic":
			return "arn:aws:sns:us-east-1:123456789012:" + id
		}
		return strings.ToLower(id)
	},
	GetAtt: func(id, typ, attr string) string {
		host := strings.ToLower(id + "-" + strings.ReplaceAll(attr, ".", "-"))
		switch {
		case strings.Contains(attr, "Brokers"):
			return "b-1." + host + ".example.com:9098,b-2." + host + ".example.com:9098"
		case strings.HasSuffix(attr, "Arn"):
			return "arn:aws:" + strings.ToLower(strings.Split(typ, "::")[1]) + ":us-east-1:123456789012:" + id
		}
		return host + ".example.com"
	},
}
