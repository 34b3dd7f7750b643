package samtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Schema is the AWS SAM project's JSON schema for templates, compiled.
type Schema struct {
	s *jsonschema.Schema
}

// The one pattern Go's regexp cannot compile (a lookahead), and its equivalent.
const (
	lookahead   = `"pattern": "^(?!AWS::Serverless::).+$"`
	replacement = `"not": {"pattern": "^AWS::Serverless::"}`
)

// LoadSchema compiles the SAM schema at path.
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

// Validate checks t against the schema and returns the leaf causes. SAM's schema is a large anyOf (one branch
// per resource and event type), so for events only the causes from the declared Type's branch are kept.
func (s *Schema) Validate(t *Template) []error {
	var doc any
	if err := json.Unmarshal(t.JSON, &doc); err != nil {
		return []error{fmt.Errorf("decode template: %w", err)}
	}
	err := s.s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []error{err}
	}
	var leaves []*jsonschema.ValidationError
	collectLeaves(ve, &leaves)
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
	slices.Sort(kept)
	kept = slices.Compact(kept)
	out := make([]error, len(kept))
	for i, k := range kept {
		out[i] = errors.New(k)
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
