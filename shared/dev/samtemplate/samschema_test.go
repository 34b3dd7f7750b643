package samtemplate_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
)

// TestProjectSchemaDescribesTemplates: every SAM property the templates use is described by samschema.json (its
// name, type and contents), so a property added to a template without describing it first fails here.
func TestProjectSchemaDescribesTemplates(t *testing.T) {
	s := loadSchema(t)
	for _, name := range templates {
		t.Run(name, func(t *testing.T) {
			got, err := s.Undescribed(load(t, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range got {
				t.Errorf("%s is not described by samschema.json: describe it from the SAM documentation (README.md beside it)", p)
			}
		})
	}
}

// TestUndescribedFindsWhatTheSchemaLacks: Undescribed reports a property the schema does not know and one it
// declares without describing, and everything inside them, but not what it describes.
func TestUndescribedFindsWhatTheSchemaLacks(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 3
    Timeot: 3
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Role: !GetAtt R.Arn
      VpcConfig:
        SubnetIds: !If [C, [a, b], !Ref AWS::NoValue]
      DeploymentPreference:
        Type: Canary10Percent5Minutes
      Events:
        Raw:
          Type: MSK
          Properties: {Stream: s, Topics: [raw], BatchSizes: 5}
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := loadSchema(t).Undescribed(tpl)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/Globals/Function/Timeot",
		"/Resources/Fn/Properties/DeploymentPreference",
		"/Resources/Fn/Properties/DeploymentPreference/Type",
		"/Resources/Fn/Properties/Events/Raw/Properties/BatchSizes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Undescribed = %q, want %q", got, want)
	}
}

// officialDefs pairs each SAM object samschema.json describes with its definition in the AWS SAM project's schema.
var officialDefs = map[string]string{
	"FunctionResource":          "samtranslator__internal__schema_source__aws_serverless_function__Resource",
	"FunctionProperties":        "samtranslator__internal__schema_source__aws_serverless_function__Properties",
	"Globals":                   "__main____Globals",
	"GlobalsFunction":           "samtranslator__internal__schema_source__aws_serverless_function__Globals",
	"FunctionCode":              "CodeUri",
	"DeadLetterQueue":           "DeadLetterQueue",
	"MSKEvent":                  "MSKEvent",
	"MSKEventProperties":        "MSKEventProperties",
	"ScheduleV2Event":           "samtranslator__internal__schema_source__aws_serverless_function__ScheduleV2Event",
	"ScheduleV2EventProperties": "samtranslator__internal__schema_source__aws_serverless_function__ScheduleV2EventProperties",
	"ScheduleDeadLetterConfig":  "samtranslator__internal__schema_source__aws_serverless_function__DeadLetterConfig",
}

type jsonSchema = map[string]any

// TestProjectSchemaWithinOfficial: with FINFEED_SAM_SCHEMA, every property samschema.json describes for a SAM
// resource, Globals section or event source exists in the AWS SAM project's schema for the same object, with a
// JSON type and enum values it allows, every property it requires is required here too, and every event type
// here is one of SAM's. So the project's schema cannot drift from SAM's.
func TestProjectSchemaWithinOfficial(t *testing.T) {
	ours := readSchema(t, "samschema.json")
	defs := ours["$defs"].(jsonSchema)
	for name := range officialDefs {
		if _, ok := defs[name]; !ok {
			t.Errorf("samschema.json has no $defs/%s", name)
		}
	}
	path := os.Getenv(officialSchemaEnv)
	if path == "" {
		t.Logf("%s is not set: samschema.json is not compared with the AWS SAM project's schema", officialSchemaEnv)
		return
	}
	theirs := readSchema(t, path)
	odefs := theirs["definitions"].(jsonSchema)
	for _, name := range slices.Sorted(maps.Keys(officialDefs)) {
		ours, theirs := defs[name].(jsonSchema), odefs[officialDefs[name]].(jsonSchema)
		for _, p := range compareObjects(ours, theirs, defs, odefs) {
			t.Errorf("$defs/%s (SAM's %s): %s", name, officialDefs[name], p)
		}
	}
	// Event types: each one described here is one of the event source types SAM's function accepts.
	samEvents := map[string]bool{}
	fnProps := odefs[officialDefs["FunctionProperties"]].(jsonSchema)["properties"].(jsonSchema)
	for _, alt := range fnProps["Events"].(jsonSchema)["additionalProperties"].(jsonSchema)["anyOf"].([]any) {
		for _, v := range officialType(alt.(jsonSchema)["$ref"].(string), "Type", odefs).enum {
			samEvents[fmt.Sprint(v)] = true
		}
	}
	for _, v := range defs["Event"].(jsonSchema)["properties"].(jsonSchema)["Type"].(jsonSchema)["enum"].([]any) {
		if !samEvents[fmt.Sprint(v)] {
			t.Errorf("event type %v is not one of SAM's: %v", v, slices.Sorted(maps.Keys(samEvents)))
		}
	}
}

