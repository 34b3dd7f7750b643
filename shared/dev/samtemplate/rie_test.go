package samtemplate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/dev/lambdarie"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// emulatorCase is how one function runs under the emulator: the local services it talks to, the environment
// over the template's (after events/<name>.env.json), the event, and what must come of it.
type emulatorCase struct {
	fixture string // events/<fixture>
	envFile string // events/<envFile>, the sam local invoke --env-vars file
	// setup starts what the function talks to and returns replacements for the env file's host.docker.internal
	// addresses, extra variables, and the event to send (the fixture, possibly pointed at local servers).
	setup func(t *testing.T, fixture []byte) (hosts, extra map[string]string, event []byte)
	check func(t *testing.T, response []byte)
}

var emulatorCases = map[string]emulatorCase{
	"PrevCloseFunction": prevCloseCase(),
}

// envFiles are the sam local invoke --env-vars files of every function, under events/.
var envFiles = map[string]string{
	"EnrichFunction":    "enrich.env.json",
	"IndexFunction":     "index.env.json",
	"PrevCloseFunction": "prevclose.env.json",
	"ProvisionFunction": "provision.env.json",
}

// TestRuntimeEmulator runs every function's bootstrap under the Runtime Interface Emulator with its fixture,
// one invocation at a time, against real local services; the functions TestLocalInvoke runs against the local
// stack (feed local and the rest, exactly as events/*.env.json say) are left to it.
func TestRuntimeEmulator(t *testing.T) {
	tpl := load(t, "template.yaml")
	fns, targets := functions(t)
	for _, f := range fns {
		if _, ok := targets[f.LogicalID]; !ok {
			continue
		}
		if localInvoked[f.LogicalID] {
			continue
		}
		t.Run(f.LogicalID, func(t *testing.T) {
			c, ok := emulatorCases[f.LogicalID]
			if !ok {
				t.Fatalf("no emulator case for %s: add one with its event fixture", f.LogicalID)
			}
			fixture := readEvent(t, c.fixture)
			env := templateEnv(t, tpl, f)
			maps.Copy(env, awsEnv)
			hosts, extra, event := c.setup(t, fixture)
			for k, v := range envFile(t, c.envFile, f.LogicalID) {
				if _, declared := f.Env[k]; !declared {
					continue // as sam local invoke does (TestEnvFilesMatchTemplate)
				}
				for from, to := range hosts {
					v = strings.ReplaceAll(v, from, to)
				}
				env[k] = v
			}
			maps.Copy(env, extra)
			emu := lambdarie.Start(t, bootstrap(t, f.LogicalID, hostArch()), env)
			c.check(t, emu.Invoke(t, event))
			if d, err := emu.InitDuration(); err == nil {
				// `make bench` collects these lines (docs/performance.md)
				t.Logf("coldstart %s init_ms=%.1f", f.LogicalID, float64(d.Microseconds())/1000)
			}
		})
	}
}

// leftOutOfEnvFiles are the variables a function's template Environment sets that its events/*.env.json
// deliberately leaves out, by function, with the reason. None today: where local use needs another value (IAM
// auth replaced by SCRAM with a local login, SigV4 by basic auth, a secret's ARN emptied beside plain paper keys,
// the state bucket emptied for in-memory state), the file sets the variable to it, because a variable the file
// leaves out keeps the template's value, and sam local invoke cannot resolve a resource's Ref or attribute (the
// brokers, the table, the bucket): the function would start with an empty or made-up value instead.
var leftOutOfEnvFiles = map[string]map[string]string{}

