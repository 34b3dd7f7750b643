package provision_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/provision"
)

func TestParseProperties(t *testing.T) {
	arn := "arn:aws:kafka:us-east-1:111122223333:cluster/finfeed/abc"
	tests := []struct {
		name      string
		props     map[string]any
		wantErrs  []string // substrings, all must appear
		check     func(t *testing.T, s provision.Spec, tg provision.Target)
		wantTopic provision.Topic // first topic, when set
	}{
		{
			name:  "defaults",
			props: map[string]any{"ServiceToken": "arn:x", "ClusterArn": arn},
			wantTopic: provision.Topic{Name: "raw", Partitions: provision.DefaultPartitions,
				Replication: provision.DefaultReplication, RetentionMs: provision.DefaultRetentionHours * 3600_000},
			check: func(t *testing.T, s provision.Spec, tg provision.Target) {
				if got, want := tg.ID(), "finfeed-kafka:"+arn; got != want {
					t.Errorf("ID() = %q, want %q", got, want)
				}
				if len(s.ACLs()) != 0 {
					t.Errorf("ACLs() = %v, want none without customers or service users", s.ACLs())
				}
			},
		},
		{
			name: "cloudformation strings",
			props: map[string]any{"BootstrapServers": "127.0.0.1:1, 127.0.0.1:2", "Partitions": "12", "ReplicationFactor": "2",
				"RetentionHours": "24", "DlqRetentionHours": "48", "Customers": []any{"globex", "acme", "acme"},
				"DeleteTopicsOnDelete": "true", "EnrichUser": "svc-enrich"},
			wantTopic: provision.Topic{Name: "raw", Partitions: 12, Replication: 2, RetentionMs: 24 * 3600_000},
			check: func(t *testing.T, s provision.Spec, tg provision.Target) {
				if got, want := tg.Brokers, []string{"127.0.0.1:1", "127.0.0.1:2"}; !slices.Equal(got, want) {
					t.Errorf("Brokers = %v, want %v", got, want)
				}
				if got, want := s.Customers, []string{"acme", "globex"}; !slices.Equal(got, want) {
					t.Errorf("Customers = %v, want %v", got, want)
				}
				if got, want := s.Topics[2].RetentionMs, int64(48*3600_000); got != want {
					t.Errorf("dlq retention = %d, want %d", got, want)
				}
				if !s.DeleteTopics {
					t.Error("DeleteTopics = false, want true")
				}
			},
		},
		{
			name: "every problem at once",
			props: map[string]any{"Partitions": "zero", "ReplicationFactor": "0", "Customers": "ok,bad user",
				"RawTopic": "enhanced", "DeleteTopicsOnDelete": "maybe"},
			wantErrs: []string{"ClusterArn or BootstrapServers", "Partitions", "ReplicationFactor", `"bad user"`,
				"topic names must differ", "DeleteTopicsOnDelete"},
		},
		{
			name:     "a misspelt property is not silently a default",
			props:    map[string]any{"ClusterArn": "arn:aws:kafka:us-east-1:111122223333:cluster/finfeed/abc", "Partition": "12"},
			wantErrs: []string{`unknown property "Partition"`},
		},
		{
			name:     "both targets",
			props:    map[string]any{"ClusterArn": arn, "BootstrapServers": "127.0.0.1:1"},
			wantErrs: []string{"set one, not both"},
		},
		{
			name:     "not an arn",
			props:    map[string]any{"ClusterArn": "finfeed"},
			wantErrs: []string{"not an ARN"},
		},
		{
			name:     "customer shadows a service",
			props:    map[string]any{"ClusterArn": arn, "IndexUser": "acme", "Customers": "acme"},
			wantErrs: []string{`customer "acme": is the index function's user`},
		},
		{
			name:     "customer named as the index function's consumer group",
			props:    map[string]any{"ClusterArn": arn, "Customers": "finfeed-index"},
			wantErrs: []string{`customer "finfeed-index": is the index function's consumer group`},
		},
		{
			name:     "customer named as a moved enrich group",
			props:    map[string]any{"ClusterArn": arn, "EnrichGroup": "enricher", "Customers": "acme,enricher"},
			wantErrs: []string{`customer "enricher": is the enrich function's consumer group`},
		},
		{
			name:     "customer in the provider's reserved prefix",
			props:    map[string]any{"ClusterArn": arn, "Customers": "Finfeed-Audit"},
			wantErrs: []string{`customer "Finfeed-Audit": names starting with "finfeed-" are the provider's own`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, tg, err := provision.ParseProperties(tt.props)
			if len(tt.wantErrs) > 0 {
				if err == nil {
					t.Fatalf("err = nil, want errors mentioning %q", tt.wantErrs)
				}
				for _, w := range tt.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want it to mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if got := s.Topics[0]; got != tt.wantTopic {
				t.Errorf("Topics[0] = %+v, want %+v", got, tt.wantTopic)
			}
			if tt.check != nil {
				tt.check(t, s, tg)
			}
		})
	}
}

func TestSpecACLs(t *testing.T) {
	s := provision.Spec{
		CustomerTopic: "enhanced",
		CandlesTopic:  "candles",
		Customers:     []string{"acme"},
		Services: []provision.Service{
			{User: "svc-enrich", Consume: []string{"raw"}, Group: "finfeed-enrich", Produce: []string{"enhanced", "raw.dlq"}},
			{User: "svc-ingester", Produce: []string{"raw"}},
		},
	}
	topic, group := kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup
	read, write := kmsg.ACLOperationRead, kmsg.ACLOperationWrite
	want := []provision.ACL{
		{Principal: "User:acme", Resource: topic, Name: "candles", Operation: read},
		{Principal: "User:acme", Resource: topic, Name: "candles", Operation: kmsg.ACLOperationDescribe},
		{Principal: "User:acme", Resource: topic, Name: "enhanced", Operation: read},
		{Principal: "User:acme", Resource: topic, Name: "enhanced", Operation: kmsg.ACLOperationDescribe},
		{Principal: "User:acme", Resource: group, Name: "acme", Operation: read},
		{Principal: "User:svc-enrich", Resource: topic, Name: "enhanced", Operation: write},
		{Principal: "User:svc-enrich", Resource: topic, Name: "raw", Operation: read},
		{Principal: "User:svc-enrich", Resource: topic, Name: "raw.dlq", Operation: write},
		{Principal: "User:svc-enrich", Resource: group, Name: "finfeed-enrich", Operation: read},
		{Principal: "User:svc-ingester", Resource: topic, Name: "raw", Operation: write},
	}
	if got := s.ACLs(); !slices.Equal(got, want) {
		t.Errorf("ACLs() =\n%v\nwant\n%v", got, want)
	}
	if got := provision.Without(want, want[1:]); !slices.Equal(got, want[:1]) {
		t.Errorf("Without = %v, want %v", got, want[:1])
	}
}
