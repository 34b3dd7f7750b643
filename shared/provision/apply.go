package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Admin is the part of a kadm.Client provisioning uses.
type Admin interface {
	ListTopics(ctx context.Context, topics ...string) (kadm.TopicDetails, error)
	CreateTopic(ctx context.Context, partitions int32, replicationFactor int16, configs map[string]*string, topic string) (kadm.CreateTopicResponse, error)
	UpdatePartitions(ctx context.Context, set int, topics ...string) (kadm.CreatePartitionsResponses, error)
	AlterTopicConfigs(ctx context.Context, configs []kadm.AlterConfig, topics ...string) (kadm.AlterConfigsResponses, error)
	DeleteTopics(ctx context.Context, topics ...string) (kadm.DeleteTopicResponses, error)
	CreateACLs(ctx context.Context, b *kadm.ACLBuilder) (kadm.CreateACLsResults, error)
	DeleteACLs(ctx context.Context, b *kadm.ACLBuilder) (kadm.DeleteACLsResults, error)
}

var _ Admin = (*kadm.Client)(nil)

// ErrConflict means the cluster holds something an update cannot change in place (fewer partitions, another
// replication factor); the update fails and CloudFormation rolls back.
var ErrConflict = errors.New("cannot change in place")

const configRetention = "retention.ms"

// Apply makes the cluster match s: creates missing topics, grows partitions, sets retention and creates the
// ACLs. Running it again changes nothing, so CloudFormation retries and updates are safe. It never deletes a
// topic or an ACL: revoking is Revoke's job.
func Apply(ctx context.Context, adm Admin, s Spec) error {
	names := make([]string, len(s.Topics))
	for i, t := range s.Topics {
		names[i] = t.Name
	}
	have, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var errs []error
	for _, t := range s.Topics {
		errs = append(errs, ensureTopic(ctx, adm, have, t))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return Grant(ctx, adm, s.ACLs())
}

func ensureTopic(ctx context.Context, adm Admin, have kadm.TopicDetails, t Topic) error {
	retention := strconv.FormatInt(t.RetentionMs, 10)
	d, exists := have[t.Name]
	if exists && errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		exists = false
	}
	if exists && d.Err != nil {
		return fmt.Errorf("describe topic %s: %w", t.Name, d.Err)
	}
	if !exists {
		_, err := adm.CreateTopic(ctx, t.Partitions, t.Replication, map[string]*string{configRetention: &retention}, t.Name)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t.Name, err)
		}
		if err == nil {
			return nil
		}
		// created concurrently: fall through to the checks on a fresh description
		fresh, err := adm.ListTopics(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("list topic %s: %w", t.Name, err)
		}
		d = fresh[t.Name]
	}
	if got := len(d.Partitions); got > int(t.Partitions) {
		return fmt.Errorf("topic %s has %d partitions, the stack asks for %d: Kafka cannot remove partitions: %w", t.Name, got, t.Partitions, ErrConflict)
	} else if got < int(t.Partitions) {
		res, err := adm.UpdatePartitions(ctx, int(t.Partitions), t.Name)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			return fmt.Errorf("grow topic %s to %d partitions: %w", t.Name, t.Partitions, err)
		}
	}
	if got := d.Partitions.NumReplicas(); got != 0 && got != int(t.Replication) {
		return fmt.Errorf("topic %s has replication factor %d, the stack asks for %d: reassign its partitions by hand: %w", t.Name, got, t.Replication, ErrConflict)
	}
	res, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: configRetention, Value: &retention}}, t.Name)
	if err == nil {
		err = alterError(res)
	}
	if err != nil {
		return fmt.Errorf("set %s of topic %s: %w", configRetention, t.Name, err)
	}
	return nil
}

func alterError(res kadm.AlterConfigsResponses) error {
	var errs []error
	for _, r := range res {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// Grant creates acls; Kafka treats an existing identical ACL as created, so this is idempotent.
func Grant(ctx context.Context, adm Admin, acls []ACL) error {
	var errs []error
	for _, a := range acls {
		res, err := adm.CreateACLs(ctx, builder(a))
		if err != nil {
			errs = append(errs, fmt.Errorf("create acl %s: %w", a, err))
			continue
		}
		for _, r := range res {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("create acl %s: %w", a, r.Err))
			}
		}
	}
	return errors.Join(errs...)
}

// Revoke deletes exactly the given ACLs (nothing matched by a wider filter). Deleting one that is already gone
// is not an error.
func Revoke(ctx context.Context, adm Admin, acls []ACL) error {
	var errs []error
	for _, a := range acls {
		res, err := adm.DeleteACLs(ctx, builder(a))
		if err != nil {
			errs = append(errs, fmt.Errorf("delete acl %s: %w", a, err))
			continue
		}
		for _, r := range res {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("delete acl %s: %w", a, r.Err))
			}
		}
	}
	return errors.Join(errs...)
}

// Teardown undoes Apply when the resource is deleted: it revokes the spec's ACLs and deletes the topics only
// when s.DeleteTopics is set. A topic that is already gone is fine.
func Teardown(ctx context.Context, adm Admin, s Spec) error {
	if err := Revoke(ctx, adm, s.ACLs()); err != nil {
		return err
	}
	if !s.DeleteTopics {
		return nil
	}
	names := make([]string, len(s.Topics))
	for i, t := range s.Topics {
		names[i] = t.Name
	}
	res, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	var errs []error
	for _, r := range res {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("delete topic %s: %w", r.Topic, r.Err))
		}
	}
	return errors.Join(errs...)
}

func builder(a ACL) *kadm.ACLBuilder {
	pattern := kadm.ACLPatternLiteral
	if a.Prefixed {
		pattern = kadm.ACLPatternPrefixed
	}
	b := kadm.NewACLs().Allow(a.Principal).AllowHosts("*").
		Operations(kadm.ACLOperation(a.Operation)).ResourcePatternType(pattern)
	switch a.Resource {
	case kmsg.ACLResourceTypeTopic:
		b = b.Topics(a.Name)
	default:
		b = b.Groups(a.Name)
	}
	return b
}

// String is how an ACL reads in errors and logs.
func (a ACL) String() string {
	kind := "group"
	if a.Resource == kmsg.ACLResourceTypeTopic {
		kind = "topic"
	}
	if a.Prefixed {
		return fmt.Sprintf("%s %s %s:%s*", a.Principal, a.Operation, kind, a.Name)
	}
	return fmt.Sprintf("%s %s %s:%s", a.Principal, a.Operation, kind, a.Name)
}
