package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/provision"
)

// Settings are the provisioning settings of a broker run with cfg: the defaults MSK gets, with cfg's partitions,
// one replica (there is one broker), the service user as the ingester's, the enrich and the index function's
// user, and the customer, if any. With NoAuth there are no principals and so no ACLs.
func (c Config) Settings() provision.Settings {
	s := provision.DefaultSettings()
	s.Partitions = c.Partitions
	s.Replication = 1
	if c.NoAuth {
		return s
	}
	s.IngesterUser, s.EnrichUser, s.IndexUser = c.Service.User, c.Service.User, c.Service.User
	if c.Customer.User != "" {
		s.Customers = []string{c.Customer.User}
	}
	return s
}

// Spec is what the broker provisions at start, with provision.Apply as the custom resource does on MSK.
func (b *Broker) Spec() provision.Spec { return b.cfg.Settings().Spec() }

// setup removes every ACL (a restored DataDir keeps an earlier run's), then creates the topics and ACLs of
// Spec with provision.Apply. As on MSK (allow.everyone.if.no.acl.found=false) nothing else is allowed.
func (b *Broker) setup(ctx context.Context) error {
	cl, err := b.adminClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	if !b.cfg.NoAuth {
		if err := dropACLs(ctx, cl); err != nil {
			return err
		}
	}
	if err := provision.Apply(ctx, kadm.NewClient(cl), b.Spec()); err != nil {
		return fmt.Errorf("broker setup: %w", err)
	}
	return nil
}

func dropACLs(ctx context.Context, cl *kgo.Client) error {
	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType = kmsg.ACLResourceTypeAny
	f.ResourcePatternType = kmsg.ACLResourcePatternTypeAny
	f.Operation = kmsg.ACLOperationAny
	f.PermissionType = kmsg.ACLPermissionTypeAny
	del.Filters = append(del.Filters, f)
	resp, err := del.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("broker setup: delete acls: %w", err)
	}
	for _, r := range resp.Results {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("broker setup: delete acls: %w", err)
		}
	}
	return nil
}
