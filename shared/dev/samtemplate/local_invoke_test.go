package samtemplate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/dev/lambdarie"
	"github.com/finfeed/finfeed/shared/dev/samtemplate"
	"github.com/finfeed/finfeed/shared/dev/syncbuf"
	"github.com/finfeed/finfeed/shared/dev/zinctest"
	"github.com/finfeed/finfeed/shared/kafka"
)

// localInvoked are the functions TestLocalInvoke runs against the local stack.
var localInvoked = map[string]bool{"EnrichFunction": true, "IndexFunction": true, "ProvisionFunction": true}

// dockerHost is how events/*.env.json name the host: what a function in a sam local invoke container reaches it as.
const dockerHost = "host.docker.internal"

// localPorts are the ports events/*.env.json and events/provision-create.json fix: DynamoDB, Kafka, OpenSearch
// and the custom resource's response listener.
var localPorts = []int{8000, 9092, 9200, 8089}

// TestLocalInvoke is `sam local invoke` against the local stack as docs/deploy.md describes it, minus Docker:
// `make local-dynamodb`, `make local-opensearch` and `make local-kafka` (feed local) run as documented with one
// change, the host (they listen on and advertise 127.0.0.1 instead of every interface and host.docker.internal,
// since the functions run on this host). The enrich, index and provision bootstraps, built by their Makefile
// targets, run under the Runtime Interface Emulator with the template's environment overridden by exactly their
// events/*.env.json, host.docker.internal rewritten to 127.0.0.1 and nothing else. The enrich invoke's enhanced
// records are read back from feed local and indexed by the index invoke; the provision invoke answers the
// response listener `make invoke-provision` runs.
func TestLocalInvoke(t *testing.T) {
	for _, p := range localPorts {
		waitFree(t, p)
	}
	feed := buildFeed(t)
	vars := []string{"LOCAL_HOST=127.0.0.1", "LOCAL_ADVERTISE=127.0.0.1", "FEED=" + feed}
	startMake(t, "local-dynamodb", "local DynamoDB: http://127.0.0.1:8000", vars...)
	startMake(t, "local-opensearch", "zinc listening on http://127.0.0.1:9200", vars...)
	startMake(t, "local-kafka", "read the enriched feed", vars...)

	tpl := load(t, "template.yaml")
	fns := map[string]samtemplate.Function{}
	for _, f := range tpl.Functions() {
		fns[f.LogicalID] = f
	}
	enhanced := t.Run("EnrichFunction", func(t *testing.T) { invokeEnrich(t, tpl, fns["EnrichFunction"]) })
	if enhanced {
		t.Run("IndexFunction", func(t *testing.T) { invokeIndex(t, tpl, fns["IndexFunction"]) })
	}
	t.Run("ProvisionFunction", func(t *testing.T) { invokeProvision(t, tpl, fns["ProvisionFunction"], feed) })
}

// enrichOutput is what the enrich invoke wrote to enhanced, read back for the index invoke.
var enrichOutput []*kgo.Record

func invokeEnrich(t *testing.T, tpl *samtemplate.Template, f samtemplate.Function) {
	emu, env := emulate(t, tpl, f)
	var got struct{ Records, Enhanced, DLQ, Neutral, Unknown int }
	if body := emu.Invoke(t, readEvent(t, "enrich-msk.json")); json.Unmarshal(body, &got) != nil {
		t.Fatalf("response %s", body)
	}
	// Neutral, not Unknown: the function found AMZN's 196.365 close in the table make local-dynamodb loaded
	if got.Records != 4 || got.Enhanced != 3 || got.DLQ != 1 || got.Neutral != 3 || got.Unknown != 0 {
		t.Errorf("counts = %+v, want 4 records: 3 enhanced (Neutral against the 196.365 close), 1 to the DLQ", got)
	}
	// feed local's own synthetic session writes enhanced too: pick the fixture's bars
	recs := readTopic(t, kafkaLogin(t, env), "enhanced", 3, func(r *kgo.Record) bool {
		return strings.Contains(string(r.Value), `"symbol":"AMZN"`) && strings.Contains(string(r.Value), `"timestamp":"2024-07-11 19:`)
	})
	for _, r := range recs {
		if !strings.Contains(string(r.Value), `"indicator":"Neutral","prevClose":196.365`) {
			t.Errorf("enhanced record %s, want Neutral against 196.365", r.Value)
		}
	}
	if len(recs) == 3 && !strings.Contains(string(recs[0].Value), `"%change":-0.8784661217630548,"indicator":"Neutral","prevClose":196.365`) {
		t.Errorf("first enhanced record = %s, want the reference's %%change against 196.365", recs[0].Value)
	}
	// the dead letter: reading DLQs is the operator's right (the provision function's login)
	dlq := readTopic(t, kafkaLogin(t, envFileVars(t, "provision.env.json", "ProvisionFunction")), "raw.dlq", 1, func(r *kgo.Record) bool {
		return strings.Contains(string(r.Value), `"timestamp": "2024-07-11 19:52:00", "symbol": "AMZN"`)
	})
	if len(dlq) == 1 && header(dlq[0], "source") != "raw/0/1045" {
		t.Errorf("dead letter source %q, want raw/0/1045", header(dlq[0], "source"))
	}
	logColdStart(t, f.LogicalID, emu)
	if len(recs) != 3 {
		t.FailNow()
	}
	enrichOutput = recs
}

