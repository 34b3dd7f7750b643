package samtemplate_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/dev/lambdarie"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
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
	"EnrichFunction":    enrichCase(),
	"IndexFunction":     indexCase(),
	"PrevCloseFunction": prevCloseCase(),
	"ProvisionFunction": provisionCase(),
}

// TestRuntimeEmulator runs every function's bootstrap under the Runtime Interface Emulator with its fixture,
// one invocation at a time, against real local services.
func TestRuntimeEmulator(t *testing.T) {
	tpl := load(t, "template.yaml")
	fns, targets := functions(t)
	for _, f := range fns {
		if _, ok := targets[f.LogicalID]; !ok {
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
					continue // as sam local invoke does (TestEnvFilesOverrideDeclaredVariables)
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

// TestEnvFilesOverrideDeclaredVariables wants every variable of an events/*.env.json file declared in its
// function's template Environment: sam local invoke --env-vars only overrides declared variables
// (samcli/local/lambdafn/env_vars.py) and silently drops any other name, so the local invoke would run without it.
func TestEnvFilesOverrideDeclaredVariables(t *testing.T) {
	tpl := load(t, "template.yaml")
	for _, f := range tpl.Functions() {
		c, ok := emulatorCases[f.LogicalID]
		if !ok {
			continue // reported by TestRuntimeEmulator
		}
		for _, k := range slices.Sorted(maps.Keys(envFile(t, c.envFile, f.LogicalID))) {
			if _, declared := f.Env[k]; !declared {
				t.Errorf("events/%s sets %s for %s, but its template Environment does not declare it: sam local invoke drops it", c.envFile, k, f.LogicalID)
			}
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

func enrichCase() emulatorCase {
	var (
		kc       *kfake.Cluster
		tableEnv string
	)
	return emulatorCase{
		fixture: "enrich-msk.json",
		envFile: "enrich.env.json",
		setup: func(t *testing.T, fixture []byte) (map[string]string, map[string]string, []byte) {
			kc = kafkaCluster(t, 1, "raw", "enhanced", "raw.dlq")
			srv, client, name := table(t)
			tableEnv = name
			if err := prevclose.NewDynamoDB(client, name).Put(bounded(t), []prevclose.Close{{Symbol: "AMZN", Date: date(t, "2024-07-10"), Close: 196.365}}); err != nil {
				t.Fatal(err)
			}
			hosts := map[string]string{"host.docker.internal:9092": kc.ListenAddrs()[0], "http://host.docker.internal:8000": srv.Endpoint}
			return hosts, map[string]string{"PREV_CLOSE_TABLE": tableEnv}, fixture
		},
		check: func(t *testing.T, response []byte) {
			var got struct{ Records, Enhanced, DLQ, Neutral, Unknown int }
			if err := json.Unmarshal(response, &got); err != nil {
				t.Fatalf("response %s: %v", response, err)
			}
			if got.Records != 4 || got.Enhanced != 3 || got.DLQ != 1 || got.Neutral != 3 || got.Unknown != 0 {
				t.Errorf("counts = %+v, want 4 records: 3 enhanced (Neutral against the 196.365 close), 1 to the DLQ", got)
			}
			enhanced := consume(t, kc, "enhanced", 3)
			if len(enhanced) != 3 {
				t.Fatalf("enhanced has %d records, want 3", len(enhanced))
			}
			if first := string(enhanced[0].Value); !strings.Contains(first, `"%change":-0.8784661217630548,"indicator":"Neutral","prevClose":196.365`) {
				t.Errorf("first enhanced record = %s, want the reference's %%change against 196.365", first)
			}
			dlq := consume(t, kc, "raw.dlq", 1)
			if len(dlq) != 1 {
				t.Fatalf("raw.dlq has %d records, want 1", len(dlq))
			}
			headers := map[string]string{}
			for _, h := range dlq[0].Headers {
				headers[h.Key] = string(h.Value)
			}
			if headers["source"] != "raw/0/1045" || headers["error"] == "" {
				t.Errorf("dlq headers = %v, want source raw/0/1045 and an error", headers)
			}
		},
	}
}

func indexCase() emulatorCase {
	var (
		kc     *kfake.Cluster
		search *searchtest.Server
	)
	return emulatorCase{
		fixture: "index-msk.json",
		envFile: "index.env.json",
		setup: func(t *testing.T, fixture []byte) (map[string]string, map[string]string, []byte) {
			kc = kafkaCluster(t, 1, "enhanced", "enhanced.dlq")
			// The template signs with SigV4 (the function's role): the fake checks the signature.
			search = searchtest.NewServer(t, searchtest.Options{SigV4: &searchtest.SigV4{Region: awsEnv["AWS_REGION"], Service: "es",
				Credentials: aws.Credentials{AccessKeyID: awsEnv["AWS_ACCESS_KEY_ID"], SecretAccessKey: awsEnv["AWS_SECRET_ACCESS_KEY"]}}})
			hosts := map[string]string{"host.docker.internal:9092": kc.ListenAddrs()[0], "http://host.docker.internal:9200": search.URL}
			return hosts, map[string]string{"OPENSEARCH_AUTH": "sigv4"}, fixture
		},
		check: func(t *testing.T, response []byte) {
			var got struct{ Records, Indexed, DLQ int }
			if err := json.Unmarshal(response, &got); err != nil {
				t.Fatalf("response %s: %v", response, err)
			}
			if got.Records != 6 || got.Indexed != 5 || got.DLQ != 1 {
				t.Errorf("counts = %+v, want 6 records: 5 indexed, 1 to the DLQ", got)
			}
			if n := search.Count(); n != 5 {
				t.Errorf("OpenSearch holds %d documents, want 5", n)
			}
			if dlq := consume(t, kc, "enhanced.dlq", 1); len(dlq) != 1 {
				t.Errorf("enhanced.dlq has %d records, want 1", len(dlq))
			}
		},
	}
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

func provisionCase() emulatorCase {
	var (
		kc    *kfake.Cluster
		mu    sync.Mutex
		reply cfn.Response
	)
	return emulatorCase{
		fixture: "provision-create.json",
		envFile: "provision.env.json",
		setup: func(t *testing.T, fixture []byte) (map[string]string, map[string]string, []byte) {
			kc = kafkaCluster(t, 3)
			cloudformation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil || r.Method != http.MethodPut {
					t.Errorf("response: %s %v", r.Method, err)
				}
				mu.Lock()
				defer mu.Unlock()
				if err := json.Unmarshal(body, &reply); err != nil {
					t.Errorf("response body %s: %v", body, err)
				}
			}))
			t.Cleanup(cloudformation.Close)
			var ev map[string]any
			if err := json.Unmarshal(fixture, &ev); err != nil {
				t.Fatal(err)
			}
			ev["ResponseURL"] = cloudformation.URL + "/response?X-Amz-Signature=x"
			ev["ResourceProperties"].(map[string]any)["BootstrapServers"] = strings.Join(kc.ListenAddrs(), ",")
			event, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			return nil, nil, event
		},
		check: func(t *testing.T, _ []byte) {
			mu.Lock()
			got := reply
			mu.Unlock()
			if got.Status != cfn.StatusSuccess || got.LogicalResourceID != "KafkaSetup" || !strings.HasPrefix(got.PhysicalResourceID, "finfeed-kafka:") {
				t.Fatalf("CloudFormation got %+v, want SUCCESS for KafkaSetup", got)
			}
			adm := kadm.NewClient(mustClient(t, kc))
			topics, err := adm.ListTopics(bounded(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"raw", "enhanced", "raw.dlq", "enhanced.dlq"} {
				if d, ok := topics[name]; !ok || len(d.Partitions) != 3 {
					t.Errorf("topic %s: %+v, want 3 partitions", name, d)
				}
			}
			acls, err := adm.DescribeACLs(bounded(t), kadm.NewACLs().Allow("User:acme").AllowHosts().AnyResource().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(acls[0].Described); n != 3 {
				t.Errorf("customer acme has %d ACLs, want 3 (read and describe enhanced, its group): %+v", n, acls[0].Described)
			}
		},
	}
}

func mustClient(t *testing.T, c *kfake.Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
