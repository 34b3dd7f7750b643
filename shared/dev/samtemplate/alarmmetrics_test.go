package samtemplate_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/samtemplate"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/ingest"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
)

// emitted is what a component's EMF lines declare: its metric names and the one dimension set, with the value
// the alarms must select.
type emitted struct {
	names     map[string]bool
	dimension string // "Name=Value", Value "ref:X" for the Ref of resource X
	// absent, when set, says why nothing writes this namespace in the scenario: an alarm reading it is wrong.
	absent string
}

// emfDeclared collects the metric names and dimension names of EMF lines.
func emfDeclared(t *testing.T, out []byte) (names map[string]bool, dims [][]string, values map[string]any) {
	t.Helper()
	names, values = map[string]bool{}, map[string]any{}
	for line := range strings.Lines(string(out)) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		raw, _ := json.Marshal(m["_aws"])
		if err := json.Unmarshal(raw, &meta); err != nil || len(meta.CloudWatchMetrics) != 1 {
			t.Fatalf("EMF line %q: no declaration (%v)", line, err)
		}
		for _, md := range meta.CloudWatchMetrics[0].Metrics {
			names[md.Name] = true
		}
		dims = meta.CloudWatchMetrics[0].Dimensions
		maps.Copy(values, m)
	}
	return names, dims, values
}

// noHistory is a replay source with nothing before the test's one-record batch.
type noHistory struct{}

func (noHistory) Replay(context.Context, string, int32, int64, int64, func(int64, time.Time, []byte)) error {
	return nil
}

type discardProducer struct{}

func (discardProducer) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	promise(r, nil)
}
func (discardProducer) Flush(context.Context) error { return nil }

// enrichEmits runs the enrich function's handler on one bar and reads what its EMF line declares.
func enrichEmits(t *testing.T) emitted {
	t.Helper()
	store, err := prevclose.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	st, err := enrichfn.NewState(state.NewMemory(), noHistory{}, state.DefaultCheckpointEvery, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := enrichfn.NewHandler(&enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store},
		st, discardProducer{}, "enhanced", "raw.dlq", nil)
	var out bytes.Buffer
	h.EmitMetrics(&out, "finfeed-test-enrich")
	bar := `{"open":1,"high":2,"low":1,"close":2,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"NVDA"}`
	ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{"raw-0": {{Topic: "raw", Offset: 1,
		Timestamp: events.MilliSecondsEpochTime{Time: time.Now()}, Value: base64.StdEncoding.EncodeToString([]byte(bar))}}}}
	if _, err := h.Handle(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	names, dims, values := emfDeclared(t, out.Bytes())
	if len(dims) != 1 || !slices.Equal(dims[0], []string{"FunctionName"}) || values["FunctionName"] != "finfeed-test-enrich" {
		t.Fatalf("enrich EMF dimensions %v (FunctionName %v), want [[FunctionName]]", dims, values["FunctionName"])
	}
	return emitted{names: names, dimension: "FunctionName=ref:EnrichFunction"}
}

