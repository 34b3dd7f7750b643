package samtemplate_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
)

// small is a template that exercises every intrinsic the resolver knows, in conditions, values and references.
const small = `
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
  ClusterArn: {Type: String, Default: ""}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  InUsEast: !Equals [!Ref "AWS::Region", us-east-1]
  ProdInUsEast: !And [{Condition: IsProd}, {Condition: InUsEast}]
  ThreeZones: !Equals [!Join [",", !Ref Zones], "a,b,c"]
  NotProd: !Not [{Condition: IsProd}]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Condition: IsProd
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub ["${AWS::StackName}-${Env}-${Zone}", {Zone: !Select [1, !Ref Zones]}]
      Zone: !Select [1, !Ref Zones]
      Parts: !Split ["/", "x/y/z"]
      Joined: !Join ["-", [!Ref Env, !Select [2, !Ref Zones]]]
      Gone: !If [IsProd, !Ref Bucket, !Ref "AWS::NoValue"]
      List: [one, !If [NotProd, !Ref "AWS::NoValue", two], 3]
`

func parseSmall(t *testing.T, old, new string) *samtemplate.Template {
	t.Helper()
	if !strings.Contains(small, old) {
		t.Fatalf("the small template lacks %q", old)
	}
	tpl, err := samtemplate.Parse([]byte(strings.Replace(small, old, new, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestResolverConditions(t *testing.T) {
	tpl := parseSmall(t, "", "")
	dev, prod := tpl.Defaults(), tpl.Defaults()
	prod["Env"] = "prod"
	tests := []struct {
		cond string
		s    samtemplate.Scenario
		want bool
	}{
		{"IsProd", dev, false},
		{"IsProd", prod, true},
		{"InUsEast", dev, true}, // a pseudo parameter
		{"ProdInUsEast", prod, true},
		{"ProdInUsEast", dev, false},
		{"ThreeZones", dev, true}, // Fn::Join of a list parameter
		{"NotProd", dev, true},
	}
	for _, tt := range tests {
		got, err := tpl.Condition(tt.cond, tt.s)
		if err != nil || got != tt.want {
			t.Errorf("%s with %s: got %v, %v; want %v", tt.cond, tt.s, got, err, tt.want)
		}
	}
	for name, tt := range map[string]struct{ old, new, want string }{
		"a cycle":              {"NotProd: !Not [{Condition: IsProd}]", "NotProd: !Not [{Condition: NotProd}]", "depends on itself"},
		"a resource":           {"InUsEast: !Equals [!Ref \"AWS::Region\", us-east-1]", "InUsEast: !Equals [!Ref Bucket, us-east-1]", `refers to "Bucket", which is not a parameter`},
		"an attribute":         {"InUsEast: !Equals [!Ref \"AWS::Region\", us-east-1]", "InUsEast: !Equals [!GetAtt Bucket.Arn, us-east-1]", "Fn::GetAtt is not allowed in a condition"},
		"an undefined one":     {"!And [{Condition: IsProd}, {Condition: InUsEast}]", "!And [{Condition: IsProd}, {Condition: InEurope}]", `condition "InEurope" is not defined`},
		"no condition at all":  {"NotProd: !Not [{Condition: IsProd}]", "NotProd: !Ref Env", "not a condition function"},
		"Fn::And of one thing": {"!And [{Condition: IsProd}, {Condition: InUsEast}]", "!And [{Condition: IsProd}]", "needs 2 to 10 conditions"},
	} {
		tpl := parseSmall(t, tt.old, tt.new)
		var errs []string
		for c := range tpl.Conditions {
			if _, err := tpl.Condition(c, tpl.Defaults()); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
			t.Errorf("%s: errors %q, want one with %q", name, errs, tt.want)
		}
	}
}

func TestResolverValues(t *testing.T) {
	tpl := parseSmall(t, "", "")
	prod := tpl.Defaults()
	prod["Env"] = "prod"
	fakes := samtemplate.Fakes{
		Ref:    func(id, _ string) string { return "ref-" + id },
		GetAtt: func(id, _, attr string) string { return id + "." + attr },
	}
	tests := []struct {
		name string
		s    samtemplate.Scenario
		want map[string]any
	}{
		{"dev", tpl.Defaults(), map[string]any{"QueueName": "finfeed-dev-dev-b", "Zone": "b", "Parts": []string{"x", "y", "z"},
			"Joined": "dev-c", "List": []string{"one", "3"}}},
		{"prod", prod, map[string]any{"QueueName": "finfeed-dev-prod-b", "Zone": "b", "Parts": []string{"x", "y", "z"},
			"Joined": "prod-c", "Gone": "ref-Bucket", "List": []string{"one", "two", "3"}}},
	}
	for _, tt := range tests {
		got, ok, err := tpl.Value(tpl.Resources["Queue"].Properties, tt.s, fakes)
		if err != nil || !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, %v, %v; want %v", tt.name, got, ok, err, tt.want)
		}
	}
	bad := parseSmall(t, "Zone: !Select [1, !Ref Zones]", "Zone: !Select [5, !Ref Zones]")
	if _, _, err := bad.Value(bad.Resources["Queue"].Properties, bad.Defaults(), fakes); err == nil || !strings.Contains(err.Error(), "Zone: Fn::Select index 5 outside a list of 3") {
		t.Errorf("select beyond the list: got %v, want the index outside the list at Zone", err)
	}
}

// The checker resolves what it cannot evaluate too, for the references inside, and only in the branches a
// scenario takes.
func TestCheckRefsResolvesEverywhere(t *testing.T) {
	if errs := parseSmall(t, "", "").CheckRefs(nil); len(errs) > 0 {
		t.Fatalf("the small template: %v", errs)
	}
	tests := []struct{ name, old, new, want string }{
		{"inside a function resolved only by CloudFormation", "Parts: !Split", "Other: !FindInMap [Map, !Ref Nothing, Key]\n      Parts: !Split",
			`Resources.Queue.Properties.Other.Fn::FindInMap[1]: Ref "Nothing" is neither a parameter nor a resource`},
		{"inside Fn::Select", "!Select [2, !Ref Zones]", "!Select [2, [!Ref Nothing]]",
			`Resources.Queue.Properties.Joined.Fn::Join[1][1].Fn::Select[1][0]: Ref "Nothing"`},
		{"a Sub name", "${Zone}", "${Zones2}", `Resources.Queue.Properties.QueueName: Ref "Zones2" is neither`},
		{"the wrong branch of Fn::If", "!If [IsProd, !Ref Bucket,", "!If [NotProd, !Ref Bucket,",
			`Resources.Queue.Properties.Gone: Ref "Bucket", a resource that is not created here (condition IsProd) (with Env=dev`},
		{"an undefined condition in Fn::If", "!If [IsProd, !Ref Bucket,", "!If [IsProduction, !Ref Bucket,",
			`Resources.Queue.Properties.Gone: condition "IsProduction" is not defined`},
		{"a DependsOn", "    Type: AWS::SQS::Queue\n", "    Type: AWS::SQS::Queue\n    DependsOn: Bucket\n",
			`Resources.Queue.DependsOn: "Bucket" is not a resource here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range parseSmall(t, tt.old, tt.new).CheckRefs(nil) {
				got = append(got, e.Error())
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("problems:\n%s\nwant one with:\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}