func readSchema(t *testing.T, path string) jsonSchema {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s jsonSchema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// compareObjects lists what our object definition has that SAM's does not allow.
func compareObjects(ours, theirs, defs, odefs jsonSchema) []string {
	var out []string
	props, _ := ours["properties"].(jsonSchema)
	oprops, _ := theirs["properties"].(jsonSchema)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		op, ok := oprops[k]
		if !ok {
			out = append(out, fmt.Sprintf("property %s is not in SAM's schema", k))
			continue
		}
		our := ourType(props[k].(jsonSchema), defs)
		their := officialKind(op.(jsonSchema), odefs)
		if len(their.types) > 0 && len(our.types) > 0 {
			for ty := range our.types {
				if !their.types[ty] && !(ty == "integer" && their.types["number"]) {
					out = append(out, fmt.Sprintf("property %s: type %s, SAM's allows %v", k, ty, slices.Sorted(maps.Keys(their.types))))
				}
			}
		}
		if len(their.enum) > 0 {
			for _, v := range our.enum {
				if !slices.Contains(their.enum, v) {
					out = append(out, fmt.Sprintf("property %s: value %v, SAM's allows %v", k, v, their.enum))
				}
			}
		}
	}
	required := map[string]bool{}
	for _, r := range asList(ours["required"]) {
		required[fmt.Sprint(r)] = true
	}
	for _, r := range asList(theirs["required"]) {
		if !required[fmt.Sprint(r)] {
			out = append(out, fmt.Sprintf("SAM requires %v, this schema does not", r))
		}
	}
	return out
}

// kind is what a schema says of a value: its JSON types (empty: anything) and allowed values (empty: any).
type kind struct {
	types map[string]bool
	enum  []any
}

// ourType reads the shapes samschema.json uses: $ref to a scalar or an object definition, if-intrinsic-else,
// const, enum, type.
func ourType(s, defs jsonSchema) kind {
	k := kind{types: map[string]bool{}}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		switch name {
		case "string", "integer", "number", "boolean":
			k.types[name] = true
		case "strings":
			k.types["array"] = true
		case "undescribed":
		default:
			return ourType(defs[name].(jsonSchema), defs)
		}
		return k
	}
	if e, ok := s["else"].(jsonSchema); ok { // if intrinsic (or a string) else ...
		k = ourType(e, defs)
		if th, ok := s["then"].(jsonSchema); ok {
			maps.Copy(k.types, ourType(th, defs).types)
		}
		return k
	}
	if c, ok := s["const"]; ok {
		k.enum = []any{c}
		k.types[jsonType(c)] = true
		return k
	}
	if e, ok := s["enum"].([]any); ok {
		k.enum = e
		for _, v := range e {
			k.types[jsonType(v)] = true
		}
		return k
	}
	for _, ty := range asList(s["type"]) {
		k.types[fmt.Sprint(ty)] = true
	}
	return k
}

// officialKind reads SAM's schema: type, enum, anyOf of those, allOf/$ref to a definition (PassThroughProp, an
// empty definition, allows anything).
func officialKind(s, odefs jsonSchema) kind {
	k := kind{types: map[string]bool{}}
	if ref, ok := s["$ref"].(string); ok {
		return officialKind(odefs[strings.TrimPrefix(ref, "#/definitions/")].(jsonSchema), odefs)
	}
	if all, ok := s["allOf"].([]any); ok && len(all) == 1 {
		return officialKind(all[0].(jsonSchema), odefs)
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		for _, a := range anyOf {
			ak := officialKind(a.(jsonSchema), odefs)
			if len(ak.types) == 0 {
				return kind{types: map[string]bool{}}
			}
			maps.Copy(k.types, ak.types)
			k.enum = append(k.enum, ak.enum...)
		}
		return k
	}
	for _, ty := range asList(s["type"]) {
		k.types[fmt.Sprint(ty)] = true
	}
	if e, ok := s["enum"].([]any); ok {
		k.enum = e
	}
	return k
}