// ingesterEmits reads what the ingester's EMF line declares when it runs with the environment the template's
// task definition gives it in scenario s: its configuration loaded as the task loads it, a line written as the
// task writes it. The dimension value is then whatever the task's METRICS_SERVICE makes it (the local default
// when the task sets none), resolved for s.
func ingesterEmits(t *testing.T, tpl *samtemplate.Template, s samtemplate.Scenario) emitted {
	t.Helper()
	task, ok := tpl.Resources["IngesterTask"]
	if !ok {
		return emitted{absent: "the template has no IngesterTask"}
	}
	if on, err := tpl.Active("IngesterTask", s); err != nil {
		t.Fatal(err)
	} else if !on {
		return emitted{absent: "no IngesterTask in this scenario writes it"}
	}
	defs, _ := task.Properties["ContainerDefinitions"].([]any)
	if len(defs) != 1 {
		t.Fatalf("IngesterTask: %d containers, want 1", len(defs))
	}
	v, _, err := tpl.Value(defs[0].(map[string]any)["Environment"], s, samtemplate.PlausibleFakes)
	if err != nil {
		t.Fatalf("%s: IngesterTask's Environment: %v", s, err)
	}
	env := map[string]string{}
	list, _ := v.([]any)
	for _, e := range list {
		kv, _ := e.(map[string]any)
		env[fmt.Sprint(kv["Name"])] = fmt.Sprint(kv["Value"])
	}
	cfg, err := ingest.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: the ingester rejects IngesterTask's Environment: %v", s, err)
	}
	m := ingest.Metrics{Service: cfg.MetricsService} // as ingest.New builds them (shared/ingest's tests check that)
	var out bytes.Buffer
	if err := m.WriteEMF(&out, time.Now()); err != nil {
		t.Fatal(err)
	}
	names, dims, values := emfDeclared(t, out.Bytes())
	if len(dims) != 1 || len(dims[0]) != 1 {
		t.Fatalf("ingester EMF dimensions %v, want one", dims)
	}
	return emitted{names: names, dimension: fmt.Sprintf("%s=%v", dims[0][0], values[dims[0][0]])}
}

var (
	alarmID  = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
	exprWord = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
)

// alarmMetricProblems checks an alarm's resolved properties: each metric of our own namespaces is one its
// component emits, selected by the dimension it emits; a metric-math alarm has ids of CloudWatch's form, returns
// exactly one series, and its expressions name only ids it defines (CloudWatch's functions are upper case, ids
// start lower case).
func alarmMetricProblems(props map[string]any, ours map[string]emitted) []string {
	var problems []string
	checkMetric := func(ns, name string, dims any) {
		e, ok := ours[ns]
		if !ok {
			return
		}
		if e.absent != "" {
			problems = append(problems, fmt.Sprintf("%s/%s: %s", ns, name, e.absent))
			return
		}
		if !e.names[name] {
			problems = append(problems, fmt.Sprintf("%s/%s: not a metric it emits (%v)", ns, name, slices.Sorted(maps.Keys(e.names))))
		}
		var got []string
		ds, _ := dims.([]any)
		for _, d := range ds {
			dm, _ := d.(map[string]any)
			got = append(got, fmt.Sprintf("%v=%v", dm["Name"], dm["Value"]))
		}
		if !slices.Equal(got, []string{e.dimension}) {
			problems = append(problems, fmt.Sprintf("%s/%s: dimensions %v, want [%s]", ns, name, got, e.dimension))
		}
	}
	if name, ok := props["MetricName"].(string); ok {
		ns, _ := props["Namespace"].(string)
		checkMetric(ns, name, props["Dimensions"])
	}
	ms, _ := props["Metrics"].([]any)
	if len(ms) == 0 {
		return problems
	}
	ids, returned := map[string]bool{}, 0
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		id, _ := mm["Id"].(string)
		if !alarmID.MatchString(id) || ids[id] {
			problems = append(problems, fmt.Sprintf("metric id %q: not a lower-case identifier, or used twice", id))
		}
		ids[id] = true
		if rd, set := mm["ReturnData"]; !set || fmt.Sprint(rd) == "true" {
			returned++
		}
	}
	if returned != 1 {
		problems = append(problems, fmt.Sprintf("%d metrics return data, want exactly 1", returned))
	}
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		if stat, ok := mm["MetricStat"].(map[string]any); ok {
			metric, _ := stat["Metric"].(map[string]any)
			ns, _ := metric["Namespace"].(string)
			name, _ := metric["MetricName"].(string)
			checkMetric(ns, name, metric["Dimensions"])
		}
		expr, _ := mm["Expression"].(string)
		for _, w := range exprWord.FindAllString(expr, -1) {
			if w[0] >= 'a' && w[0] <= 'z' && !ids[w] {
				problems = append(problems, fmt.Sprintf("expression %q: %q is no metric id of this alarm", expr, w))
			}
		}
	}
	return problems
}