func invokeIndex(t *testing.T, tpl *samtemplate.Template, f samtemplate.Function) {
	emu, env := emulate(t, tpl, f)
	event, err := json.Marshal(esm.BuildEvent(enrichOutput, "arn:aws:kafka:us-east-1:123456789012:cluster/finfeed-local/1", []string{env["KAFKA_BROKERS"]}))
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ Records, Indexed, DLQ int }
	var got counts
	if body := emu.Invoke(t, event); json.Unmarshal(body, &got) != nil {
		t.Fatalf("response %s", body)
	}
	if got != (counts{3, 3, 0}) {
		t.Errorf("indexing the enrich invoke's records: counts = %+v, want 3 records, all indexed", got)
	}
	// then make invoke-index's own fixture: two of its bars are the enrich invoke's (same documents), one is bad
	got = counts{}
	if body := emu.Invoke(t, readEvent(t, "index-msk.json")); json.Unmarshal(body, &got) != nil {
		t.Fatalf("response %s", body)
	}
	if got != (counts{6, 5, 1}) {
		t.Errorf("events/index-msk.json: counts = %+v, want 6 records: 5 indexed, 1 to the DLQ", got)
	}
	search := zinctest.Connect(env["OPENSEARCH_URL"], env["OPENSEARCH_USERNAME"], env["OPENSEARCH_PASSWORD"])
	// 3 from enrich + the fixture's 3 other bars: the AMZN 19:51 bar is only in the enrich invoke's output
	if n := search.WaitCount(t, "bars", 6); n != 6 {
		t.Errorf("OpenSearch alias bars holds %d documents, want 6", n)
	}
	dlq := readTopic(t, kafkaLogin(t, envFileVars(t, "provision.env.json", "ProvisionFunction")), "enhanced.dlq", 1, func(r *kgo.Record) bool {
		return strings.Contains(string(r.Value), `"close":"227.61"`)
	})
	if len(dlq) != 1 {
		t.Errorf("enhanced.dlq: %d dead letters of the fixture's bad record, want 1", len(dlq))
	}
	logColdStart(t, f.LogicalID, emu)
}

