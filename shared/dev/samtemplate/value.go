package samtemplate

import (
	"fmt"
	"strings"
)

// Fakes stands in for what only a deployed stack knows: the value of a resource's Ref and its attributes.
type Fakes struct {
	Ref    func(id, resourceType string) string
	GetAtt func(id, resourceType, attr string) string
}

// String resolves a template value to the string CloudFormation would pass in scenario s. ok is false when the
// value is AWS::NoValue (the property is left out).
func (t *Template) String(v any, s Scenario, f Fakes) (value string, ok bool, err error) {
	r, ok, err := t.Value(v, s, f)
	if err != nil || !ok {
		return "", false, err
	}
	str, isScalar := scalar(r)
	if !isScalar {
		return "", false, fmt.Errorf("value %v is not a scalar", r)
	}
	return str, true, nil
}

// Value resolves a template value to what CloudFormation would pass in scenario s: a string (or the number or
// boolean written), a []string for a list, or a map for an object. ok is false for AWS::NoValue.
func (t *Template) Value(v any, s Scenario, f Fakes) (value any, ok bool, err error) {
	r, err := newResolver(t, s, f).value("", v)
	switch {
	case err != nil:
		return nil, false, err
	case isNoValue(r):
		return nil, false, nil
	case isUnknown(r):
		return nil, false, fmt.Errorf("value %v: only a deployed stack knows it (no fakes)", v)
	}
	return r, true, nil
}

// PlausibleFakes give values of the right shape: ARNs for the resources whose Ref is an ARN (and IAM roles' Arn
// attribute), host:port lists for bootstrap strings, https URLs for Url attributes, host names for endpoints.
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
		case typ == "AWS::IAM::Role" && attr == "Arn":
			return "arn:aws:iam::123456789012:role/finfeed-dev-" + id + "-ABC123"
		case strings.HasSuffix(attr, "Url"):
			return "https://" + host + ".example.com"
		case strings.HasSuffix(attr, "Arn"):
			return "arn:aws:" + strings.ToLower(strings.Split(typ, "::")[1]) + ":us-east-1:123456789012:" + id
		}
		return host + ".example.com"
	},
}
