package samtemplate_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// watched names what an alarm must watch: a metric (namespace/name) of the resource `of`, which must exist
// whenever that resource does.
type watched struct {
	of, namespace, metric string
}

// every metric an alarm reads: its own MetricName, or every MetricStat of its Metrics.
func alarmMetrics(props map[string]any) []string {
	var out []string
	if n, ok := props["MetricName"].(string); ok {
		ns, _ := props["Namespace"].(string)
		out = append(out, ns+"/"+n)
	}
	ms, _ := props["Metrics"].([]any)
	for _, m := range ms {
		stat, _ := m.(map[string]any)["MetricStat"].(map[string]any)
		metric, _ := stat["Metric"].(map[string]any)
		if ns, ok := metric["Namespace"].(string); ok {
			out = append(out, ns+"/"+metric["MetricName"].(string))
		}
	}
	return out
}

// Silence, loss and saturation are alarmed in every combination of conditions, wherever the thing they watch
// exists, and every alarm notifies AlarmTopicArn when one is given.
func TestAlarmsCatchSilence(t *testing.T) {
	tpl := load(t, "template.yaml")
	want := []watched{
		{"IngesterService", "finfeed/ingester", "Produced"},
		{"IngesterService", "finfeed/ingester", "InSession"},
		{"IngesterService", "finfeed/ingester", "Lost"},
		{"IngesterService", "finfeed/ingester", "BackfillErrors"},
		{"IngesterService", "finfeed/ingester", "LoginRefused"},
		{"IngesterService", "finfeed/ingester", "StaleReconnects"},
		{"IngesterService", "finfeed/ingester", "BufferDepth"},
		{"IngesterService", "ECS/ContainerInsights", "RunningTaskCount"},
		{"EnrichFunction", "AWS/Lambda", "Errors"},
		{"EnrichFunction", "AWS/Lambda", "Throttles"},
		{"EnrichFunction", "AWS/Lambda", "OffsetLag"},
		{"EnrichFunction", "finfeed/enrich", "SourceLag"},     // event-source lag in minutes of data
		{"EnrichFunction", "finfeed/enrich", "Unknown"},       // the share of bars without a previous close…
		{"EnrichFunction", "finfeed/enrich", "Enhanced"},      // …of those written…
		{"EnrichFunction", "finfeed/enrich", "ClosesDue"},     // …after 09:35 New York
		{"IngesterService", "finfeed/enrich", "NewestBarAge"}, // end-to-end freshness, in the ingester's session
		{"IndexFunction", "AWS/Lambda", "Throttles"},
		{"IndexFunction", "AWS/Lambda", "OffsetLag"},
		{"PrevCloseFunction", "AWS/Lambda", "Errors"},
		{"PrevCloseFunction", "AWS/Lambda", "Invocations"},
		{"SearchDomain", "AWS/ES", "ClusterStatus.red"},
		{"SearchDomain", "AWS/ES", "ClusterStatus.yellow"},
		{"SearchDomain", "AWS/ES", "ClusterIndexWritesBlocked"},
		{"SearchDomain", "AWS/ES", "FreeStorageSpace"},
		{"KafkaCluster", "AWS/Kafka", "KafkaDataLogsDiskUsed"},
	}
	scenarios := tpl.Scenarios()
	if len(scenarios) < 4 {
		t.Fatalf("only %d scenarios", len(scenarios))
	}
	covered := map[watched]bool{}
	for _, s := range scenarios {
		active := map[string][]string{} // metric → active alarms reading it
		for _, id := range tpl.ResourceIDs() {
			r := tpl.Resources[id]
			if r.Type != "AWS::CloudWatch::Alarm" {
				continue
			}
			on, err := tpl.Active(id, s)
			if err != nil {
				t.Fatal(err)
			}
			if !on {
				continue
			}
			if !strings.Contains(string(mustJSON(t, r.Properties["AlarmActions"])), "AlarmTopicArn") {
				t.Errorf("%s: %s does not notify AlarmTopicArn", s, id)
			}
			for _, m := range alarmMetrics(r.Properties) {
				active[m] = append(active[m], id)
			}
		}
		for _, w := range want {
			exists, err := tpl.Active(w.of, s)
			if err != nil {
				t.Fatal(err)
			}
			if !exists {
				continue
			}
			covered[w] = true
			if len(active[w.namespace+"/"+w.metric]) == 0 {
				t.Errorf("%s: %s exists but no alarm reads %s/%s", s, w.of, w.namespace, w.metric)
			}
		}
	}
	for _, w := range want {
		if !covered[w] && !slices.Contains([]string{"IngesterService", "SearchDomain", "IndexFunction", "KafkaCluster"}, w.of) {
			t.Errorf("%s never exists in any scenario: the check of %s/%s proves nothing", w.of, w.namespace, w.metric)
		}
	}
	for _, of := range []string{"IngesterService", "SearchDomain", "KafkaCluster"} {
		seen := false
		for w := range covered {
			seen = seen || w.of == of
		}
		if !seen {
			t.Errorf("no scenario creates %s: its alarms are never checked", of)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A production stack must name the topic its alarms notify; dev may leave it empty.
func TestProdAlarmsNotify(t *testing.T) {
	tpl := load(t, "template.yaml")
	for _, tt := range []struct {
		env, topic string
		refused    bool
	}{
		{"prod", "", true},
		{"prod", "arn:aws:sns:us-east-1:123456789012:finfeed-alarms", false},
		{"dev", "", false},
	} {
		s := tpl.Defaults()
		s["Environment"], s["AlarmTopicArn"] = tt.env, tt.topic
		v, err := tpl.RuleViolations(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.ContainsFunc(v, func(m string) bool { return strings.Contains(m, "ProdAlarmsNotify") }); got != tt.refused {
			t.Errorf("Environment=%s AlarmTopicArn=%q: violations %v, want ProdAlarmsNotify refused: %v", tt.env, tt.topic, v, tt.refused)
		}
	}
}
