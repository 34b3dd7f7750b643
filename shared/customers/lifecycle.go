package customers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	msktypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/provision"
)

// Add creates a customer: a secret AmazonMSK_<prefix>_<name> under the KMS key with a generated password, its
// ACLs (read and describe the topics, the group named as the customer or, with groupPrefix, every group starting
// with it) and the secret's association with the cluster. The password is never returned or printed: the
// provider hands the secret's value over from Secrets Manager. Whatever Add created is undone when a later step
// fails.
func (m *Manager) Add(ctx context.Context, name, groupPrefix string) (Customer, error) {
	if err := m.Validate(); err != nil {
		return Customer{}, err
	}
	if err := errors.Join(provision.ValidateCustomerName(name), provision.ValidateGroupPrefix(name, groupPrefix)); err != nil {
		return Customer{}, err
	}
	all, err := m.List(ctx)
	if err != nil {
		return Customer{}, err
	}
	if err := m.free(ctx, all, name, groupPrefix); err != nil {
		return Customer{}, err
	}
	c := Customer{Name: name, GroupPrefix: groupPrefix}
	u, err := m.addUser(ctx, c, name)
	if err != nil {
		return Customer{}, err
	}
	c.Users = []User{u}
	return c, nil
}

// Rotate opens a password rotation: the customer's second user (acme-2 beside acme, or acme beside acme-2) gets
// a new secret with a new password, the same rights and groups, and is associated. Both users log in until
// FinishRotation, so the customer moves its consumers at its own pace. MSK has no overlap of its own: it reads
// only a secret's AWSCURRENT version, and a new version of the same secret locks the old password out within
// minutes.
func (m *Manager) Rotate(ctx context.Context, name string) (User, error) {
	c, err := m.managed(ctx, name)
	if err != nil {
		return User{}, err
	}
	if len(c.Users) != 1 {
		return User{}, fmt.Errorf("customer %q: %w since %s (finish it first)", name, ErrRotationOpen, c.Users[len(c.Users)-1].Created.Format(time.RFC3339))
	}
	next := name + SecondSuffix
	if c.Users[0].Name == next {
		next = name
	}
	return m.addUser(ctx, c, next)
}

// FinishRotation retires the older of the customer's two users: its ACLs are revoked first (its open
// connections can no longer read), then its secret is disassociated (no new logins) and deleted.
func (m *Manager) FinishRotation(ctx context.Context, name string) (User, error) {
	c, err := m.managed(ctx, name)
	if err != nil {
		return User{}, err
	}
	if len(c.Users) != 2 {
		return User{}, fmt.Errorf("customer %q: %w", name, ErrNoRotation)
	}
	old := c.Users[0]
	if err := m.retire(ctx, c, []User{old}); err != nil {
		return User{}, err
	}
	return old, nil
}

// Remove offboards a customer in the order that cuts access soonest: ACLs revoked (an open connection's next
// fetch is refused), secrets disassociated (no new login once MSK has synced, up to about 10 minutes), the
// named client VPC connections rejected (RejectClientVpcConnection: the customer's PrivateLink endpoint stops
// carrying traffic), then the secrets deleted without a recovery window (the name can be added again at once).
// Remove can be run again after a failure: each step skips what is already done.
func (m *Manager) Remove(ctx context.Context, name string, rejectConnections []string) error {
	c, err := m.managed(ctx, name)
	if err != nil {
		return err
	}
	if err := m.retire(ctx, c, c.Users); err != nil {
		return err
	}
	var errs []error
	for _, arn := range rejectConnections {
		if _, err := m.MSK.RejectClientVpcConnection(ctx, &msk.RejectClientVpcConnectionInput{
			ClusterArn: aws.String(m.ClusterArn), VpcConnectionArn: aws.String(arn)}); err != nil {
			errs = append(errs, fmt.Errorf("reject client vpc connection %s: %w", arn, err))
		}
	}
	return errors.Join(errs...)
}

