// Package provision creates finfeed's Kafka topics and ACLs and answers the CloudFormation custom-resource
// requests that ask for them (MSK has no CloudFormation resources for either).
package provision

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/topics"
)

// Topic is one topic as the stack wants it.
type Topic struct {
	Name        string
	Partitions  int32
	Replication int16
	RetentionMs int64
}

// Service is a SCRAM principal of one of our own services and what it touches. Services that log in with MSK
// IAM need no ACLs (IAM policies govern them) and are left out.
type Service struct {
	User    string
	Consume []string // topics it reads
	Group   string   // consumer group it reads them with
	Produce []string // topics it writes
}

// Spec is everything the custom resource manages on one cluster.
type Spec struct {
	Topics   []Topic
	Services []Service
	// Customers are SCRAM user names; each may read CustomerTopic and CandlesTopic (CustomerTopics) with the
	// consumer group of its own name.
	Customers     []string
	CustomerTopic string
	CandlesTopic  string
	// DeleteTopics removes the topics when the resource is deleted; off by default so a deleted stack never
	// takes the data with it.
	DeleteTopics bool
}

// Settings are what a Spec is made of: names, sizes and principals. The custom resource reads them from its
// properties (ParseProperties) and the embedded broker of `feed local` fills them in itself; both turn them into
// topics and ACLs with Spec, so a principal has the same rights locally as on MSK.
type Settings struct {
	RawTopic, EnhancedTopic, RawDLQTopic, EnhancedDLQTopic, CandlesTopic string
	// EnrichGroup and IndexGroup are the consumer groups the enrich and index functions read with;
	// IndexCandlesGroup the index function's group on CandlesTopic (its second event source).
	EnrichGroup, IndexGroup, IndexCandlesGroup string
	Partitions                                 int32
	Replication                                int16
	RetentionHours                             int64 // of raw and enhanced
	DLQRetentionHours                          int64 // of the dead-letter topics
	// IngesterUser, EnrichUser and IndexUser are the SCRAM users of the services; empty leaves a service out
	// (it logs in with IAM). One user may run several services.
	IngesterUser, EnrichUser, IndexUser string
	// Customers are SCRAM user names that may read EnhancedTopic and CandlesTopic.
	Customers    []string
	DeleteTopics bool
}

// DefaultSettings are the settings of a stack that sets nothing: the names of package topics, the Default sizes
// and no principals.
func DefaultSettings() Settings {
	return Settings{
		RawTopic:          topics.Raw,
		EnhancedTopic:     topics.Enhanced,
		RawDLQTopic:       topics.RawDLQ,
		EnhancedDLQTopic:  topics.EnhancedDLQ,
		CandlesTopic:      topics.Candles,
		EnrichGroup:       topics.EnrichGroup,
		IndexGroup:        topics.IndexGroup,
		IndexCandlesGroup: topics.IndexCandlesGroup,
		Partitions:        DefaultPartitions,
		Replication:       DefaultReplication,
		RetentionHours:    DefaultRetentionHours,
		DLQRetentionHours: DefaultDLQRetentionHours,
	}
}

// Spec is the topics and principals the settings ask for: the ingester writes raw; the enrich function reads
// raw with its group and writes enhanced, candles and raw.dlq; the index function reads enhanced and candles, each
// with its group, and writes enhanced.dlq; each customer reads and describes enhanced and candles with the group of its own name. Nobody is granted the
// dead-letter topics' contents: operators read them with IAM.
func (st Settings) Spec() Spec {
	topic := func(name string, hours int64) Topic {
		return Topic{Name: name, Partitions: st.Partitions, Replication: st.Replication, RetentionMs: hours * 3600 * 1000}
	}
	s := Spec{
		Topics: []Topic{
			topic(st.RawTopic, st.RetentionHours), topic(st.EnhancedTopic, st.RetentionHours),
			topic(st.RawDLQTopic, st.DLQRetentionHours), topic(st.EnhancedDLQTopic, st.DLQRetentionHours),
			topic(st.CandlesTopic, st.RetentionHours),
		},
		CustomerTopic: st.EnhancedTopic,
		CandlesTopic:  st.CandlesTopic,
		DeleteTopics:  st.DeleteTopics,
	}
	if st.IngesterUser != "" {
		s.Services = append(s.Services, Service{User: st.IngesterUser, Produce: []string{st.RawTopic}})
	}
	if st.EnrichUser != "" {
		s.Services = append(s.Services, Service{User: st.EnrichUser, Consume: []string{st.RawTopic}, Group: st.EnrichGroup,
			Produce: []string{st.EnhancedTopic, st.CandlesTopic, st.RawDLQTopic}})
	}
	if st.IndexUser != "" {
		s.Services = append(s.Services, Service{User: st.IndexUser, Consume: []string{st.EnhancedTopic}, Group: st.IndexGroup,
			Produce: []string{st.EnhancedDLQTopic}},
			Service{User: st.IndexUser, Consume: []string{st.CandlesTopic}, Group: st.IndexCandlesGroup})
	}
	s.Customers = slices.Compact(slices.Sorted(slices.Values(st.Customers)))
	return s
}