// The alarms on our own metrics read what the code emits: every finfeed/enrich and finfeed/ingester metric an
// alarm reads is declared by the function's (the ingester's) EMF line, with the dimension it is written under,
// and every metric-math expression refers to metrics the alarm defines. Checked in every condition combination
// and for every Environment: the ingester's dimension value comes from its task definition and names the stack.
func TestAlarmsReadWhatIsEmitted(t *testing.T) {
	problems, read, combos := alarmReadProblems(t, load(t, "template.yaml"))
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d combinations of condition values and environments", combos)
	for _, want := range []string{"finfeed/enrich/SourceLag", "finfeed/enrich/NewestBarAge", "finfeed/enrich/Unknown",
		"finfeed/ingester/Produced", "finfeed/ingester/BufferDepth"} {
		if !read[want] {
			t.Errorf("no alarm reads %s in any scenario", want)
		}
	}
}

// alarmReadProblems runs the check of TestAlarmsReadWhatIsEmitted on tpl: each problem once, with the first
// scenario showing it, the metrics (namespace/name) active alarms read, and how many combinations were checked.
func alarmReadProblems(t *testing.T, tpl *samtemplate.Template) (problems []string, read map[string]bool, combos int) {
	t.Helper()
	enrich := enrichEmits(t)
	refs := samtemplate.Fakes{Ref: func(id, _ string) string { return "ref:" + id }, GetAtt: samtemplate.PlausibleFakes.GetAtt}
	read = map[string]bool{}  // namespace/metric read by an active alarm somewhere
	seen := map[string]bool{} // alarm id + problem, reported once
	// an alarm's properties change only with the conditions the alarms name (their own, and Fn::If inside them)
	// and with Environment, the stack's name, which dimension values may carry: one scenario of each combination
	used := map[string]bool{}
	for _, id := range tpl.ResourceIDs() {
		if r := tpl.Resources[id]; r.Type == "AWS::CloudWatch::Alarm" {
			used[r.Condition] = r.Condition != ""
			ifConditions(r.Properties, used)
		}
	}
	envs := tpl.Parameters["Environment"].AllowedValues
	if len(envs) < 2 {
		t.Fatalf("parameter Environment allows %v, want the stacks' names (dev, prod)", envs)
	}
	done := map[string]bool{}
	for _, base := range tpl.Scenarios() {
		for _, env := range envs {
			s := maps.Clone(base)
			s["Environment"] = fmt.Sprint(env)
			task := false
			if _, ok := tpl.Resources["IngesterTask"]; ok {
				var err error
				if task, err = tpl.Active("IngesterTask", s); err != nil {
					t.Fatal(err)
				}
			}
			var combo strings.Builder
			fmt.Fprint(&combo, "Environment=", env, " IngesterTask=", task, " ")
			for _, c := range slices.Sorted(maps.Keys(used)) {
				if !used[c] {
					continue
				}
				on, err := tpl.Condition(c, s)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprint(&combo, c, "=", on, " ")
			}
			if done[combo.String()] {
				continue
			}
			done[combo.String()] = true
			ours := map[string]emitted{enrichfn.Namespace: enrich, ingest.Namespace: ingesterEmits(t, tpl, s)}
			for _, id := range tpl.ResourceIDs() {
				if tpl.Resources[id].Type != "AWS::CloudWatch::Alarm" {
					continue
				}
				if on, err := tpl.Active(id, s); err != nil || !on {
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				v, _, err := tpl.Value(tpl.Resources[id].Properties, s, refs)
				if err != nil {
					t.Fatalf("%s: %s: %v", s, id, err)
				}
				props := v.(map[string]any)
				for _, p := range alarmMetricProblems(props, ours) {
					if !seen[id+p] {
						seen[id+p] = true
						problems = append(problems, fmt.Sprintf("%s (e.g. %s): %s", id, s, p))
					}
				}
				for _, m := range alarmMetrics(props) {
					read[m] = true
				}
			}
		}
	}
	return problems, read, len(done)
}

// ifConditions adds the condition of every Fn::If in v to into.
func ifConditions(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if args, ok := e.([]any); ok && k == "Fn::If" && len(args) == 3 {
				if c, ok := args[0].(string); ok {
					into[c] = true
				}
			}
			ifConditions(e, into)
		}
	case []any:
		for _, e := range x {
			ifConditions(e, into)
		}
	}
}