// managed is Get for a customer the manager may change.
func (m *Manager) managed(ctx context.Context, name string) (Customer, error) {
	if err := m.Validate(); err != nil {
		return Customer{}, err
	}
	c, err := m.Get(ctx, name)
	if err != nil {
		return Customer{}, err
	}
	if c.Template {
		return Customer{}, fmt.Errorf("customer %q: %w (clear its CustomerUserN parameter and deploy)", name, ErrTemplate)
	}
	return c, nil
}

// addUser creates user's secret for customer c, grants its ACLs and associates the secret; on failure it undoes
// what it did.
func (m *Manager) addUser(ctx context.Context, c Customer, user string) (User, error) {
	if m.KMSKeyID == "" {
		return User{}, errors.New("kms key: required to create a secret (MSK refuses secrets under the default aws/secretsmanager key)")
	}
	pw, err := m.password()
	if err != nil {
		return User{}, err
	}
	value, err := json.Marshal(map[string]string{"username": user, "password": pw})
	if err != nil {
		return User{}, fmt.Errorf("secret value of %s: %w", user, err)
	}
	created := m.now().UTC()
	u := User{Name: user, SecretName: m.secretName(user), Created: created}
	in := &secretsmanager.CreateSecretInput{
		Name:         aws.String(u.SecretName),
		Description:  aws.String(fmt.Sprintf("finfeed customer %s, SCRAM user %s (read-only on %s)", c.Name, user, strings.Join(m.Topics, ", "))),
		KmsKeyId:     optional(m.KMSKeyID),
		SecretString: aws.String(string(value)),
		Tags: []smtypes.Tag{
			{Key: aws.String(TagCustomer), Value: aws.String(c.Name)},
			{Key: aws.String(TagGroupPrefix), Value: aws.String(c.GroupPrefix)},
			{Key: aws.String(TagCreated), Value: aws.String(created.Format(time.RFC3339Nano))},
		},
	}
	out, err := m.Secrets.CreateSecret(ctx, in)
	if err != nil {
		return User{}, fmt.Errorf("create secret %s: %w", u.SecretName, err)
	}
	u.SecretArn = aws.ToString(out.ARN)
	acls := provision.Customer{Name: c.Name, Users: []string{user}, GroupPrefix: c.GroupPrefix}.ACLs(m.Topics)
	err = provision.Grant(ctx, m.Admin, acls)
	if err == nil {
		err = m.associate(ctx, u.SecretArn)
	}
	if err != nil {
		undo := errors.Join(provision.Revoke(ctx, m.Admin, acls), m.deleteSecret(ctx, u))
		if undo != nil {
			return User{}, fmt.Errorf("add user %s: %w (and undoing it: %w)", user, err, undo)
		}
		return User{}, fmt.Errorf("add user %s: %w", user, err)
	}
	u.Associated = true
	return u, nil
}

// retire revokes the users' ACLs, disassociates their secrets and deletes them, in that order; it stops at the
// first step that fails so that the register (the secrets) still says who is left.
func (m *Manager) retire(ctx context.Context, c Customer, users []User) error {
	var acls []provision.ACL
	var arns []string
	for _, u := range users {
		acls = append(acls, provision.Customer{Name: c.Name, Users: []string{u.Name}, GroupPrefix: c.GroupPrefix}.ACLs(m.Topics)...)
		if u.Associated {
			arns = append(arns, u.SecretArn)
		}
	}
	if err := provision.Revoke(ctx, m.Admin, acls); err != nil {
		return fmt.Errorf("customer %q: %w", c.Name, err)
	}
	if len(arns) > 0 {
		out, err := m.MSK.BatchDisassociateScramSecret(ctx, &msk.BatchDisassociateScramSecretInput{
			ClusterArn: aws.String(m.ClusterArn), SecretArnList: arns})
		if err != nil {
			return fmt.Errorf("customer %q: disassociate scram secrets: %w", c.Name, err)
		}
		if err := unprocessed(out.UnprocessedScramSecrets); err != nil {
			return fmt.Errorf("customer %q: disassociate scram secrets: %w", c.Name, err)
		}
	}
	var errs []error
	for _, u := range users {
		errs = append(errs, m.deleteSecret(ctx, u))
	}
	return errors.Join(errs...)
}

