package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/finfeed/finfeed/shared/customers"
	"github.com/finfeed/finfeed/shared/dev/awsfake"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/kafka"
)

// customersCLI runs `feed customers` against an embedded Kafka (its operator stands in for the IAM login) and
// the Secrets Manager and MSK stand-ins.
func customersCLI(t *testing.T) (run func(args ...string) (int, string, string), sm *awsfake.SecretsManager, fm *awsfake.MSK, b *broker.Broker) {
	t.Helper()
	b, err := broker.Start(t.Context(), broker.Config{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	op := b.OperatorKafka()
	cl, err := kafka.NewClient(t.Context(), op, kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	sm = awsfake.NewSecretsManager()
	fm = awsfake.NewMSK("arn:aws:kafka:eu-west-3:111122223333:cluster/finfeed-dev/c1", sm, kadm.NewClient(cl))
	old := customerAWS
	customerAWS = func(context.Context) (customers.SecretsAPI, customers.MSKAPI, kafka.Deps, error) {
		return sm, fm, kafka.Deps{}, nil
	}
	t.Cleanup(func() { customerAWS = old })
	for k, v := range map[string]string{"KAFKA_BROKERS": b.Addr(), "KAFKA_AUTH": "scram", "KAFKA_TLS": "false",
		"KAFKA_USERNAME": op.Username, "KAFKA_PASSWORD": op.Password, "KAFKA_SECRET_ARN": "",
		"FINFEED_CLUSTER_ARN": fm.ClusterArn, "FINFEED_ENV": "dev", "FINFEED_KMS_KEY": "arn:aws:kms:eu-west-3:111122223333:key/k1"} {
		t.Setenv(k, v)
	}
	run = func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runCustomers(t.Context(), args, nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	return run, sm, fm, b
}

// The four verbs from the command line, in both flag orders; no password is ever printed.
func TestCustomersCLI(t *testing.T) {
	run, sm, fm, _ := customersCLI(t)
	steps := []struct {
		args []string
		code int
		out  []string
	}{
		{[]string{"add", "acme", "--group-prefix", "acme."}, exitOK, []string{"customer acme added: user acme, groups acme.*", "AmazonMSK_finfeed-dev_acme"}},
		{[]string{"add", "--group-prefix", "globex.", "globex"}, exitOK, []string{"customer globex added"}},
		{[]string{"rotate", "acme"}, exitOK, []string{"rotation open, new user acme-2", "AmazonMSK_finfeed-dev_acme-2"}},
		{[]string{"list"}, exitOK, []string{"acme      groups acme.*", "acme (associated", "acme-2 (associated", "rotation open", "globex"}},
		{[]string{"rotate", "acme", "--finish"}, exitOK, []string{"user acme retired"}},
		{[]string{"sync"}, exitOK, []string{"customers in sync: ACLs granted on enhanced, candles, 0 secret(s) re-associated"}},
		{[]string{"remove", "globex", "--reject-connection", "arn:aws:kafka:eu-west-3:444455556666:vpc-connection/111122223333/finfeed-dev/x"}, exitOK,
			[]string{"customer globex removed", "1 VPC connection(s) rejected"}},
		{[]string{"remove", "globex"}, exitFailure, nil},
	}
	for _, s := range steps {
		code, out, errOut := run(s.args...)
		if code != s.code {
			t.Fatalf("feed customers %q: exit %d, want %d\nstdout %s\nstderr %s", s.args, code, s.code, out, errOut)
		}
		for _, w := range s.out {
			if !strings.Contains(out, w) {
				t.Errorf("feed customers %q: output lacks %q:\n%s", s.args, w, out)
			}
		}
		for _, u := range []string{"acme", "acme-2", "globex"} {
			if _, pw, ok := sm.Value(u); ok && (strings.Contains(out, pw) || strings.Contains(errOut, pw)) {
				t.Errorf("feed customers %q printed %s's password", s.args, u)
			}
		}
	}
	if got := strings.Join(fm.Users(), ","); got != "acme-2" {
		t.Errorf("associated users: got %q, want acme-2", got)
	}
	if got := strings.Join(sm.Names(), ","); got != "AmazonMSK_finfeed-dev_acme-2" {
		t.Errorf("secrets: got %q, want acme-2's only", got)
	}
	if got := len(fm.Rejected()); got != 1 {
		t.Errorf("rejected connections: got %d, want 1", got)
	}
}

// Misuse is refused with every problem at once, before anything is touched.
func TestCustomersCLIUsage(t *testing.T) {
	run, sm, _, _ := customersCLI(t)
	t.Setenv("FINFEED_KMS_KEY", "")
	t.Setenv("FINFEED_CLUSTER_ARN", "")
	code, _, errOut := run("add", "acme", "--finish")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, errOut)
	}
	for _, w := range []string{"--finish: only with rotate", "--kms-key: required", "--cluster-arn"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	for _, args := range [][]string{{}, {"rename", "x"}, {"rotate"}, {"list", "acme"}, {"sync", "acme"}} {
		if code, _, _ := run(args...); code != exitUsage {
			t.Errorf("feed customers %q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if len(sm.Names()) != 0 {
		t.Errorf("secrets created by refused commands: %q", sm.Names())
	}
}
