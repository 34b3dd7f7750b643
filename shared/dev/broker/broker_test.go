package broker_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/provision"
	"github.com/finfeed/finfeed/shared/topics"
)

func start(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	b, err := broker.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func client(t *testing.T, kc kafka.Config, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), kc, kafka.Deps{}, append(opts, kgo.RequestRetries(2))...)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctxTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func produce(ctx context.Context, cl *kgo.Client, topic, value string) error {
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("K"), Value: []byte(value)}).FirstErr()
}

// readAll reads want records of topic from the start, or fails with the first fetch error.
func readAll(ctx context.Context, kc kafka.Config, topic string, want int, opts ...kgo.Opt) ([]string, error) {
	cl, err := kafka.NewClient(ctx, kc, kafka.Deps{}, append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var got []string
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return got, err
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return got, errs[0].Err
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got, nil
}

// commit commits offset 1 of partition 0 of topic in group as the principal of kc.
func commit(ctx context.Context, t *testing.T, kc kafka.Config, group, topic string) error {
	t.Helper()
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 1, LeaderEpoch: -1})
	resp, err := kadm.NewClient(client(t, kc)).CommitOffsets(ctx, group, offs)
	if err == nil {
		err = resp.Error()
	}
	return err
}

// TestAccess: each principal can do exactly what provision grants it on MSK, and nothing else.
func TestAccess(t *testing.T) {
	b := start(t, broker.Config{Customer: broker.Credentials{User: "alice", Password: "alice-pw"}})
	ctx := ctxTimeout(t)
	svc, cust := b.ServiceKafka(), b.CustomerKafka()
	// the service principal runs the ingester, the enrich and the index function: it writes every topic (with
	// an idempotent producer, franz-go's default) but reads only what the functions read
	svcClient := client(t, svc)
	for _, topic := range topics.All() {
		if err := produce(ctx, svcClient, topic, "v-"+topic); err != nil {
			t.Errorf("service produce to %s: got %v, want nil", topic, err)
		}
	}
	allowed := func(err error) bool { return err == nil }
	deniedTopic := func(err error) bool { return errors.Is(err, kerr.TopicAuthorizationFailed) }
	deniedGroup := func(err error) bool { return errors.Is(err, kerr.GroupAuthorizationFailed) }
	reads := []struct {
		who   string
		kc    kafka.Config
		topic string
		ok    func(error) bool
	}{
		{"service", svc, topics.Raw, allowed},
		{"service", svc, topics.Enhanced, allowed},
		{"service", svc, topics.RawDLQ, deniedTopic},
		{"service", svc, topics.EnhancedDLQ, deniedTopic},
		{"customer", cust, topics.Enhanced, allowed},
		{"customer", cust, topics.Raw, deniedTopic},
		{"customer", cust, topics.RawDLQ, deniedTopic},
		{"customer", cust, topics.EnhancedDLQ, deniedTopic},
		// the operator stands in for IAM on MSK, which ACLs do not govern
		{"operator", b.OperatorKafka(), topics.RawDLQ, allowed},
		{"operator", b.OperatorKafka(), topics.EnhancedDLQ, allowed},
	}
	for _, r := range reads {
		got, err := readAll(ctx, r.kc, r.topic, 1)
		if !r.ok(err) || (err == nil && (len(got) != 1 || got[0] != "v-"+r.topic)) {
			t.Errorf("%s read of %s: got %q, %v", r.who, r.topic, got, err)
		}
	}
	commits := []struct {
		who          string
		kc           kafka.Config
		group, topic string
		ok           func(error) bool
	}{
		{"service", svc, topics.EnrichGroup, topics.Raw, allowed},
		{"service", svc, topics.IndexGroup, topics.Enhanced, allowed},
		{"service", svc, "finfeed-other", topics.Raw, deniedGroup},
		{"service", svc, "alice", topics.Enhanced, deniedGroup},
		// the customer's consumer group is the one named as the user: committing in the indexer's group would
		// make it skip records
		{"customer", cust, "alice", topics.Enhanced, allowed},
		{"customer", cust, topics.IndexGroup, topics.Enhanced, deniedGroup},
		{"customer", cust, topics.EnrichGroup, topics.Enhanced, deniedGroup},
		{"customer", cust, "customer-app", topics.Enhanced, deniedGroup},
	}
	for _, c := range commits {
		if err := commit(ctx, t, c.kc, c.group, c.topic); !c.ok(err) {
			t.Errorf("%s commit on %s in group %s: got %v", c.who, c.topic, c.group, err)
		}
	}
	// the customer's group also consumes
	grp := client(t, cust, kgo.ConsumeTopics(topics.Enhanced), kgo.ConsumerGroup("alice"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if fs := grp.PollFetches(ctx); fs.Err0() != nil || fs.NumRecords() != 1 {
		t.Errorf("customer group read of enhanced: got %d records, %v, want 1", fs.NumRecords(), fs.Err0())
	}
	custClient := client(t, cust)
	for _, topic := range topics.All() {
		if err := produce(ctx, custClient, topic, "forged"); !errors.Is(err, kerr.TopicAuthorizationFailed) && !errors.Is(err, kerr.ClusterAuthorizationFailed) {
			t.Errorf("customer produce to %s: got %v, want an authorization error", topic, err)
		}
	}
	for _, kc := range []kafka.Config{svc, cust} {
		_, err := kadm.NewClient(client(t, kc)).CreateTopic(ctx, 1, 1, nil, "made-up")
		if !errors.Is(err, kerr.ClusterAuthorizationFailed) && !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("%s create topic: got %v, want an authorization error", kc.Username, err)
		}
	}

	wrong := b.CustomerKafka()
	wrong.Password = "not-the-password"
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client(t, wrong).Ping(pingCtx); err == nil {
		t.Errorf("ping with a wrong password: got nil error, want a refused login")
	}
}

// TestSpecIsMSKs: the broker provisions what the custom resource provisions on MSK for the same principals, and
// those are the ACLs this test spells out.
func TestSpecIsMSKs(t *testing.T) {
	b := start(t, broker.Config{Partitions: 3, Service: broker.Credentials{User: "svc"}, Customer: broker.Credentials{User: "alice"}})
	msk, _, err := provision.ParseProperties(map[string]any{
		"BootstrapServers": b.Addr(), "Partitions": "3", "ReplicationFactor": "1",
		"IngesterUser": "svc", "EnrichUser": "svc", "IndexUser": "svc", "Customers": "alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Spec(); !reflect.DeepEqual(got, msk) {
		t.Errorf("broker spec:\n got %+v\nwant %+v (the custom resource's)", got, msk)
	}
	acl := func(user string, res kmsg.ACLResourceType, name string, op kmsg.ACLOperation) string {
		return provision.ACL{Principal: "User:" + user, Resource: res, Name: name, Operation: op}.String()
	}
	topic, group := kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup
	read, write := kmsg.ACLOperationRead, kmsg.ACLOperationWrite
	want := []string{
		acl("alice", topic, topics.Enhanced, read),
		acl("alice", topic, topics.Enhanced, kmsg.ACLOperationDescribe),
		acl("alice", topic, topics.Candles, read),
		acl("alice", topic, topics.Candles, kmsg.ACLOperationDescribe),
		acl("alice", group, "alice", read),
		acl("svc", topic, topics.Enhanced, read),
		acl("svc", topic, topics.Enhanced, write),
		acl("svc", topic, topics.Candles, read),
		acl("svc", topic, topics.Candles, write),
		acl("svc", topic, topics.EnhancedDLQ, write),
		acl("svc", topic, topics.Raw, read),
		acl("svc", topic, topics.Raw, write),
		acl("svc", topic, topics.RawDLQ, write),
		acl("svc", group, topics.EnrichGroup, read),
		acl("svc", group, topics.IndexGroup, read),
		acl("svc", group, topics.IndexCandlesGroup, read),
	}
	var got []string
	for _, a := range b.Spec().ACLs() {
		got = append(got, a.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("acls:\n got %q\nwant %q", got, want)
	}
	if n := len(broker.Config{NoAuth: true, Partitions: 1}.Settings().Spec().ACLs()); n != 0 {
		t.Errorf("acls without auth: got %d, want 0", n)
	}
}

func TestNoAuth(t *testing.T) {
	b := start(t, broker.Config{NoAuth: true, Partitions: 2})
	ctx := ctxTimeout(t)
	if kc := b.ServiceKafka(); kc.Auth != kafka.AuthNone {
		t.Fatalf("service auth: got %q, want %q", kc.Auth, kafka.AuthNone)
	}
	if err := produce(ctx, client(t, b.ServiceKafka()), topics.Raw, "x"); err != nil {
		t.Fatalf("produce without auth: %v", err)
	}
	got, err := readAll(ctx, b.ServiceKafka(), topics.Raw, 1)
	if err != nil || len(got) != 1 || got[0] != "x" {
		t.Errorf("read without auth: got %q, %v, want [x], nil", got, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  broker.Config
	}{
		{"every interface, nothing advertised", broker.Config{Addr: "0.0.0.0:0"}},
		{"no host", broker.Config{Addr: ":0"}},
		{"advertised port", broker.Config{Addr: "127.0.0.1:0", Advertise: "host.docker.internal:9092"}},
		{"no port", broker.Config{Addr: "127.0.0.1"}},
		{"bad port", broker.Config{Addr: "127.0.0.1:http"}},
		{"negative partitions", broker.Config{Partitions: -1}},
		{"customer is service", broker.Config{Service: broker.Credentials{User: "u"}, Customer: broker.Credentials{User: "u"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := broker.Start(t.Context(), tt.cfg)
			if err == nil {
				b.Close()
				t.Fatalf("got nil error, want one")
			}
		})
	}
}

// TestDataDirRestart: records, committed offsets and ACLs survive a restart; passwords are this run's.
func TestDataDirRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxTimeout(t)
	cfg := broker.Config{DataDir: dir, Customer: broker.Credentials{User: "alice", Password: "first"}}
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kafka.NewClient(ctx, b.ServiceKafka(), kafka.Deps{},
		kgo.ConsumeTopics(topics.Enhanced), kgo.ConsumerGroup(topics.IndexGroup), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b"} {
		if err := produce(ctx, svc, topics.Enhanced, v); err != nil {
			t.Fatal(err)
		}
	}
	var seen int
	for seen < 2 {
		fs := svc.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		seen += fs.NumRecords()
	}
	if err := svc.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	b.Close()

	cfg.Customer.Password = "second"
	b = start(t, cfg)
	if err := produce(ctx, client(t, b.ServiceKafka()), topics.Enhanced, "c"); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(ctx, b.CustomerKafka(), topics.Enhanced, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("customer read after restart: got %q, %v, want 3 records", got, err)
	}
	offs, err := kadm.NewClient(client(t, b.ServiceKafka())).FetchOffsets(ctx, topics.IndexGroup)
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != 2 {
		t.Errorf("committed offsets of group %s after restart: got %d, want 2", topics.IndexGroup, committed)
	}
	old := b.CustomerKafka()
	old.Password = "first"
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client(t, old).Ping(pingCtx); err == nil {
		t.Errorf("login with the previous run's password: got nil error, want refused")
	}
	if _, err := readAll(ctx, b.CustomerKafka(), topics.Raw, 1); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("customer read of raw after restart: got %v, want %v", err, kerr.TopicAuthorizationFailed)
	}
}

// A customer named like a service's consumer group or in the provider's prefix is refused locally as on MSK.
func TestCustomerNamesCannotShadowTheService(t *testing.T) {
	for _, name := range []string{"finfeed-index", "finfeed-enrich", "FINFEED-x"} {
		b, err := broker.Start(t.Context(), broker.Config{Customer: broker.Credentials{User: name, Password: "pw"}})
		if err == nil {
			b.Close()
			t.Errorf("customer %q: started, want refused", name)
			continue
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("customer %q: error %v does not name it", name, err)
		}
	}
}
