package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/kafka"
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
func readAll(ctx context.Context, kc kafka.Config, topic string, want int) ([]string, error) {
	cl, err := kafka.NewClient(ctx, kc, kafka.Deps{}, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
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

func TestAccess(t *testing.T) {
	b := start(t, broker.Config{Customer: broker.Credentials{User: "alice", Password: "alice-pw"}})
	ctx := ctxTimeout(t)
	svc := client(t, b.ServiceKafka())
	for _, topic := range broker.Topics {
		if err := produce(ctx, svc, topic, "v-"+topic); err != nil {
			t.Errorf("service produce to %s: got %v, want nil", topic, err)
		}
		got, err := readAll(ctx, b.ServiceKafka(), topic, 1)
		if err != nil || len(got) != 1 || got[0] != "v-"+topic {
			t.Errorf("service read of %s: got %q, %v, want [v-%s], nil", topic, got, err, topic)
		}
	}

	got, err := readAll(ctx, b.CustomerKafka(), broker.TopicEnhanced, 1)
	if err != nil || len(got) != 1 {
		t.Errorf("customer read of enhanced: got %q, %v, want one record", got, err)
	}
	// the customer's consumer group is the one named as the user, as on MSK
	grp := client(t, b.CustomerKafka(), kgo.ConsumeTopics(broker.TopicEnhanced), kgo.ConsumerGroup("alice"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if fs := grp.PollFetches(ctx); fs.Err0() != nil || fs.NumRecords() != 1 {
		t.Errorf("customer group read of enhanced: got %d records, %v, want 1", fs.NumRecords(), fs.Err0())
	}
	if err := grp.CommitUncommittedOffsets(ctx); err != nil {
		t.Errorf("customer group commit: %v", err)
	}
	// no other group: a customer committing in the pipeline's group on enhanced (the indexer's) would make it
	// skip records
	for _, g := range []string{"finfeed-index", "customer-app"} {
		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: broker.TopicEnhanced, Partition: 0, At: 1, LeaderEpoch: -1})
		resp, err := kadm.NewClient(client(t, b.CustomerKafka())).CommitOffsets(ctx, g, offs)
		if err == nil {
			err = resp.Error()
		}
		if !errors.Is(err, kerr.GroupAuthorizationFailed) {
			t.Errorf("customer commit in group %s: got %v, want %v", g, err, kerr.GroupAuthorizationFailed)
		}
	}
	for _, topic := range []string{broker.TopicRaw, broker.TopicRawDLQ, broker.TopicEnhancedDLQ} {
		_, err := readAll(ctx, b.CustomerKafka(), topic, 1)
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("customer read of %s: got %v, want %v", topic, err, kerr.TopicAuthorizationFailed)
		}
	}
	cust := client(t, b.CustomerKafka())
	if err := produce(ctx, cust, broker.TopicEnhanced, "forged"); !errors.Is(err, kerr.TopicAuthorizationFailed) && !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Errorf("customer produce to enhanced: got %v, want an authorization error", err)
	}

	wrong := b.CustomerKafka()
	wrong.Password = "not-the-password"
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client(t, wrong).Ping(pingCtx); err == nil {
		t.Errorf("ping with a wrong password: got nil error, want a refused login")
	}
}

func TestNoAuth(t *testing.T) {
	b := start(t, broker.Config{NoAuth: true, Partitions: 2})
	ctx := ctxTimeout(t)
	if kc := b.ServiceKafka(); kc.Auth != kafka.AuthNone {
		t.Fatalf("service auth: got %q, want %q", kc.Auth, kafka.AuthNone)
	}
	if err := produce(ctx, client(t, b.ServiceKafka()), broker.TopicRaw, "x"); err != nil {
		t.Fatalf("produce without auth: %v", err)
	}
	got, err := readAll(ctx, b.ServiceKafka(), broker.TopicRaw, 1)
	if err != nil || len(got) != 1 || got[0] != "x" {
		t.Errorf("read without auth: got %q, %v, want [x], nil", got, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  broker.Config
	}{
		{"public address", broker.Config{Addr: "0.0.0.0:0"}},
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
		kgo.ConsumeTopics(broker.TopicEnhanced), kgo.ConsumerGroup("g"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b"} {
		if err := produce(ctx, svc, broker.TopicEnhanced, v); err != nil {
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
	if err := produce(ctx, client(t, b.ServiceKafka()), broker.TopicEnhanced, "c"); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(ctx, b.CustomerKafka(), broker.TopicEnhanced, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("customer read after restart: got %q, %v, want 3 records", got, err)
	}
	offs, err := kadm.NewClient(client(t, b.ServiceKafka())).FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != 2 {
		t.Errorf("committed offsets of group g after restart: got %d, want 2", committed)
	}
	old := b.CustomerKafka()
	old.Password = "first"
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client(t, old).Ping(pingCtx); err == nil {
		t.Errorf("login with the previous run's password: got nil error, want refused")
	}
	if _, err := readAll(ctx, b.CustomerKafka(), broker.TopicRaw, 1); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("customer read of raw after restart: got %v, want %v", err, kerr.TopicAuthorizationFailed)
	}
}
