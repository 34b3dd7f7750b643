// Package customers manages the provider's customers on MSK: each one's SCRAM secret in Secrets Manager, its
// association with the cluster and its read-only ACLs (granted by package provision, as the template's
// customers are), with password rotation through a second user and removal that cuts access.
package customers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/finfeed/finfeed/shared/provision"
)

// SecretsAPI is the part of the Secrets Manager client the manager uses.
type SecretsAPI interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// MSKAPI is the part of the MSK client the manager uses.
type MSKAPI interface {
	BatchAssociateScramSecret(ctx context.Context, in *msk.BatchAssociateScramSecretInput, opts ...func(*msk.Options)) (*msk.BatchAssociateScramSecretOutput, error)
	BatchDisassociateScramSecret(ctx context.Context, in *msk.BatchDisassociateScramSecretInput, opts ...func(*msk.Options)) (*msk.BatchDisassociateScramSecretOutput, error)
	ListScramSecrets(ctx context.Context, in *msk.ListScramSecretsInput, opts ...func(*msk.Options)) (*msk.ListScramSecretsOutput, error)
	RejectClientVpcConnection(ctx context.Context, in *msk.RejectClientVpcConnectionInput, opts ...func(*msk.Options)) (*msk.RejectClientVpcConnectionOutput, error)
}

// Admin is the part of a kadm.Client the manager uses: provision's ACL calls and a look at existing ACLs.
type Admin interface {
	provision.Admin
	DescribeACLs(ctx context.Context, b *kadm.ACLBuilder) (kadm.DescribeACLsResults, error)
}

var (
	_ SecretsAPI = (*secretsmanager.Client)(nil)
	_ MSKAPI     = (*msk.Client)(nil)
	_ Admin      = (*kadm.Client)(nil)
)

// Errors callers tell apart with errors.Is.
var (
	ErrExists        = errors.New("customer already exists")
	ErrNotFound      = errors.New("no such customer")
	ErrTemplate      = errors.New("customer is managed by the template")
	ErrTaken         = errors.New("name or consumer groups already belong to another principal")
	ErrRotationOpen  = errors.New("a password rotation is already open")
	ErrNoRotation    = errors.New("no password rotation is open")
	ErrNotAssociated = errors.New("msk did not process the secret")
)

// Tags the manager puts on each customer secret; the secrets are the register of customers.
const (
	TagCustomer    = "finfeed:customer"
	TagGroupPrefix = "finfeed:group-prefix"
	TagCreated     = "finfeed:created"
)

// SecondSuffix names a customer's second SCRAM user (acme-2): MSK keeps one password per user and reads only
// the secret's AWSCURRENT version, so a rotation with an overlap needs a second user.
const SecondSuffix = "-2"

// Manager adds, lists, rotates and removes customers of one cluster.
type Manager struct {
	Secrets SecretsAPI
	MSK     MSKAPI
	Admin   Admin
	// ClusterArn is the MSK cluster.
	ClusterArn string
	// SecretPrefix makes the secret names, AmazonMSK_<SecretPrefix>_<user>: finfeed-<env> as in the template.
	SecretPrefix string
	// KMSKeyID encrypts new secrets: MSK refuses secrets under the default aws/secretsmanager key.
	KMSKeyID string
	// Topics are what a customer reads (provision's customer topics).
	Topics []string
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// User is one SCRAM user of a customer and its secret.
type User struct {
	Name       string
	SecretArn  string
	SecretName string
	Created    time.Time
	// Associated is whether the secret is associated with the cluster (MSK accepts its logins).
	Associated bool
}

// Customer is a customer as the register holds it.
type Customer struct {
	Name        string
	GroupPrefix string
	// Users are oldest first: one, or two while a rotation is open (the first is the one being retired).
	Users []User
	// Template is set for a secret the template made (CustomerUserN): the manager lists it but leaves it alone.
	Template bool
}

// Principal is the customer's principals and groups as package provision grants them.
func (c Customer) Principal() provision.Customer {
	p := provision.Customer{Name: c.Name, GroupPrefix: c.GroupPrefix}
	for _, u := range c.Users {
		p.Users = append(p.Users, u.Name)
	}
	return p
}

// Validate reports every missing setting together.
func (m *Manager) Validate() error {
	var errs []error
	if m.ClusterArn == "" || !strings.HasPrefix(m.ClusterArn, "arn:") {
		errs = append(errs, fmt.Errorf("cluster arn: %q is not an ARN", m.ClusterArn))
	}
	if m.SecretPrefix == "" {
		errs = append(errs, errors.New("secret prefix: required (finfeed-<env>)"))
	}
	if len(m.Topics) == 0 {
		errs = append(errs, errors.New("topics: none"))
	}
	if m.Secrets == nil || m.MSK == nil || m.Admin == nil {
		errs = append(errs, errors.New("clients: Secrets Manager, MSK and Kafka admin are required"))
	}
	return errors.Join(errs...)
}

func (m *Manager) secretName(user string) string { return "AmazonMSK_" + m.SecretPrefix + "_" + user }

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// password is 32 letters and digits from crypto/rand (about 190 bits).
func (m *Manager) password() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 32)
	out := make([]byte, 0, len(b))
	for len(out) < len(b) {
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		for _, c := range b {
			// 248 = 4*62: drop the bytes that would bias the alphabet
			if c < 248 && len(out) < cap(out) {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