// envFileProblems compares a function's events/*.env.json variables with the variables its template
// Environment sets (Globals first): a file variable the template does not declare is dropped by sam local
// invoke (samcli/local/lambdafn/env_vars.py), and a declared variable the file does not set runs with whatever
// sam makes of the template's value, unless leftOut names it with a reason.
func envFileProblems(declared map[string]any, file map[string]string, leftOut map[string]string) []string {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(file)) {
		if _, ok := declared[k]; !ok {
			problems = append(problems, fmt.Sprintf("sets %s, which the template does not declare: sam local invoke drops it", k))
		} else if _, ok := leftOut[k]; ok {
			problems = append(problems, fmt.Sprintf("sets %s, which is listed as left out on purpose", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(declared)) {
		if _, ok := file[k]; !ok {
			if _, ok := leftOut[k]; !ok {
				problems = append(problems, fmt.Sprintf("lacks %s, which the template sets", k))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(leftOut)) {
		if _, ok := declared[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s is listed as left out on purpose, but the template does not set it", k))
		}
	}
	return problems
}

// TestEnvFilesMatchTemplate wants each function's events/*.env.json, what make invoke-* passes to sam local
// invoke --env-vars, to set exactly the variables the template sets on the function (after Globals), but for
// those leftOutOfEnvFiles names: a local invoke then runs with the whole environment the file shows, nothing
// dropped and nothing left to what sam makes of the template. (TestEnvironment checks the code reads each.)
func TestEnvFilesMatchTemplate(t *testing.T) {
	tpl := load(t, "template.yaml")
	for _, f := range tpl.Functions() {
		name, ok := envFiles[f.LogicalID]
		if !ok {
			t.Errorf("%s has no events/*.env.json file in envFiles", f.LogicalID)
			continue
		}
		for _, p := range envFileProblems(f.Env, envFile(t, name, f.LogicalID), leftOutOfEnvFiles[f.LogicalID]) {
			t.Errorf("events/%s (%s): %s", name, f.LogicalID, p)
		}
	}
	for id := range leftOutOfEnvFiles {
		if _, ok := envFiles[id]; !ok {
			t.Errorf("leftOutOfEnvFiles names %s, which has no env file", id)
		}
	}
}

// The comparison finds each kind of mismatch, and lets a variable left out on purpose pass.
func TestEnvFileProblemsCatchMistakes(t *testing.T) {
	declared := map[string]any{"KAFKA_BROKERS": map[string]any{"Fn::GetAtt": []any{"KafkaSetup", "BootstrapBrokersSaslIam"}},
		"CANDLES_TOPIC": "candles", "KAFKA_SECRET_ARN": map[string]any{"Ref": "KafkaSecret"}, "KAFKA_PASSWORD": ""}
	file := func() map[string]string {
		return map[string]string{"KAFKA_BROKERS": "host.docker.internal:9092", "CANDLES_TOPIC": "candles", "KAFKA_SECRET_ARN": "", "KAFKA_PASSWORD": "pw"}
	}
	if p := envFileProblems(declared, file(), nil); len(p) != 0 {
		t.Fatalf("a matching file: %v", p)
	}
	for _, tt := range []struct {
		name    string
		edit    func(map[string]string)
		leftOut map[string]string
		want    string // "" for no problem
	}{
		{"variable missing", func(f map[string]string) { delete(f, "CANDLES_TOPIC") }, nil, "lacks CANDLES_TOPIC, which the template sets"},
		{"variable the function does not have", func(f map[string]string) { f["CANDLE_TOPIC"] = "candles" }, nil, "sets CANDLE_TOPIC, which the template does not declare"},
		{"left out on purpose", func(f map[string]string) { delete(f, "KAFKA_SECRET_ARN") }, map[string]string{"KAFKA_SECRET_ARN": "a plain password instead"}, ""},
		{"left out, yet set", func(map[string]string) {}, map[string]string{"KAFKA_SECRET_ARN": "a plain password instead"}, "sets KAFKA_SECRET_ARN, which is listed as left out"},
		{"left out, but not in the template", func(map[string]string) {}, map[string]string{"KAFKA_SECRET": "stale"}, "KAFKA_SECRET is listed as left out on purpose, but the template does not set it"},
	} {
		f := file()
		tt.edit(f)
		p := envFileProblems(declared, f, tt.leftOut)
		switch {
		case tt.want == "" && len(p) != 0:
			t.Errorf("%s: problems %q, want none", tt.name, p)
		case tt.want != "" && !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tt.want) }):
			t.Errorf("%s: problems %q, want one saying %q", tt.name, p, tt.want)
		}
	}
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envFile reads a sam local invoke --env-vars file: {"LogicalId": {"VAR": "value"}}.
func envFile(t *testing.T, name, id string) map[string]string {
	t.Helper()
	var all map[string]map[string]string
	if err := json.Unmarshal(readEvent(t, name), &all); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	vars, ok := all[id]
	if !ok {
		t.Fatalf("%s has no entry for %s", name, id)
	}
	return vars
}

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func kafkaCluster(t *testing.T, brokers int, topics ...string) *kfake.Cluster {
	t.Helper()
	ports := make([]int, brokers)
	opts := []kfake.Opt{kfake.Ports(ports...)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(1, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// consume reads every record of a topic (bounded in time).
func consume(t *testing.T, c *kfake.Cluster, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := bounded(t)
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func table(t *testing.T) (*dynalite.Server, *dynamodb.Client, string) {
	t.Helper()
	srv := dynalite.StartT(t)
	client := srv.Client()
	const name = "finfeed-dev-prev-closes"
	if err := prevclose.CreateTable(bounded(t), client, name); err != nil {
		t.Fatal(err)
	}
	return srv, client, name
}

func date(t *testing.T, s string) bar.Date {
	t.Helper()
	d, err := bar.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func prevCloseCase() emulatorCase {
	var (
		client *dynamodb.Client
		name   string
	)
	return emulatorCase{
		fixture: "prevclose-scheduled.json",
		envFile: "prevclose.env.json",
		setup: func(t *testing.T, fixture []byte) (map[string]string, map[string]string, []byte) {
			var srv *dynalite.Server
			srv, client, name = table(t)
			alpaca := fakealpacatest.Start(t, "your-paper-key", "your-paper-secret")
			alpaca.SetToday(date(t, "2024-06-20"))
			for d := date(t, "2024-05-20"); d.String() <= "2024-06-14"; d = d.AddDays(1) {
				if wd := d.Time().Weekday(); wd == time.Saturday || wd == time.Sunday {
					continue
				}
				alpaca.AddDaily(fakealpaca.DailyBar{Symbol: "AAPL", Date: d, Close: 190, Volume: 1000}, fakealpaca.DailyBar{Symbol: "NVDA", Date: d, Close: 120, Volume: 1000})
			}
			hosts := map[string]string{"http://host.docker.internal:8000": srv.Endpoint}
			return hosts, map[string]string{"ALPACA_DATA_URL": alpaca.DataURL, "PREV_CLOSE_TABLE": name}, fixture
		},
		check: func(t *testing.T, response []byte) {
			var got struct {
				From, To                   string
				Symbols, Closes, Snapshots int
			}
			if err := json.Unmarshal(response, &got); err != nil {
				t.Fatalf("response %s: %v", response, err)
			}
			// The fixture fires before the open on Monday 2024-06-10: the closes up to Friday 06-07 are loaded.
			if got.Symbols != 2 || got.Closes == 0 || got.To != "2024-06-10" {
				t.Errorf("result = %+v, want 2 symbols, some closes, up to 2024-06-10", got)
			}
			out, err := client.Scan(bounded(t), &dynamodb.ScanInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			closes, snapshots := 0, map[string]bool{}
			for _, item := range out.Items {
				if s, _ := item[prevclose.AttrSymbol].(*types.AttributeValueMemberS); s != nil && s.Value == prevclose.SnapshotSymbol {
					day, _, _ := strings.Cut(item[prevclose.AttrDate].(*types.AttributeValueMemberS).Value, "#")
					snapshots[day] = true
					continue
				}
				closes++
			}
			if closes != got.Closes || len(snapshots) != got.Snapshots || got.Snapshots == 0 {
				t.Errorf("table holds %d closes and %d snapshots, the function reported %d and %d", closes, len(snapshots), got.Closes, got.Snapshots)
			}
		},
	}
}
