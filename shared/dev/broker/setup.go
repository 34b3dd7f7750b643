package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// setup creates missing topics (a restored DataDir skips kfake's seeding) and replaces every ACL with the ones
// this configuration grants, as MSK with allow.everyone.if.no.acl.found=false: nothing is allowed unless listed.
func (b *Broker) setup(ctx context.Context, admin Credentials) error {
	cl, err := b.adminClient(admin)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := b.ensureTopics(ctx, cl); err != nil {
		return err
	}
	if b.cfg.NoAuth {
		return nil
	}
	return b.replaceACLs(ctx, cl)
}

type requester interface {
	Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
}

func (b *Broker) ensureTopics(ctx context.Context, cl requester) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, t := range Topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = t
		rt.NumPartitions = b.cfg.Partitions
		rt.ReplicationFactor = -1
		req.Topics = append(req.Topics, rt)
	}
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("broker setup: create topics: %w", err)
	}
	var errs []error
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("broker setup: create topic %s: %w", t.Topic, err))
		}
	}
	return errors.Join(errs...)
}

// grant is one ALLOW ACL.
type grant struct {
	user     string
	resource kmsg.ACLResourceType
	name     string
	op       kmsg.ACLOperation
}

// grants are the ACLs of the service and customer principals.
func (b *Broker) grants() []grant {
	svc := b.cfg.Service.User
	g := []grant{
		{svc, kmsg.ACLResourceTypeCluster, "kafka-cluster", kmsg.ACLOperationIdempotentWrite},
		{svc, kmsg.ACLResourceTypeGroup, "*", kmsg.ACLOperationRead},
	}
	for _, t := range Topics {
		g = append(g,
			grant{svc, kmsg.ACLResourceTypeTopic, t, kmsg.ACLOperationRead},
			grant{svc, kmsg.ACLResourceTypeTopic, t, kmsg.ACLOperationWrite},
			grant{svc, kmsg.ACLResourceTypeTopic, t, kmsg.ACLOperationDescribe})
	}
	if cu := b.cfg.Customer.User; cu != "" {
		g = append(g,
			grant{cu, kmsg.ACLResourceTypeTopic, TopicEnhanced, kmsg.ACLOperationRead},
			grant{cu, kmsg.ACLResourceTypeTopic, TopicEnhanced, kmsg.ACLOperationDescribe},
			// its own consumer group only, named as the user (as provisioned on MSK): a wildcard would let it
			// join or commit in the pipeline's groups
			grant{cu, kmsg.ACLResourceTypeGroup, cu, kmsg.ACLOperationRead})
	}
	return g
}

func (b *Broker) replaceACLs(ctx context.Context, cl requester) error {
	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType = kmsg.ACLResourceTypeAny
	f.ResourcePatternType = kmsg.ACLResourcePatternTypeAny
	f.Operation = kmsg.ACLOperationAny
	f.PermissionType = kmsg.ACLPermissionTypeAny
	del.Filters = append(del.Filters, f)
	dresp, err := del.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("broker setup: delete acls: %w", err)
	}
	for _, r := range dresp.Results {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("broker setup: delete acls: %w", err)
		}
	}
	create := kmsg.NewPtrCreateACLsRequest()
	for _, g := range b.grants() {
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType = g.resource
		c.ResourceName = g.name
		c.ResourcePatternType = kmsg.ACLResourcePatternTypeLiteral
		c.Principal = "User:" + g.user
		c.Host = "*"
		c.Operation = g.op
		c.PermissionType = kmsg.ACLPermissionTypeAllow
		create.Creations = append(create.Creations, c)
	}
	cresp, err := create.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("broker setup: create acls: %w", err)
	}
	var errs []error
	for _, r := range cresp.Results {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("broker setup: create acl: %w", err))
		}
	}
	return errors.Join(errs...)
}
