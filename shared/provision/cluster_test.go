package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/provision"
)

const scram = "SCRAM-SHA-512"

var passwords = map[string]string{"admin": "admin-pw", "acme": "acme-pw", "globex": "globex-pw", "svc-enrich": "enrich-pw"}

// newCluster starts a three-broker kfake with SASL/SCRAM and ACLs enforced: only admin is a superuser.
func newCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.Ports(0, 0, 0), kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser(scram, "admin", passwords["admin"])}
	for u, p := range passwords {
		if u != "admin" {
			opts = append(opts, kfake.User(scram, u, p))
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func kafkaConfig(c *kfake.Cluster, user string) kafka.Config {
	return kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthSCRAM, Username: user, Password: passwords[user]}
}

// dialer connects as the superuser, as the function does with MSK IAM.
func dialer(c *kfake.Cluster) provision.Dialer {
	return func(ctx context.Context, tg provision.Target) (provision.Cluster, error) {
		kc := kafkaConfig(c, "admin")
		kc.Brokers = tg.Brokers
		return provision.DialKafka(ctx, kc, kafka.Deps{}, map[string]any{provision.AttrBrokers: strings.Join(tg.Brokers, ",")})
	}
}

func client(t *testing.T, c *kfake.Cluster, user string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(context.Background(), kafkaConfig(c, user), kafka.Deps{}, opts...)
	if err != nil {
		t.Fatalf("client %s: %v", user, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// responder is CloudFormation's side of the pre-signed URL: it keeps every response it gets.
type responder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []cfn.Response
	// fail answers this many requests with 500 first.
	fail int
}

func newResponder(t *testing.T) *responder {
	t.Helper()
	r := &responder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Method != http.MethodPut || req.Header.Get("Content-Type") != "" || req.URL.Query().Get("X-Amz-Signature") == "" {
			t.Errorf("response sent as %s with Content-Type %q to %s, want a PUT without Content-Type to the signed URL", req.Method, req.Header.Get("Content-Type"), req.URL)
		}
		if r.fail > 0 {
			r.fail--
			http.Error(w, "slow down", http.StatusServiceUnavailable)
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("read response body: %v", err)
			return
		}
		var resp cfn.Response
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Errorf("response body %s: %v", body, err)
		}
		r.got = append(r.got, resp)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *responder) url() string { return r.srv.URL + "/cfn-response?X-Amz-Signature=s3cr3t-signature" }

func (r *responder) last(t *testing.T) cfn.Response {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("no response sent to the pre-signed URL")
	}
	return r.got[len(r.got)-1]
}

func event(r *responder, typ cfn.RequestType, physicalID string, props, old map[string]any) cfn.Event {
	return cfn.Event{
		RequestType: typ, RequestID: "req-" + string(typ), ResponseURL: r.url(), ResourceType: "Custom::KafkaSetup",
		LogicalResourceID: "KafkaSetup", StackID: "arn:aws:cloudformation:us-east-1:111122223333:stack/finfeed/1",
		PhysicalResourceID: physicalID, ResourceProperties: props, OldResourceProperties: old,
	}
}

func props(c *kfake.Cluster, partitions string, customers ...string) map[string]any {
	return map[string]any{
		"ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:provision", "BootstrapServers": strings.Join(c.ListenAddrs(), ","),
		"Partitions": partitions, "ReplicationFactor": "3", "RetentionHours": "24", "Customers": toAny(customers), "EnrichUser": "svc-enrich",
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// readAs consumes enhanced as user with group; it returns the first fetch error or nil once a record arrives.
func readAs(t *testing.T, c *kfake.Cluster, user, topic, group string) error {
	t.Helper()
	cl := client(t, c, user, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	ctx := bounded(t)
	for {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		if fs.NumRecords() > 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func writeAs(t *testing.T, c *kfake.Cluster, user, topic string) error {
	t.Helper()
	cl := client(t, c, user, kgo.RecordRetries(2), kgo.UnknownTopicRetries(1))
	return cl.ProduceSync(bounded(t), &kgo.Record{Topic: topic, Key: []byte("AMZN"), Value: []byte(`{}`)}).FirstErr()
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	var ke *kerr.Error
	if !errors.As(err, &ke) || !strings.Contains(ke.Message, "AUTHORIZATION_FAILED") {
		t.Errorf("%s: err = %v, want an authorization failure", what, err)
	}
}

func wantSuccess(t *testing.T, r *responder, what string) cfn.Response {
	t.Helper()
	got := r.last(t)
	if got.Status != cfn.StatusSuccess {
		t.Fatalf("%s: status %s (%s), want SUCCESS", what, got.Status, got.Reason)
	}
	return got
}

func topicState(t *testing.T, c *kfake.Cluster) kadm.TopicDetails {
	t.Helper()
	adm := kadm.NewClient(client(t, c, "admin"))
	d, err := adm.ListTopics(bounded(t))
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	return d
}

func TestLifecycle(t *testing.T) {
	c := newCluster(t)
	r := newResponder(t)
	h := &provision.Handler{Dial: dialer(c)}

	// Create: topics, partitions, retention, ACLs.
	p1 := props(c, "3", "acme", "globex")
	if err := h.Handle(bounded(t), event(r, cfn.RequestCreate, "", p1, nil)); err != nil {
		t.Fatalf("Handle(Create): %v", err)
	}
	created := wantSuccess(t, r, "create")
	id := created.PhysicalResourceID
	if want := "finfeed-kafka:" + strings.Join(c.ListenAddrs(), ","); id != want {
		t.Errorf("PhysicalResourceId = %q, want %q", id, want)
	}
	if got, want := created.Data[provision.AttrBrokers], strings.Join(c.ListenAddrs(), ","); got != want {
		t.Errorf("Data[%s] = %v, want %v", provision.AttrBrokers, got, want)
	}
	if created.RequestID != "req-Create" || created.LogicalResourceID != "KafkaSetup" || !strings.HasPrefix(created.StackID, "arn:aws:cloudformation") {
		t.Errorf("response ids = %+v, want the request's", created)
	}
	topics := topicState(t, c)
	for _, name := range []string{"raw", "enhanced", "raw.dlq", "enhanced.dlq"} {
		d, ok := topics[name]
		if !ok {
			t.Errorf("topic %s missing after create; have %v", name, topics.Names())
			continue
		}
		if got := len(d.Partitions); got != 3 {
			t.Errorf("topic %s: %d partitions, want 3", name, got)
		}
		if got := d.Partitions.NumReplicas(); got != 3 {
			t.Errorf("topic %s: replication %d, want 3", name, got)
		}
	}
	adm := kadm.NewClient(client(t, c, "admin"))
	cfgs, err := adm.DescribeTopicConfigs(bounded(t), "enhanced", "raw.dlq")
	if err != nil {
		t.Fatalf("describe configs: %v", err)
	}
	for _, rc := range cfgs {
		want := map[string]string{"enhanced": "86400000", "raw.dlq": "1209600000"}[rc.Name]
		for _, cv := range rc.Configs {
			if cv.Key == "retention.ms" && cv.MaybeValue() != want {
				t.Errorf("%s retention.ms = %s, want %s", rc.Name, cv.MaybeValue(), want)
			}
		}
	}
	if err := writeAs(t, c, "svc-enrich", "enhanced"); err != nil {
		t.Fatalf("service enrich writes enhanced: %v", err)
	}
	if err := readAs(t, c, "acme", "enhanced", "acme"); err != nil {
		t.Errorf("acme reads enhanced with group acme: %v", err)
	}
	if err := writeAs(t, c, "admin", "raw"); err != nil {
		t.Fatalf("admin writes raw: %v", err)
	}
	if err := readAs(t, c, "svc-enrich", "raw", "finfeed-enrich"); err != nil {
		t.Errorf("service enrich reads raw: %v", err)
	}
	wantDenied(t, "acme reads raw", readAs(t, c, "acme", "raw", "acme"))
	wantDenied(t, "acme reads raw.dlq", readAs(t, c, "acme", "raw.dlq", "acme"))
	wantDenied(t, "acme uses globex's group", readAs(t, c, "acme", "enhanced", "globex"))
	wantDenied(t, "acme writes enhanced", writeAs(t, c, "acme", "enhanced"))
	wantDenied(t, "service enrich writes raw", writeAs(t, c, "svc-enrich", "raw"))

	// Update: drop globex, grow partitions; twice, the second a no-op.
	p2 := props(c, "4", "acme")
	for i := range 2 {
		if err := h.Handle(bounded(t), event(r, cfn.RequestUpdate, id, p2, p1)); err != nil {
			t.Fatalf("Handle(Update %d): %v", i, err)
		}
		if got := wantSuccess(t, r, "update").PhysicalResourceID; got != id {
			t.Errorf("update %d changed PhysicalResourceId to %q, want %q (a change makes CloudFormation delete the old one)", i, got, id)
		}
		p1 = p2
	}
	if got := len(topicState(t, c)["raw"].Partitions); got != 4 {
		t.Errorf("raw has %d partitions after update, want 4", got)
	}
	wantDenied(t, "removed customer globex reads enhanced", readAs(t, c, "globex", "enhanced", "globex"))
	if err := readAs(t, c, "acme", "enhanced", "acme"); err != nil {
		t.Errorf("acme reads enhanced after update: %v", err)
	}

	// Update that Kafka cannot do: fail clearly, change nothing.
	if err := h.Handle(bounded(t), event(r, cfn.RequestUpdate, id, props(c, "2", "acme"), p2)); err != nil {
		t.Fatalf("Handle(shrinking Update): %v", err)
	}
	if got := r.last(t); got.Status != cfn.StatusFailed || !strings.Contains(got.Reason, "cannot remove partitions") {
		t.Errorf("shrinking update: status %s reason %q, want FAILED saying partitions cannot be removed", got.Status, got.Reason)
	}

	// Delete: ACLs go, topics (the data) stay.
	if err := h.Handle(bounded(t), event(r, cfn.RequestDelete, id, p2, nil)); err != nil {
		t.Fatalf("Handle(Delete): %v", err)
	}
	wantSuccess(t, r, "delete")
	wantDenied(t, "acme reads enhanced after delete", readAs(t, c, "acme", "enhanced", "acme"))
	if _, ok := topicState(t, c)["enhanced"]; !ok {
		t.Error("delete removed topic enhanced, want it kept unless DeleteTopicsOnDelete")
	}
}

func TestDeleteTopicsOnDelete(t *testing.T) {
	c := newCluster(t)
	r := newResponder(t)
	h := &provision.Handler{Dial: dialer(c)}
	p := props(c, "1")
	p["DeleteTopicsOnDelete"] = "true"
	ctx := bounded(t)
	if err := h.Handle(ctx, event(r, cfn.RequestCreate, "", p, nil)); err != nil {
		t.Fatal(err)
	}
	id := wantSuccess(t, r, "create").PhysicalResourceID
	if err := h.Handle(ctx, event(r, cfn.RequestDelete, id, p, nil)); err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, r, "delete")
	if left := topicState(t, c).Names(); len(left) != 0 {
		t.Errorf("topics after delete = %v, want none", left)
	}
}
