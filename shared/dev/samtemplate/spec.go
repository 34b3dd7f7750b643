package samtemplate

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// SpecPath is where `make deps` installs the CloudFormation resource specification (npm
// @aws-cdk/aws-service-spec), relative to the repository root.
const SpecPath = "tools/cfnspec/node_modules/@aws-cdk/aws-service-spec/db.json.gz"

// Spec is the CloudFormation resource specification: property names and types, attributes.
type Spec struct {
	resources map[string]specResource
	types     map[string]specTypeDef
}

type specResource struct {
	Properties map[string]specProp `json:"properties"`
	Attributes map[string]any      `json:"attributes"`
}

type specTypeDef struct {
	ID         string              `json:"$id"`
	Name       string              `json:"name"`
	Properties map[string]specProp `json:"properties"`
}

type specProp struct {
	Type     specType `json:"type"`
	Required bool     `json:"required"`
}

type specType struct {
	Type      string `json:"type"`
	Reference struct {
		Ref string `json:"$ref"`
	} `json:"reference"`
	Element *specType  `json:"element"`
	Types   []specType `json:"types"`
}

// LoadSpec reads the specification database (gzip-compressed JSON).
func LoadSpec(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open resource specification (run `make deps`): %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("resource specification %s: %w", path, err)
	}
	var db struct {
		Schema struct {
			Resource struct {
				Entities []struct {
					CloudFormationType string `json:"cloudFormationType"`
					specResource
				} `json:"entities"`
			} `json:"resource"`
			TypeDefinition struct {
				Entities []specTypeDef `json:"entities"`
			} `json:"typeDefinition"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		return nil, fmt.Errorf("decode resource specification %s: %w", path, err)
	}
	s := &Spec{resources: map[string]specResource{}, types: map[string]specTypeDef{}}
	for _, e := range db.Schema.Resource.Entities {
		s.resources[e.CloudFormationType] = e.specResource
	}
	for _, td := range db.Schema.TypeDefinition.Entities {
		s.types[td.ID] = td
	}
	if len(s.resources) < 100 {
		return nil, fmt.Errorf("resource specification %s: only %d resource types", path, len(s.resources))
	}
	return s, nil
}

// HasAttr reports whether a resource type has a Fn::GetAtt attribute. SAM resources, custom resources and types
// the specification does not know are accepted (the schema and SAM judge those).
func (s *Spec) HasAttr(resourceType, attr string) bool {
	if strings.HasPrefix(resourceType, "Custom::") || resourceType == "AWS::CloudFormation::CustomResource" {
		return true
	}
	if resourceType == "AWS::Serverless::Function" {
		return attr == "Arn"
	}
	r, ok := s.resources[resourceType]
	if !ok {
		return strings.HasPrefix(resourceType, "AWS::Serverless::")
	}
	_, ok = r.Attributes[attr]
	return ok
}

// CheckProperties checks every non-SAM resource: its type exists, each property name (nested ones too) exists
// in the specification, and required properties are present.
func (s *Spec) CheckProperties(t *Template) []error {
	var errs []error
	for _, id := range t.ResourceIDs() {
		r := t.Resources[id]
		if strings.HasPrefix(r.Type, "AWS::Serverless::") || strings.HasPrefix(r.Type, "Custom::") {
			continue
		}
		rs, ok := s.resources[r.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("Resources.%s: unknown resource type %s", id, r.Type))
			continue
		}
		errs = append(errs, s.checkObject("Resources."+id+".Properties", r.Properties, rs.Properties)...)
	}
	return errs
}

func (s *Spec) checkObject(path string, v any, props map[string]specProp) []error {
	if fn, arg, ok := intrinsic(v); ok {
		return s.checkIntrinsic(path, fn, arg, func(p string, x any) []error { return s.checkObject(p, x, props) })
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			m = map[string]any{}
		} else {
			return []error{fmt.Errorf("%s: want an object, got %T", path, v)}
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p, ok := props[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown property %q (known: %s)", path, k, strings.Join(slices.Sorted(maps.Keys(props)), ", ")))
			continue
		}
		errs = append(errs, s.checkValue(path+"."+k, m[k], p.Type)...)
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if _, present := m[k]; props[k].Required && !present {
			errs = append(errs, fmt.Errorf("%s: required property %q is missing", path, k))
		}
	}
	return errs
}

// checkIntrinsic checks both branches of Fn::If against the same type; other functions yield values the
// specification cannot judge.
func (s *Spec) checkIntrinsic(path, fn string, arg any, check func(string, any) []error) []error {
	if fn != "Fn::If" {
		return nil
	}
	args, _ := arg.([]any)
	if len(args) != 3 {
		return []error{fmt.Errorf("%s: Fn::If takes three arguments", path)}
	}
	var errs []error
	for _, branch := range args[1:] {
		if f, a, ok := intrinsic(branch); ok && f == "Ref" && a == "AWS::NoValue" {
			continue
		}
		errs = append(errs, check(path, branch)...)
	}
	return errs
}

func (s *Spec) checkValue(path string, v any, st specType) []error {
	if fn, arg, ok := intrinsic(v); ok {
		return s.checkIntrinsic(path, fn, arg, func(p string, x any) []error { return s.checkValue(p, x, st) })
	}
	switch st.Type {
	case "ref":
		td, ok := s.types[st.Reference.Ref]
		if !ok {
			return nil
		}
		return s.checkObject(path, v, td.Properties)
	case "array":
		l, ok := v.([]any)
		if !ok {
			return []error{fmt.Errorf("%s: want a list, got %T", path, v)}
		}
		var errs []error
		for i, e := range l {
			if st.Element != nil {
				errs = append(errs, s.checkValue(fmt.Sprintf("%s[%d]", path, i), e, *st.Element)...)
			}
		}
		return errs
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return []error{fmt.Errorf("%s: want a map, got %T", path, v)}
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if st.Element != nil {
				errs = append(errs, s.checkValue(path+"."+k, m[k], *st.Element)...)
			}
		}
		return errs
	case "union":
		// accept the value if any member accepts it
		var first []error
		for i, member := range st.Types {
			errs := s.checkValue(path, v, member)
			if len(errs) == 0 {
				return nil
			}
			if i == 0 {
				first = errs
			}
		}
		return first
	case "tag":
		m, ok := v.(map[string]any)
		if !ok {
			return []error{fmt.Errorf("%s: a tag is {Key, Value}, got %T", path, v)}
		}
		for k := range m {
			if k != "Key" && k != "Value" {
				return []error{fmt.Errorf("%s: a tag has Key and Value, not %q", path, k)}
			}
		}
	case "string", "number", "integer", "boolean", "date-time":
		switch v.(type) {
		case map[string]any, []any:
			return []error{fmt.Errorf("%s: want a %s, got %T", path, st.Type, v)}
		}
	}
	return nil
}

// TypeProperty is one property of a CloudFormation property type: its JSON type ("string", "integer", "number",
// "boolean", "array", "object", or "" when the specification allows more than one) and whether it is required.
type TypeProperty struct {
	Type     string
	Required bool
}

// PropertyType returns the properties of the property type called name (such as "VpcConfig") among those the
// properties of resourceType use, directly or nested.
func (s *Spec) PropertyType(resourceType, name string) (map[string]TypeProperty, error) {
	r, ok := s.resources[resourceType]
	if !ok {
		return nil, fmt.Errorf("resource specification: no resource type %s", resourceType)
	}
	var pending []specType
	for _, p := range r.Properties {
		pending = append(pending, p.Type)
	}
	seen := map[string]bool{}
	for len(pending) > 0 {
		st := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if st.Element != nil {
			pending = append(pending, *st.Element)
		}
		pending = append(pending, st.Types...)
		id := st.Reference.Ref
		if st.Type != "ref" || seen[id] {
			continue
		}
		seen[id] = true
		td, ok := s.types[id]
		if !ok {
			continue
		}
		if td.Name == name {
			out := make(map[string]TypeProperty, len(td.Properties))
			for k, p := range td.Properties {
				out[k] = TypeProperty{Type: jsonTypeOf(p.Type), Required: p.Required}
			}
			return out, nil
		}
		for _, p := range td.Properties {
			pending = append(pending, p.Type)
		}
	}
	return nil, fmt.Errorf("resource specification: %s uses no property type %s", resourceType, name)
}

func jsonTypeOf(st specType) string {
	switch st.Type {
	case "string", "date-time":
		return "string"
	case "integer", "number", "boolean", "array":
		return st.Type
	case "ref", "map", "json", "tag":
		return "object"
	}
	return ""
}
