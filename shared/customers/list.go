package customers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// List returns every customer whose secret follows the cluster's naming (AmazonMSK_<prefix>_<user>), sorted by
// name: those this manager made (tagged) and those of the template's slots (Template set).
func (m *Manager) List(ctx context.Context) ([]Customer, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	associated, err := m.associated(ctx)
	if err != nil {
		return nil, err
	}
	prefix := m.secretName("")
	byName := map[string]*Customer{}
	var token *string
	for {
		out, err := m.Secrets.ListSecrets(ctx, &secretsmanager.ListSecretsInput{
			NextToken: token,
			Filters:   []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
		})
		if err != nil {
			return nil, fmt.Errorf("list secrets %s*: %w", prefix, err)
		}
		for _, s := range out.SecretList {
			name := aws.ToString(s.Name)
			// the filter matches by prefix word by word; keep exactly ours, and none scheduled for deletion
			if !strings.HasPrefix(name, prefix) || s.DeletedDate != nil {
				continue
			}
			u := User{Name: strings.TrimPrefix(name, prefix), SecretArn: aws.ToString(s.ARN), SecretName: name,
				Created: aws.ToTime(s.CreatedDate), Associated: associated[aws.ToString(s.ARN)]}
			tags := map[string]string{}
			for _, t := range s.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			cust, managed := tags[TagCustomer]
			if !managed {
				cust = u.Name
			}
			if at, err := time.Parse(time.RFC3339Nano, tags[TagCreated]); err == nil {
				u.Created = at
			}
			c := byName[cust]
			if c == nil {
				c = &Customer{Name: cust, GroupPrefix: tags[TagGroupPrefix], Template: !managed}
				byName[cust] = c
			}
			c.Template = c.Template || !managed
			c.Users = append(c.Users, u)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	out := make([]Customer, 0, len(byName))
	for _, c := range byName {
		slices.SortFunc(c.Users, func(a, b User) int {
			if d := a.Created.Compare(b.Created); d != 0 {
				return d
			}
			return strings.Compare(a.Name, b.Name)
		})
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Customer) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get returns one customer of List, or ErrNotFound.
func (m *Manager) Get(ctx context.Context, name string) (Customer, error) {
	all, err := m.List(ctx)
	if err != nil {
		return Customer{}, err
	}
	for _, c := range all {
		if c.Name == name {
			return c, nil
		}
	}
	return Customer{}, fmt.Errorf("customer %q: %w", name, ErrNotFound)
}

// associated is the set of secret ARNs associated with the cluster.
func (m *Manager) associated(ctx context.Context) (map[string]bool, error) {
	set := map[string]bool{}
	var token *string
	for {
		out, err := m.MSK.ListScramSecrets(ctx, &msk.ListScramSecretsInput{ClusterArn: aws.String(m.ClusterArn), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list scram secrets of %s: %w", m.ClusterArn, err)
		}
		for _, a := range out.SecretArnList {
			set[a] = true
		}
		if token = out.NextToken; token == nil {
			return set, nil
		}
	}
}