// The check above finds what it is for: a metric the code does not emit, a wrong dimension, an expression naming
// an id the alarm lacks, two series returned.
func TestAlarmMetricProblemsCatchMistakes(t *testing.T) {
	ours := map[string]emitted{"finfeed/enrich": {names: map[string]bool{"SourceLag": true}, dimension: "FunctionName=ref:EnrichFunction"}}
	metric := func(name, dim string) map[string]any {
		return map[string]any{"Namespace": "finfeed/enrich", "MetricName": name,
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": dim}}}
	}
	good := func() []any {
		return []any{
			map[string]any{"Id": "lag", "ReturnData": false, "MetricStat": map[string]any{"Metric": metric("SourceLag", "ref:EnrichFunction")}},
			map[string]any{"Id": "minutes", "Expression": "IF(lag > 0, lag / 60, 0)", "ReturnData": true},
		}
	}
	if p := alarmMetricProblems(map[string]any{"Metrics": good()}, ours); len(p) != 0 {
		t.Fatalf("a correct alarm: %v", p)
	}
	for _, tt := range []struct {
		name  string
		edit  func(ms []any)
		wants string
	}{
		{"metric not emitted", func(ms []any) {
			ms[0].(map[string]any)["MetricStat"] = map[string]any{"Metric": metric("SourceLagSeconds", "ref:EnrichFunction")}
		}, "not a metric it emits"},
		{"wrong dimension", func(ms []any) {
			ms[0].(map[string]any)["MetricStat"] = map[string]any{"Metric": metric("SourceLag", "ref:IndexFunction")}
		}, "dimensions"},
		{"unknown id", func(ms []any) { ms[1].(map[string]any)["Expression"] = "lags / 60" }, `"lags" is no metric id`},
		{"two series", func(ms []any) { ms[0].(map[string]any)["ReturnData"] = true }, "2 metrics return data"},
		{"id form", func(ms []any) { ms[1].(map[string]any)["Id"] = "Minutes" }, "not a lower-case identifier"},
	} {
		ms := good()
		tt.edit(ms)
		p := alarmMetricProblems(map[string]any{"Metrics": ms}, ours)
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tt.wants) }) {
			t.Errorf("%s: problems %v, want one saying %q", tt.name, p, tt.wants)
		}
	}
	if p := alarmMetricProblems(metric("Nope", "ref:EnrichFunction"), ours); len(p) != 1 {
		t.Errorf("a single-metric alarm on a metric not emitted: %v", p)
	}
}

