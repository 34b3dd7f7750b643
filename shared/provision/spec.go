// Package provision creates finfeed's Kafka topics and ACLs and answers the CloudFormation custom-resource
// requests that ask for them (MSK has no CloudFormation resources for either).
package provision

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
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
	// Customers are SCRAM user names; each may read CustomerTopic with the consumer group of its own name.
	Customers     []string
	CustomerTopic string
	// DeleteTopics removes the topics when the resource is deleted; off by default so a deleted stack never
	// takes the data with it.
	DeleteTopics bool
}

// ACL is one allow rule on a literal resource (we grant nothing by prefix or wildcard).
type ACL struct {
	Principal string // "User:<name>"
	Resource  kmsg.ACLResourceType
	Name      string
	Operation kmsg.ACLOperation
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
		topic(c, s.CustomerTopic, kmsg.ACLOperationRead)
		group(c, c)
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
	)
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