func invokeProvision(t *testing.T, tpl *samtemplate.Template, f samtemplate.Function, feed string) {
	emu, env := emulate(t, tpl, f)
	// the listener as make invoke-provision runs it (LOCAL_HOST aside)
	listener := exec.Command(feed, "cfnresponse", "--listen", "127.0.0.1:8089", "--event", filepath.Join(root, "events", "provision-create.json"), "--timeout", "2m")
	var out syncbuf.Buffer
	listener.Stdout, listener.Stderr = &out, &out
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- listener.Wait() }()
	t.Cleanup(func() {
		if err := listener.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("stop listener: %v", err)
		}
	})
	waitOutput(t, &out, "waiting for one custom-resource response", exited)
	event := bytes.ReplaceAll(readEvent(t, "provision-create.json"), []byte(dockerHost), []byte("127.0.0.1"))
	emu.Invoke(t, event)
	select {
	case err := <-exited:
		if err != nil || !strings.Contains(out.String(), "SUCCESS for KafkaSetup") {
			t.Fatalf("response listener: %v\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the response listener got nothing:\n%s", out.String())
	}
	var props struct{ ResourceProperties struct{ Partitions string } }
	if err := json.Unmarshal(event, &props); err != nil {
		t.Fatal(err)
	}
	cl, err := kafka.NewClient(t.Context(), kafkaLogin(t, env), kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := bounded(t)
	topics, err := adm.ListTopics(ctx, "raw", "enhanced", "raw.dlq", "enhanced.dlq", "candles")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"raw", "enhanced", "raw.dlq", "enhanced.dlq", "candles"} {
		if d := topics[name]; fmt.Sprint(len(d.Partitions)) != props.ResourceProperties.Partitions {
			t.Errorf("topic %s has %d partitions, the request asks for %s (feed local's)", name, len(d.Partitions), props.ResourceProperties.Partitions)
		}
	}
	acls, err := adm.DescribeACLs(ctx, kadm.NewACLs().Allow("User:acme").AllowHosts().AnyResource().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(acls[0].Described); n != 5 {
		t.Errorf("customer acme has %d ACLs, want 5 (read and describe enhanced and candles, its group): %+v", n, acls[0].Described)
	}
	logColdStart(t, f.LogicalID, emu)
}

// emulate starts f's bootstrap (built by its Makefile target for this machine) under the emulator with the
// environment sam local invoke gives it: the template's variables and the AWS ones, overridden by the declared
// variables of its events/*.env.json with host.docker.internal as 127.0.0.1. It returns that file's variables as
// used.
func emulate(t *testing.T, tpl *samtemplate.Template, f samtemplate.Function) (*lambdarie.Emulator, map[string]string) {
	t.Helper()
	env := templateEnv(t, tpl, f)
	maps.Copy(env, awsEnv)
	vars := envFileVars(t, envFiles[f.LogicalID], f.LogicalID)
	for k, v := range vars {
		if _, declared := f.Env[k]; !declared {
			t.Fatalf("events/%s sets %s, which the template does not declare: sam local invoke would drop it", envFiles[f.LogicalID], k)
		}
		env[k] = v
	}
	return lambdarie.Start(t, bootstrap(t, f.LogicalID, hostArch()), env), vars
}

// envFileVars is a function's events/*.env.json with the host rewritten, the test's one change.
func envFileVars(t *testing.T, name, id string) map[string]string {
	t.Helper()
	vars := envFile(t, name, id)
	for k, v := range vars {
		vars[k] = strings.ReplaceAll(v, dockerHost, "127.0.0.1")
	}
	return vars
}

// kafkaLogin is the Kafka login of an env file's variables.
func kafkaLogin(t *testing.T, env map[string]string) kafka.Config {
	t.Helper()
	kc, err := kafka.Load(func(k string) string {
		if k == "KAFKA_BROKERS" && env[k] == "" {
			return "127.0.0.1:9092" // the provision function's brokers come with each request
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// readTopic reads topic from the start until want records match (bounded), in partition and offset order.
func readTopic(t *testing.T, kc kafka.Config, topic string, want int, match func(*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), kc, kafka.Deps{}, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil && ctx.Err() == nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if match(r) {
				out = append(out, r)
			}
		})
	}
	if len(out) != want {
		t.Errorf("%s: %d matching records, want %d", topic, len(out), want)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	v := ""
	for _, h := range r.Headers {
		if h.Key == key {
			v = string(h.Value) // the last one counts
		}
	}
	return v
}

func logColdStart(t *testing.T, id string, emu *lambdarie.Emulator) {
	if d, err := emu.InitDuration(); err == nil {
		// `make bench` collects these lines (docs/performance.md)
		t.Logf("coldstart %s init_ms=%.1f", id, float64(d.Microseconds())/1000)
	}
}

// waitFree waits (bounded) until nothing listens on 127.0.0.1:port: the env files fix the ports, so a feed
// local or make local-* left running elsewhere must stop first.
func waitFree(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d stays in use (%v): events/*.env.json fix it; stop what holds it (a feed local, make local-*)", port, err)
		}
		time.Sleep(time.Second)
	}
}

func buildFeed(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "feed")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/feed")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build feed: %v\n%s", err, b)
	}
	return out
}

// startMake runs `make target vars...` in its own process group until the test ends and waits (bounded) until
// its output says ready.
func startMake(t *testing.T, target, ready string, vars ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", target}, vars...)...)
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("make %s: %v", target, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Logf("stop make %s: %v", target, err)
		}
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Logf("kill make %s: %v", target, err)
			}
			<-exited
		}
		if t.Failed() {
			t.Logf("make %s output:\n%s", target, tail(out.String(), 4000))
		}
	})
	waitOutput(t, &out, ready, exited)
}

// waitOutput waits (bounded) until out holds ready, failing if the process exits first.
func waitOutput(t *testing.T, out *syncbuf.Buffer, ready string, exited <-chan error) {
	t.Helper()
	deadline := time.After(5 * time.Minute) // a cold build of bin/zinc takes about 2 minutes
	for !strings.Contains(out.String(), ready) {
		select {
		case err := <-exited:
			t.Fatalf("exited (%v) before %q:\n%s", err, ready, out.String())
		case <-deadline:
			t.Fatalf("no %q within 5 minutes:\n%s", ready, tail(out.String(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