func (m *Manager) associate(ctx context.Context, arn string) error {
	out, err := m.MSK.BatchAssociateScramSecret(ctx, &msk.BatchAssociateScramSecretInput{
		ClusterArn: aws.String(m.ClusterArn), SecretArnList: []string{arn}})
	if err != nil {
		return fmt.Errorf("associate scram secret %s: %w", arn, err)
	}
	if err := unprocessed(out.UnprocessedScramSecrets); err != nil {
		return fmt.Errorf("associate scram secret %s: %w", arn, err)
	}
	return nil
}

func (m *Manager) deleteSecret(ctx context.Context, u User) error {
	id := u.SecretArn
	if id == "" {
		id = u.SecretName
	}
	_, err := m.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
	var gone *smtypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("delete secret %s: %w", u.SecretName, err)
	}
	return nil
}

func unprocessed(list []msktypes.UnprocessedScramSecret) error {
	var errs []error
	for _, u := range list {
		errs = append(errs, fmt.Errorf("%w: %s: %s: %s", ErrNotAssociated, aws.ToString(u.SecretArn), aws.ToString(u.ErrorCode), aws.ToString(u.ErrorMessage)))
	}
	return errors.Join(errs...)
}

// free refuses a customer whose users or groups someone already has: another customer in the register (or the
// second user of one), or any principal holding ACLs on the cluster (the template's customers, the services).
func (m *Manager) free(ctx context.Context, all []Customer, name, groupPrefix string) error {
	users := []string{name, name + SecondSuffix}
	for _, c := range all {
		if c.Name == name {
			return fmt.Errorf("customer %q: %w", name, ErrExists)
		}
		theirs := []string{c.Name, c.Name + SecondSuffix}
		for _, u := range c.Users {
			theirs = append(theirs, u.Name)
		}
		for _, u := range users {
			if slices.Contains(theirs, u) {
				return fmt.Errorf("customer %q: user %s is customer %s's: %w", name, u, c.Name, ErrTaken)
			}
		}
		if overlaps(groupClaim{c.Name, false}.orPrefix(c.GroupPrefix), groupClaim{name, false}.orPrefix(groupPrefix)) {
			return fmt.Errorf("customer %q: its groups overlap customer %s's: %w", name, c.Name, ErrTaken)
		}
	}
	res, err := m.Admin.DescribeACLs(ctx, kadm.NewACLs().AnyResource().Allow().AllowHosts().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err == nil {
		err = describeError(res)
	}
	if err != nil {
		return fmt.Errorf("customer %q: describe acls: %w", name, err)
	}
	mine := groupClaim{name, false}.orPrefix(groupPrefix)
	for _, r := range res {
		for _, d := range r.Described {
			if slices.Contains(users, strings.TrimPrefix(d.Principal, "User:")) {
				return fmt.Errorf("customer %q: principal %s already has acls: %w", name, d.Principal, ErrTaken)
			}
			if d.Type == kmsg.ACLResourceTypeGroup && overlaps(mine, groupClaim{d.Name, d.Pattern == kadm.ACLPatternPrefixed}) {
				return fmt.Errorf("customer %q: group %s already belongs to %s: %w", name, d.Name, d.Principal, ErrTaken)
			}
		}
	}
	return nil
}

func describeError(res kadm.DescribeACLsResults) error {
	var errs []error
	for _, r := range res {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// groupClaim is a group ACL's reach: one name, or every name with a prefix.
type groupClaim struct {
	name   string
	prefix bool
}

func (g groupClaim) orPrefix(p string) groupClaim {
	if p != "" {
		return groupClaim{p, true}
	}
	return g
}

func overlaps(a, b groupClaim) bool {
	switch {
	case a.prefix && b.prefix:
		return strings.HasPrefix(a.name, b.name) || strings.HasPrefix(b.name, a.name)
	case a.prefix:
		return strings.HasPrefix(b.name, a.name)
	case b.prefix:
		return strings.HasPrefix(a.name, b.name)
	default:
		return a.name == b.name
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