// officialType is the kind of property prop of SAM's definition at ref.
func officialType(ref, prop string, odefs jsonSchema) kind {
	def := odefs[strings.TrimPrefix(ref, "#/definitions/")].(jsonSchema)
	return officialKind(def["properties"].(jsonSchema)[prop].(jsonSchema), odefs)
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	}
	return "object"
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

// cfnTypes pairs each object samschema.json describes that SAM passes on to CloudFormation unchanged with its
// property type in the CloudFormation resource specification.
var cfnTypes = map[string][2]string{
	"VpcConfig":                    {"AWS::Lambda::Function", "VpcConfig"},
	"Environment":                  {"AWS::Lambda::Function", "Environment"},
	"EphemeralStorage":             {"AWS::Lambda::Function", "EphemeralStorage"},
	"ImageConfig":                  {"AWS::Lambda::Function", "ImageConfig"},
	"FunctionLoggingConfig":        {"AWS::Lambda::Function", "LoggingConfig"},
	"RuntimeManagementConfig":      {"AWS::Lambda::Function", "RuntimeManagementConfig"},
	"SnapStart":                    {"AWS::Lambda::Function", "SnapStart"},
	"FunctionScalingConfig":        {"AWS::Lambda::Function", "FunctionScalingConfig"},
	"ProvisionedConcurrencyConfig": {"AWS::Lambda::Alias", "ProvisionedConcurrencyConfiguration"},
	"DestinationConfig":            {"AWS::Lambda::EventSourceMapping", "DestinationConfig"},
	"OnFailure":                    {"AWS::Lambda::EventSourceMapping", "OnFailure"},
	"FilterCriteria":               {"AWS::Lambda::EventSourceMapping", "FilterCriteria"},
	"Filter":                       {"AWS::Lambda::EventSourceMapping", "Filter"},
	"EventSourceLoggingConfig":     {"AWS::Lambda::EventSourceMapping", "LoggingConfig"},
	"MetricsConfig":                {"AWS::Lambda::EventSourceMapping", "MetricsConfig"},
	"ProvisionedPollerConfig":      {"AWS::Lambda::EventSourceMapping", "ProvisionedPollerConfig"},
	"MSKSourceAccessConfiguration": {"AWS::Lambda::EventSourceMapping", "SourceAccessConfiguration"},
	"FlexibleTimeWindow":           {"AWS::Scheduler::Schedule", "FlexibleTimeWindow"},
	"RetryPolicy":                  {"AWS::Scheduler::Schedule", "RetryPolicy"},
}

// TestProjectSchemaWithinCloudFormation: the objects SAM passes on to CloudFormation as they are (the official SAM
// schema does not describe them) have, in samschema.json, only properties the CloudFormation resource
// specification knows, with its JSON type, and require all it requires. Every object definition is either here,
// in officialDefs, or one of the template's own sections.
func TestProjectSchemaWithinCloudFormation(t *testing.T) {
	sp := loadSpec(t)
	defs := readSchema(t, "samschema.json")["$defs"].(jsonSchema)
	anatomy := []string{"Parameter", "Rule", "Output", "Resource", "CfnResource", "Event"}
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		def := defs[name].(jsonSchema)
		if _, ok := def["properties"]; !ok || slices.Contains(anatomy, name) {
			continue
		}
		_, sam := officialDefs[name]
		cfn, ok := cfnTypes[name]
		if !sam && !ok {
			t.Errorf("$defs/%s: pair it with SAM's definition (officialDefs) or CloudFormation's type (cfnTypes)", name)
		}
		if !ok {
			continue
		}
		props, err := sp.PropertyType(cfn[0], cfn[1])
		if err != nil {
			t.Errorf("$defs/%s: %v", name, err)
			continue
		}
		ours := def["properties"].(jsonSchema)
		for _, k := range slices.Sorted(maps.Keys(ours)) {
			p, ok := props[k]
			if !ok {
				t.Errorf("$defs/%s: property %s is not in %s %s (%v)", name, k, cfn[0], cfn[1], slices.Sorted(maps.Keys(props)))
				continue
			}
			for ty := range ourType(ours[k].(jsonSchema), defs).types {
				if p.Type != "" && ty != p.Type && !(ty == "integer" && p.Type == "number") {
					t.Errorf("$defs/%s: property %s is %s here, %s in %s %s", name, k, ty, p.Type, cfn[0], cfn[1])
				}
			}
		}
		required := asList(def["required"])
		for _, k := range slices.Sorted(maps.Keys(props)) {
			if props[k].Required && !slices.Contains(required, any(k)) {
				t.Errorf("$defs/%s: %s %s requires %s, this schema does not", name, cfn[0], cfn[1], k)
			}
		}
	}
}