// The template-level check finds an ingester alarm that reads a Service value the task definition does not set:
// the task without METRICS_SERVICE (its metrics then carry the local default), an alarm on one stack's value, an
// alarm on the value every stack once shared, an alarm reading the ingester where no task runs.
func TestAlarmReadProblemsCatchIngesterMistakes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const setByTask = `            - {Name: METRICS_SERVICE, Value: !Sub "finfeed-${Environment}-ingester"}` + "\n"
	const lostAlarm = `      MetricName: Lost
      Dimensions: [{Name: Service, Value: !Sub "finfeed-${Environment}-ingester"}]`
	const lostCondition = "  IngesterLostAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Condition: IngesterEnabled\n"
	for _, tt := range []struct {
		name, old, new string
		want           []string // all in one problem
	}{
		{"the task sets no METRICS_SERVICE", setByTask, "",
			[]string{"IngesterSilentAlarm", "dimensions [Service=finfeed-dev-ingester], want [Service=finfeed-local-ingester]"}},
		{"the task names another stack", setByTask, strings.Replace(setByTask, "${Environment}", "prod", 1),
			[]string{"IngesterNoBarsAlarm", "dimensions [Service=finfeed-dev-ingester], want [Service=finfeed-prod-ingester]"}},
		{"an alarm on dev's value", lostAlarm, strings.Replace(lostAlarm, "${Environment}", "dev", 1),
			[]string{"IngesterLostAlarm", "Environment=prod", "dimensions [Service=finfeed-dev-ingester], want [Service=finfeed-prod-ingester]"}},
		{"an alarm on the value stacks shared", lostAlarm, strings.Replace(lostAlarm, `!Sub "finfeed-${Environment}-ingester"`, "ingester", 1),
			[]string{"IngesterLostAlarm", "finfeed/ingester/Lost: dimensions [Service=ingester], want [Service=finfeed-"}},
		{"an alarm on the ingester where no task runs", lostCondition, strings.Replace(lostCondition, "    Condition: IngesterEnabled\n", "", 1),
			[]string{"IngesterLostAlarm", "finfeed/ingester/Lost: no IngesterTask in this scenario writes it"}},
	} {
		if strings.Count(string(raw), tt.old) != 1 {
			t.Fatalf("%s: template.yaml does not contain %q exactly once", tt.name, tt.old)
		}
		tpl, err := samtemplate.Parse([]byte(strings.Replace(string(raw), tt.old, tt.new, 1)))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		problems, _, _ := alarmReadProblems(t, tpl)
		found := slices.ContainsFunc(problems, func(p string) bool {
			for _, w := range tt.want {
				if !strings.Contains(p, w) {
					return false
				}
			}
			return true
		})
		if !found {
			t.Errorf("%s: problems %q, want one containing all of %q", tt.name, problems, tt.want)
		}
	}
}

// docAlarmNames reads the first column of docs/deploy.md's alarm table: `name`, or `-suffix` after a name, which
// shares that name's first word (`opensearch-red`, `-yellow`).
func docAlarmNames(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs/deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "| alarm (`finfeed-<env>-…`) |")
	if !ok {
		t.Fatal("docs/deploy.md: no alarm table")
	}
	names := map[string]bool{}
	tick := regexp.MustCompile("`([^`]+)`")
	for line := range strings.Lines(table) {
		if !strings.HasPrefix(line, "| `") {
			if strings.TrimSpace(line) == "" {
				break // the table's end
			}
			continue
		}
		first := strings.Split(line, "|")[1]
		word := ""
		for _, m := range tick.FindAllStringSubmatch(first, -1) {
			n := m[1]
			if strings.HasPrefix(n, "-") {
				n = word + n
			} else {
				word, _, _ = strings.Cut(n, "-")
			}
			names[n] = true
		}
	}
	return names
}

// docs/deploy.md's table of alarms names every alarm the template can create, and no other.
func TestDeployDocListsEveryAlarm(t *testing.T) {
	tpl := load(t, "template.yaml")
	documented := docAlarmNames(t)
	inTemplate := map[string]bool{}
	for _, id := range tpl.ResourceIDs() {
		r := tpl.Resources[id]
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		sub, _ := r.Properties["AlarmName"].(map[string]any)["Fn::Sub"].(string)
		name, ok := strings.CutPrefix(sub, "finfeed-${Environment}-")
		if !ok {
			t.Errorf("%s: AlarmName %v, want !Sub finfeed-${Environment}-<name>", id, r.Properties["AlarmName"])
			continue
		}
		inTemplate[name] = true
		if !documented[name] {
			t.Errorf("%s: alarm %q is not in docs/deploy.md's table", id, name)
		}
	}
	for name := range documented {
		if !inTemplate[name] {
			t.Errorf("docs/deploy.md lists alarm %q, which the template does not create", name)
		}
	}
}
