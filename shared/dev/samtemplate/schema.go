package samtemplate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Schema is a compiled JSON schema of SAM templates: the project's own (ProjectSchema) or the AWS SAM project's
// (LoadSchema).
type Schema struct {
	s *jsonschema.Schema
	// own: the project's schema, written for one template at a time (no anyOf of every SAM type), which sees
	// each branch of every Fn::If.
	own bool
}

// projectSchema is the project's schema of the SAM resource and event types its templates use, from the SAM
// documentation (README.md beside it cites the pages).
//
//go:embed samschema.json
var projectSchema []byte

// ProjectSchema compiles the project's own schema (samschema.json, embedded): the SAM resource and event types the
// templates use, every property SAM documents for them, their JSON types, required properties and enums, and
// unknown properties as errors.
func ProjectSchema() (*Schema, error) {
	c := jsonschema.NewCompiler()
	if err := c.AddResource("samschema.json", bytes.NewReader(projectSchema)); err != nil {
		return nil, fmt.Errorf("load project sam schema: %w", err)
	}
	s, err := c.Compile("samschema.json")
	if err != nil {
		return nil, fmt.Errorf("compile project sam schema: %w", err)
	}
	return &Schema{s: s, own: true}, nil
}

// The one pattern Go's regexp cannot compile (a lookahead), and its equivalent.
const (
	lookahead   = `"pattern": "^(?!AWS::Serverless::).+$"`
	replacement = `"not": {"pattern": "^AWS::Serverless::"}`
)

// LoadSchema compiles the AWS SAM project's schema at path (schema_source/sam.schema.json of
// aws/serverless-application-model).
func LoadSchema(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sam schema: %w", err)
	}
	if !bytes.Contains(data, []byte(lookahead)) {
		return nil, fmt.Errorf("sam schema %s: the lookahead pattern to replace is not there; check the recipe", path)
	}
	data = bytes.ReplaceAll(data, []byte(lookahead), []byte(replacement))
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sam.schema.json", bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("load sam schema: %w", err)
	}
	s, err := c.Compile("sam.schema.json")
	if err != nil {
		return nil, fmt.Errorf("compile sam schema: %w", err)
	}
	return &Schema{s: s}, nil
}

// Validate checks t against the schema and returns the leaf causes, as "<JSON pointer>: <message>".
func (s *Schema) Validate(t *Template) []error {
	var doc any
	if err := json.Unmarshal(t.JSON, &doc); err != nil {
		return []error{fmt.Errorf("decode template: %w", err)}
	}
	if !s.own {
		return s.validateOfficial(t, doc)
	}
	var kept []string
	for _, d := range ifBranches(doc) {
		for _, l := range s.leaves(d) {
			kept = append(kept, fmt.Sprintf("%s: %s", l.InstanceLocation, l.Message))
		}
	}
	return sortedErrors(kept)
}

// ifBranches returns the template document twice: every Fn::If replaced by its first value, then by its second
// (a Ref to AWS::NoValue removes the property or list item), so that a schema sees each value a condition can
// choose.
func ifBranches(doc any) []any {
	return []any{pickIf(doc, 1), pickIf(doc, 2)}
}

// absent stands for a value that is not there (Ref AWS::NoValue).
type absent struct{}

func pickIf(v any, branch int) any {
	switch x := v.(type) {
	case map[string]any:
		if args, ok := x["Fn::If"].([]any); ok && len(x) == 1 && len(args) == 3 {
			chosen := args[branch]
			if m, ok := chosen.(map[string]any); ok && len(m) == 1 && m["Ref"] == "AWS::NoValue" {
				return absent{}
			}
			return pickIf(chosen, branch)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if p := pickIf(e, branch); p != (absent{}) {
				out[k] = p
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if p := pickIf(e, branch); p != (absent{}) {
				out = append(out, p)
			}
		}
		return out
	}
	return v
}

// leaves validates doc and returns the leaf causes of what fails.
func (s *Schema) leaves(doc any) []*jsonschema.ValidationError {
	err := s.s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []*jsonschema.ValidationError{{InstanceLocation: "", Message: err.Error()}}
	}
	var out []*jsonschema.ValidationError
	collectLeaves(ve, &out)
	return out
}

// validateOfficial: SAM's schema is a large anyOf (one branch per resource and event type), so for events only
// the causes from the declared Type's branch are kept.
func (s *Schema) validateOfficial(t *Template, doc any) []error {
	leaves := s.leaves(doc)
	var kept []string
	for _, l := range leaves {
		if relevant(t, l) {
			kept = append(kept, fmt.Sprintf("%s: %s", l.InstanceLocation, l.Message))
		}
	}
	if len(kept) == 0 {
		for _, l := range leaves {
			kept = append(kept, fmt.Sprintf("%s: %s", l.InstanceLocation, l.Message))
		}
	}
	return sortedErrors(kept)
}

func sortedErrors(msgs []string) []error {
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	out := make([]error, len(msgs))
	for i, m := range msgs {
		out[i] = errors.New(m)
	}
	return out
}

func collectLeaves(ve *jsonschema.ValidationError, into *[]*jsonschema.ValidationError) {
	if len(ve.Causes) == 0 {
		*into = append(*into, ve)
		return
	}
	for _, c := range ve.Causes {
		collectLeaves(c, into)
	}
}

var eventLoc = regexp.MustCompile(`^/Resources/([^/]+)/Properties/Events/([^/]+)`)

var resourceLoc = regexp.MustCompile(`^/Resources/([^/]+)`)

// relevant drops causes from anyOf branches for other resource or event types than the one declared.
func relevant(t *Template, l *jsonschema.ValidationError) bool {
	loc := l.AbsoluteKeywordLocation
	if m := eventLoc.FindStringSubmatch(l.InstanceLocation); m != nil {
		typ, _ := dig(t.Resources[m[1]].Properties, "Events", m[2], "Type").(string)
		if typ == "" {
			return true
		}
		return strings.Contains(loc, "/definitions/"+typ+"Event") || strings.Contains(loc, "__"+strings.ToLower(typ[:1])+typ[1:]+"Event") ||
			strings.Contains(strings.ToLower(loc), "_"+strings.ToLower(typ)+"event")
	}
	if m := resourceLoc.FindStringSubmatch(l.InstanceLocation); m != nil {
		r, ok := t.Resources[m[1]]
		if !ok {
			return true
		}
		serverless := strings.HasPrefix(r.Type, "AWS::Serverless::")
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(r.Type, "AWS::Serverless::"), "::", "_"))
		if serverless {
			return strings.Contains(strings.ToLower(loc), "aws_serverless_"+name)
		}
		return !strings.Contains(strings.ToLower(loc), "aws_serverless_")
	}
	return true
}