// ACL is one allow rule on a resource, literal unless Prefixed (only a customer's group prefix is; nothing is
// granted by wildcard).
type ACL struct {
	Principal string // "User:<name>"
	Resource  kmsg.ACLResourceType
	Name      string
	Operation kmsg.ACLOperation
	// Prefixed makes Name a prefix (PREFIXED pattern) rather than a literal name.
	Prefixed bool
}

// ACLs lists the allow rules the spec needs, sorted and without duplicates. Read on a topic implies Describe
// and Write implies Describe and IdempotentWrite in Kafka 3, so no cluster-wide grant is needed.
func (s Spec) ACLs() []ACL {
	var out []ACL
	topic := func(user, name string, op kmsg.ACLOperation) {
		out = append(out, ACL{Principal: "User:" + user, Resource: kmsg.ACLResourceTypeTopic, Name: name, Operation: op})
	}
	group := func(user, name string) {
		out = append(out, ACL{Principal: "User:" + user, Resource: kmsg.ACLResourceTypeGroup, Name: name, Operation: kmsg.ACLOperationRead})
	}
	for _, sv := range s.Services {
		for _, t := range sv.Produce {
			topic(sv.User, t, kmsg.ACLOperationWrite)
		}
		for _, t := range sv.Consume {
			topic(sv.User, t, kmsg.ACLOperationRead)
		}
		if len(sv.Consume) > 0 && sv.Group != "" {
			group(sv.User, sv.Group)
		}
	}
	for _, c := range s.Customers {
		out = append(out, Customer{Name: c}.ACLs(s.CustomerTopics())...)
	}
	slices.SortFunc(out, compareACL)
	return slices.Compact(out)
}

func compareACL(a, b ACL) int {
	return cmp.Or(
		cmp.Compare(a.Principal, b.Principal),
		cmp.Compare(a.Resource, b.Resource),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Operation, b.Operation),
		compareBool(a.Prefixed, b.Prefixed),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// Without returns the ACLs in have that are not in want: what an update must revoke.
func Without(have, want []ACL) []ACL {
	var out []ACL
	for _, a := range have {
		if !slices.Contains(want, a) {
			out = append(out, a)
		}
	}
	return out
}

// ReservedPrefix starts the names of the provider's own users and consumer groups; no customer may use it.
const ReservedPrefix = "finfeed-"

// Validate refuses customers whose name would give them the service's rights: a customer may use the consumer
// group named as its user, so a customer named like a service's group (finfeed-index) could commit offsets that
// make that service skip records, and one named like a service user would share its ACLs.
func (st Settings) Validate() error {
	var errs []error
	reserved := map[string]string{st.EnrichGroup: "the enrich function's consumer group", st.IndexGroup: "the index function's consumer group",
		st.IndexCandlesGroup: "the index function's consumer group on candles",
		st.IngesterUser:      "the ingester's user", st.EnrichUser: "the enrich function's user", st.IndexUser: "the index function's user"}
	for _, c := range st.Customers {
		if what, ok := reserved[c]; ok && c != "" {
			errs = append(errs, fmt.Errorf("customer %q: is %s", c, what))
			continue
		}
		if strings.HasPrefix(strings.ToLower(c), ReservedPrefix) {
			errs = append(errs, fmt.Errorf("customer %q: names starting with %q are the provider's own users and groups", c, ReservedPrefix))
		}
	}
	return errors.Join(errs...)
}
