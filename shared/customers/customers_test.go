package customers_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/customers"
	"github.com/finfeed/finfeed/shared/dev/awsfake"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/provision"
	"github.com/finfeed/finfeed/shared/topics"
)

const clusterArn = "arn:aws:kafka:eu-west-3:111122223333:cluster/finfeed-test/abcd-1"

type env struct {
	b       *broker.Broker
	secrets *awsfake.SecretsManager
	msk     *awsfake.MSK
	m       *customers.Manager
}

// setup starts the embedded Kafka as `feed local` does (SCRAM, ACLs, the feed's topics, a template-style
// customer alice), writes three bars to enhanced and one to raw, and builds a manager on it.
func setup(t *testing.T) env {
	t.Helper()
	b, err := broker.Start(t.Context(), broker.Config{Partitions: 1, Customer: broker.Credentials{User: "alice"}})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	svc := client(t, b.ServiceKafka())
	for _, v := range []string{"b1", "b2", "b3"} {
		if err := svc.ProduceSync(ctxT(t), &kgo.Record{Topic: topics.Enhanced, Key: []byte("K"), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.ProduceSync(ctxT(t), &kgo.Record{Topic: topics.Raw, Key: []byte("K"), Value: []byte("r1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	sm := awsfake.NewSecretsManager()
	admin := kadm.NewClient(client(t, b.OperatorKafka()))
	fm := awsfake.NewMSK(clusterArn, sm, admin)
	m := &customers.Manager{Secrets: sm, MSK: fm, Admin: admin, ClusterArn: clusterArn, SecretPrefix: "finfeed-test",
		KMSKeyID: "arn:aws:kms:eu-west-3:111122223333:key/k1", Topics: b.Spec().CustomerTopics()}
	return env{b: b, secrets: sm, msk: fm, m: m}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func client(t *testing.T, kc kafka.Config, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), kc, kafka.Deps{}, append(opts, kgo.RequestRetries(2))...)
	if err != nil {
		t.Fatalf("client %s: %v", kc.Username, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// login is the Kafka configuration of user with the password its secret holds now.
func (e env) login(t *testing.T, user string) kafka.Config {
	t.Helper()
	u, pw, ok := e.secrets.Value(user)
	if !ok || u != user {
		t.Fatalf("secret of %s: got user %q (found %v)", user, u, ok)
	}
	kc := e.b.CustomerKafka()
	kc.Username, kc.Password = user, pw
	return kc
}

// read reads want records of topic from the start as kc, or returns the first error.
func read(ctx context.Context, t *testing.T, kc kafka.Config, topic string, want int) ([]string, error) {
	t.Helper()
	cl := client(t, kc, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	return poll(ctx, cl, want)
}

func poll(ctx context.Context, cl *kgo.Client, want int) ([]string, error) {
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

// commit commits offset 1 of enhanced's partition 0 in group as kc.
func commit(ctx context.Context, t *testing.T, kc kafka.Config, group string) error {
	t.Helper()
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: topics.Enhanced, Partition: 0, At: 1, LeaderEpoch: -1})
	resp, err := kadm.NewClient(client(t, kc)).CommitOffsets(ctx, group, offs)
	if err == nil {
		err = resp.Error()
	}
	return err
}

func canRead(ctx context.Context, t *testing.T, kc kafka.Config) {
	t.Helper()
	if got, err := read(ctx, t, kc, topics.Enhanced, 3); err != nil || len(got) < 3 || !slices.Equal(got[:3], []string{"b1", "b2", "b3"}) {
		t.Errorf("%s reads enhanced: got %q, %v, want b1 b2 b3", kc.Username, got, err)
	}
}

// TestLifecycle: a customer added with a group prefix reads enhanced with any group under the prefix and
// nothing else; a rotation gives a second user the same rights while the first still works; finishing it and
// removing the customer cut even connections opened before.
func TestLifecycle(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	c, err := e.m.Add(ctx, "acme", "acme.")
	if err != nil {
		t.Fatalf("add acme: %v", err)
	}
	if len(c.Users) != 1 || c.Users[0].Name != "acme" || !c.Users[0].Associated || c.Users[0].SecretName != "AmazonMSK_finfeed-test_acme" {
		t.Fatalf("add acme: got %+v", c)
	}
	if got := e.secrets.KMSKey("AmazonMSK_finfeed-test_acme"); got != e.m.KMSKeyID {
		t.Fatalf("acme's secret key: got %q, want the stack's KMS key %q", got, e.m.KMSKeyID)
	}
	acme := e.login(t, "acme")
	canRead(ctx, t, acme)
	if _, err := read(ctx, t, acme, topics.Raw, 1); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("acme reads raw: got %v, want %v", err, kerr.TopicAuthorizationFailed)
	}
	groups := []struct {
		group string
		ok    bool
	}{{"acme.risk", true}, {"acme.ops.eu", true}, {"acme", false}, {"alice", false}, {topics.IndexGroup, false}, {"acmex", false}}
	for _, g := range groups {
		err := commit(ctx, t, acme, g.group)
		if g.ok != (err == nil) || (err != nil && !errors.Is(err, kerr.GroupAuthorizationFailed)) {
			t.Errorf("acme commits in group %s: got %v, want allowed=%v", g.group, err, g.ok)
		}
	}
	if err := client(t, acme).ProduceSync(ctx, &kgo.Record{Topic: topics.Enhanced, Value: []byte("forged")}).FirstErr(); err == nil {
		t.Errorf("acme writes enhanced: got nil error, want refused")
	}

	if _, err := e.m.Add(ctx, "globex", ""); err != nil {
		t.Fatalf("add globex: %v", err)
	}
	globex := e.login(t, "globex")
	if err := commit(ctx, t, globex, "globex"); err != nil {
		t.Errorf("globex commits in its group: %v", err)
	}
	if err := commit(ctx, t, globex, "globex.two"); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Errorf("globex (no prefix) commits in globex.two: got %v, want refused", err)
	}

	// rotation: acme-2 gets the same rights, acme keeps working until the rotation is finished
	u2, err := e.m.Rotate(ctx, "acme")
	if err != nil || u2.Name != "acme-2" {
		t.Fatalf("rotate acme: got %+v, %v, want user acme-2", u2, err)
	}
	if _, err := e.m.Rotate(ctx, "acme"); !errors.Is(err, customers.ErrRotationOpen) {
		t.Errorf("second rotate: got %v, want %v", err, customers.ErrRotationOpen)
	}
	acme2 := e.login(t, "acme-2")
	canRead(ctx, t, acme2)
	canRead(ctx, t, acme)
	if err := commit(ctx, t, acme2, "acme.risk"); err != nil {
		t.Errorf("acme-2 commits in acme.risk: %v", err)
	}
	listed, err := e.m.Get(ctx, "acme")
	if err != nil || len(listed.Users) != 2 || listed.Users[0].Name != "acme" || listed.GroupPrefix != "acme." {
		t.Errorf("list during the rotation: got %+v, %v", listed, err)
	}

	// a connection of acme opened before the rotation ends
	open := client(t, acme, kgo.ConsumeTopics(topics.Enhanced), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if got, err := poll(ctx, open, 3); err != nil || len(got) != 3 {
		t.Fatalf("acme's open connection: got %q, %v", got, err)
	}
	old, err := e.m.FinishRotation(ctx, "acme")
	if err != nil || old.Name != "acme" {
		t.Fatalf("finish rotation: got %+v, %v, want acme retired", old, err)
	}
	if err := client(t, e.b.ServiceKafka()).ProduceSync(ctx, &kgo.Record{Topic: topics.Enhanced, Value: []byte("b4")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	got, err := poll(short, open, 1)
	cancel()
	if err == nil || len(got) != 0 {
		t.Errorf("acme's open connection after the rotation: got %q, %v, want an error and no record", got, err)
	}
	t.Logf("acme's open connection after the rotation: %v", err)
	if err := pingFails(ctx, t, acme); err != nil {
		t.Error(err)
	}
	if got, err := read(ctx, t, acme2, topics.Enhanced, 4); err != nil || len(got) != 4 {
		t.Errorf("acme-2 after the rotation: got %q, %v, want 4 records", got, err)
	}
	if _, err := e.m.FinishRotation(ctx, "acme"); !errors.Is(err, customers.ErrNoRotation) {
		t.Errorf("finish without a rotation: got %v, want %v", err, customers.ErrNoRotation)
	}
	// the next rotation goes back to the first user name, with a new password
	u3, err := e.m.Rotate(ctx, "acme")
	if err != nil || u3.Name != "acme" {
		t.Fatalf("second rotation: got %+v, %v, want user acme", u3, err)
	}
	if _, pw, _ := e.secrets.Value("acme"); pw == acme.Password {
		t.Errorf("second rotation reused the retired password")
	}
	canRead(ctx, t, e.login(t, "acme"))

	// removal: an open connection of acme-2 loses access, logins stop, the register forgets acme
	open2 := client(t, acme2, kgo.ConsumeTopics(topics.Enhanced), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if got, err := poll(ctx, open2, 4); err != nil || len(got) != 4 {
		t.Fatalf("acme-2's open connection: got %q, %v", got, err)
	}
	conn := "arn:aws:kafka:eu-west-3:444455556666:vpc-connection/111122223333/finfeed-test/abcd-1"
	if err := e.m.Remove(ctx, "acme", []string{conn}); err != nil {
		t.Fatalf("remove acme: %v", err)
	}
	if err := client(t, e.b.ServiceKafka()).ProduceSync(ctx, &kgo.Record{Topic: topics.Enhanced, Value: []byte("b5")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	short, cancel = context.WithTimeout(ctx, 10*time.Second)
	got, err = poll(short, open2, 1)
	cancel()
	if err == nil || len(got) != 0 {
		t.Errorf("acme-2's open connection after removal: got %q, %v, want an error and no record", got, err)
	}
	for _, kc := range []kafka.Config{acme2} {
		if err := pingFails(ctx, t, kc); err != nil {
			t.Error(err)
		}
	}
	if !slices.Equal(e.msk.Rejected(), []string{conn}) {
		t.Errorf("rejected connections: got %q, want %q", e.msk.Rejected(), conn)
	}
	if got, want := e.secrets.Names(), []string{"AmazonMSK_finfeed-test_globex"}; !slices.Equal(got, want) {
		t.Errorf("secrets after removal: got %q, want %q", got, want)
	}
	if got := e.msk.Users(); !slices.Equal(got, []string{"globex"}) {
		t.Errorf("associated users after removal: got %q, want [globex]", got)
	}
	if got := aclsOf(ctx, t, e, "acme", "acme-2"); len(got) != 0 {
		t.Errorf("acls left after removal: %q", got)
	}
	if _, err := e.m.Get(ctx, "acme"); !errors.Is(err, customers.ErrNotFound) {
		t.Errorf("get removed customer: got %v, want %v", err, customers.ErrNotFound)
	}
	// globex is untouched, and the name acme can be given again at once
	if err := commit(ctx, t, globex, "globex"); err != nil {
		t.Errorf("globex after acme's removal: %v", err)
	}
	if _, err := e.m.Add(ctx, "acme", ""); err != nil {
		t.Errorf("add acme again: %v", err)
	}
}

// pingFails checks that kc can no longer log in.
func pingFails(ctx context.Context, t *testing.T, kc kafka.Config) error {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client(t, kc).Ping(pctx); err == nil {
		return errors.New(kc.Username + " logs in after its secret was disassociated")
	}
	return nil
}

func aclsOf(ctx context.Context, t *testing.T, e env, users ...string) []string {
	t.Helper()
	var principals []string
	for _, u := range users {
		principals = append(principals, "User:"+u)
	}
	res, err := e.m.Admin.DescribeACLs(ctx, kadm.NewACLs().AnyResource().Allow(principals...).AllowHosts().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil {
		t.Fatalf("describe acls: %v", err)
	}
	var out []string
	for _, r := range res {
		for _, d := range r.Described {
			out = append(out, d.Principal+" "+d.Name)
		}
	}
	return out
}

// Names and groups that would reach someone else's rights are refused before anything is created.
func TestAddRefuses(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	if _, err := e.m.Add(ctx, "acme", "acme."); err != nil {
		t.Fatal(err)
	}
	e.secrets.AddUntagged("AmazonMSK_finfeed-test_alice", "alice")
	cases := []struct {
		name, customer, prefix string
		want                   error
	}{
		{"same name", "acme", "", customers.ErrExists},
		{"acme's second user", "acme-2", "", customers.ErrTaken},
		{"inside acme's group prefix", "acme.x", "", customers.ErrTaken},
		{"a template customer", "alice", "", customers.ErrExists},
		{"a principal with acls", "finfeed-service", "", nil},
		{"a prefix not under the name", "bob", "acme.", provision.ErrGroupPrefix},
		{"a prefix without the dot", "bob", "bob", provision.ErrGroupPrefix},
		{"not a scram user name", "bob smith", "", nil},
	}
	before := e.secrets.Names()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.m.Add(ctx, c.customer, c.prefix)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("add %q %q: got %v, want %v", c.customer, c.prefix, err, c.want)
			}
		})
	}
	if got := e.secrets.Names(); !slices.Equal(got, before) {
		t.Errorf("secrets after refused adds: got %q, want %q", got, before)
	}
	// the broker's customer alice holds acls but no secret here (as a principal made outside the register)
	e.secrets.Remove("AmazonMSK_finfeed-test_alice")
	if _, err := e.m.Add(ctx, "alice", ""); !errors.Is(err, customers.ErrTaken) {
		t.Errorf("add a principal that has acls: got %v, want %v", err, customers.ErrTaken)
	}
	if err := e.m.Remove(ctx, "nobody", nil); !errors.Is(err, customers.ErrNotFound) {
		t.Errorf("remove unknown: got %v, want %v", err, customers.ErrNotFound)
	}
	e.secrets.AddUntagged("AmazonMSK_finfeed-test_carol", "carol")
	if err := e.m.Remove(ctx, "carol", nil); !errors.Is(err, customers.ErrTemplate) {
		t.Errorf("remove a template customer: got %v, want %v", err, customers.ErrTemplate)
	}
	if _, err := e.m.Rotate(ctx, "carol"); !errors.Is(err, customers.ErrTemplate) {
		t.Errorf("rotate a template customer: got %v, want %v", err, customers.ErrTemplate)
	}
	all, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Name+":"+map[bool]string{true: "template", false: "managed"}[c.Template])
	}
	if want := []string{"acme:managed", "carol:template"}; !slices.Equal(names, want) {
		t.Errorf("list: got %q, want %q", names, want)
	}
}

// A failed association leaves nothing behind: no secret, no ACL.
func TestAddUndoesAFailedAssociation(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	e.msk.FailAssociate = true
	_, err := e.m.Add(ctx, "acme", "acme.")
	if !errors.Is(err, customers.ErrNotAssociated) || !strings.Contains(err.Error(), "InternalFailure") {
		t.Fatalf("add with a failing association: got %v, want %v", err, customers.ErrNotAssociated)
	}
	if got := e.secrets.Names(); len(got) != 0 {
		t.Errorf("secrets left: %q", got)
	}
	if got := aclsOf(ctx, t, e, "acme"); len(got) != 0 {
		t.Errorf("acls left: %q", got)
	}
	e.msk.FailAssociate = false
	e.m.KMSKeyID = ""
	if _, err := e.m.Add(ctx, "acme", ""); err == nil || !strings.Contains(err.Error(), "kms key") {
		t.Errorf("add without a KMS key: got %v, want a kms key error", err)
	}
	if got := e.secrets.Names(); len(got) != 0 {
		t.Errorf("secrets left: %q", got)
	}
}

// Sync repairs what changed behind the register's back: a secret disassociated outside it, and the ACLs of a
// topic customers read from now on; a template customer is left alone.
func TestSync(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	c, err := e.m.Add(ctx, "acme", "acme.")
	if err != nil {
		t.Fatal(err)
	}
	acme := e.login(t, "acme")
	if _, err := e.msk.BatchDisassociateScramSecret(ctx, &msk.BatchDisassociateScramSecretInput{
		ClusterArn: aws.String(clusterArn), SecretArnList: []string{c.Users[0].SecretArn}}); err != nil {
		t.Fatal(err)
	}
	if err := pingFails(ctx, t, acme); err != nil {
		t.Fatalf("after the out-of-band disassociation: %v", err)
	}
	// a topic customers read from now on (as candles will be)
	if _, err := e.m.Admin.CreateTopic(ctx, 1, 1, nil, "later"); err != nil {
		t.Fatal(err)
	}
	if err := client(t, e.b.OperatorKafka()).ProduceSync(ctx, &kgo.Record{Topic: "later", Value: []byte("l1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.m.Topics = append(e.m.Topics, "later")
	e.secrets.AddUntagged("AmazonMSK_finfeed-test_carol", "carol")

	fixed, err := e.m.Sync(ctx)
	if err != nil || len(fixed) != 1 || fixed[0].Name != "acme" {
		t.Fatalf("sync: got %+v, %v, want acme re-associated", fixed, err)
	}
	canRead(ctx, t, acme)
	if got, err := read(ctx, t, acme, "later", 1); err != nil || len(got) != 1 {
		t.Errorf("acme reads the new topic after sync: got %q, %v", got, err)
	}
	if got := e.msk.Users(); !slices.Equal(got, []string{"acme"}) {
		t.Errorf("associated after sync: got %q, want only acme (carol is the template's)", got)
	}
	if fixed, err := e.m.Sync(ctx); err != nil || len(fixed) != 0 {
		t.Errorf("second sync: got %+v, %v, want nothing to do", fixed, err)
	}
}
