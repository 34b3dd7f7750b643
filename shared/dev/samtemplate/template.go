// Package samtemplate loads a SAM/CloudFormation template and checks it the way SAM and CloudFormation would
// (schema, resource property names, references in every configuration), offline.
package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is a template in its JSON form, intrinsic functions left as written ({"Ref": ...}, {"Fn::If": ...}).
type Template struct {
	Path       string
	JSON       []byte
	Doc        map[string]any
	Parameters map[string]Parameter
	Conditions map[string]any
	Rules      map[string]Rule
	Resources  map[string]Resource
	Outputs    map[string]Output
	Globals    map[string]any
}

// Rule is one entry under Rules: when RuleCondition holds (or there is none), every assertion must hold, or
// CloudFormation refuses the parameters before it changes anything.
type Rule struct {
	RuleCondition any
	Assertions    []RuleAssertion
}

// RuleAssertion is one assertion of a rule.
type RuleAssertion struct {
	Assert            any
	AssertDescription string
}

// Parameter is a template parameter.
type Parameter struct {
	Type          string
	Default       any
	AllowedValues []any
}

// Resource is one entry under Resources.
type Resource struct {
	Type      string
	Condition string
	// DeletionPolicy is what CloudFormation does with the resource when the stack is deleted ("" = Delete).
	DeletionPolicy string
	Properties     map[string]any
	Metadata       map[string]any
	DependsOn      any
}

// Output is one entry under Outputs.
type Output struct {
	Condition string
	Value     any
}

// Load reads and parses a template file.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = path
	return t, nil
}

// Parse converts YAML (short-form tags like !Ref included) to the template's JSON form without resolving
// anything.
func Parse(data []byte) (*Template, error) {
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	var t Template
	t.JSON = js
	if err := json.Unmarshal(js, &t.Doc); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	var typed struct {
		Parameters map[string]Parameter
		Conditions map[string]any
		Rules      map[string]Rule
		Resources  map[string]Resource
		Outputs    map[string]Output
		Globals    map[string]any
	}
	if err := json.Unmarshal(js, &typed); err != nil {
		return nil, fmt.Errorf("decode template sections: %w", err)
	}
	t.Parameters, t.Conditions, t.Rules, t.Resources, t.Outputs, t.Globals = typed.Parameters, typed.Conditions, typed.Rules, typed.Resources, typed.Outputs, typed.Globals
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("no resources")
	}
	return &t, nil
}

// ResourceIDs are the logical ids, sorted.
func (t *Template) ResourceIDs() []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Function is an AWS::Serverless::Function with Globals applied to what the checks need.
type Function struct {
	LogicalID   string
	Condition   string
	BuildMethod string
	// Env is Environment.Variables (Globals first, then the function's), values still in template form.
	Env map[string]any
}

// Functions lists the serverless functions, sorted by logical id.
func (t *Template) Functions() []Function {
	var out []Function
	globalEnv := envOf(dig(t.Globals, "Function"))
	for _, id := range t.ResourceIDs() {
		r := t.Resources[id]
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		f := Function{LogicalID: id, Condition: r.Condition, Env: map[string]any{}}
		if bm, ok := r.Metadata["BuildMethod"].(string); ok {
			f.BuildMethod = bm
		}
		for k, v := range globalEnv {
			f.Env[k] = v
		}
		for k, v := range envOf(r.Properties) {
			f.Env[k] = v
		}
		out = append(out, f)
	}
	return out
}

func envOf(props any) map[string]any {
	vars, _ := dig(props, "Environment", "Variables").(map[string]any)
	return vars
}

// dig walks nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// intrinsic returns the function name and argument when v is a one-key map {"Ref"|"Fn::X"|"Condition": arg}.
func intrinsic(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, arg := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, arg, true
		}
	}
	return "", nil, false
}
