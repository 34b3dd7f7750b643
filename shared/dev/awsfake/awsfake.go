// Package awsfake stands in for the AWS control-plane APIs that have no local implementation here: Secrets
// Manager's secret calls and MSK's SCRAM-secret association and client VPC connections. They keep what the real
// services keep and enforce what MSK checks on association; associating creates the SCRAM user on a real
// (embedded) Kafka through its admin client and disassociating deletes it, so logins in tests are real.
package awsfake

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	msktypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/twmb/franz-go/pkg/kadm"
)

type secret struct {
	arn, name, kms, value string
	tags                  []smtypes.Tag
	created               time.Time
}

type SecretsManager struct {
	mu         sync.Mutex
	secrets    map[string]*secret // by ARN
	n          int
	failCreate error
}

// NewSecretsManager returns an empty Secrets Manager.
func NewSecretsManager() *SecretsManager { return &SecretsManager{secrets: map[string]*secret{}} }

func (f *SecretsManager) byID(id string) *secret {
	for _, s := range f.secrets {
		if s.arn == id || s.name == id {
			return s
		}
	}
	return nil
}

// CreateSecret stores a secret; a name in use is a ResourceExistsException.
func (f *SecretsManager) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if f.byID(name) != nil {
		return nil, &smtypes.ResourceExistsException{Message: aws.String("the secret " + name + " already exists")}
	}
	f.n++
	s := &secret{arn: fmt.Sprintf("arn:aws:secretsmanager:eu-west-3:111122223333:secret:%s-%06d", name, f.n), name: name,
		kms: aws.ToString(in.KmsKeyId), value: aws.ToString(in.SecretString), tags: in.Tags, created: time.Now()}
	f.secrets[s.arn] = s
	return &secretsmanager.CreateSecretOutput{ARN: aws.String(s.arn), Name: aws.String(name)}, nil
}

// ListSecrets lists by name prefix filters, two per page so the caller's paging is exercised.
func (f *SecretsManager) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, s := range f.secrets {
		ok := true
		for _, flt := range in.Filters {
			if flt.Key == smtypes.FilterNameStringTypeName && !slices.ContainsFunc(flt.Values, func(v string) bool { return strings.HasPrefix(s.name, v) }) {
				ok = false
			}
		}
		if ok {
			names = append(names, s.name)
		}
	}
	slices.Sort(names)
	start := 0
	if in.NextToken != nil {
		if _, err := fmt.Sscan(*in.NextToken, &start); err != nil {
			return nil, fmt.Errorf("fake: bad next token: %w", err)
		}
	}
	out := &secretsmanager.ListSecretsOutput{}
	for i := start; i < len(names) && i < start+2; i++ {
		s := f.byID(names[i])
		out.SecretList = append(out.SecretList, smtypes.SecretListEntry{ARN: aws.String(s.arn), Name: aws.String(s.name),
			KmsKeyId: aws.String(s.kms), Tags: s.tags, CreatedDate: aws.Time(s.created)})
	}
	if start+2 < len(names) {
		out.NextToken = aws.String(fmt.Sprint(start + 2))
	}
	return out, nil
}

// DeleteSecret deletes at once (ForceDeleteWithoutRecovery); a missing secret is a ResourceNotFoundException.
func (f *SecretsManager) DeleteSecret(_ context.Context, in *secretsmanager.DeleteSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.byID(aws.ToString(in.SecretId))
	if s == nil {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("secrets manager can't find the specified secret")}
	}
	if !aws.ToBool(in.ForceDeleteWithoutRecovery) {
		return nil, fmt.Errorf("fake: only deletes without recovery are modelled")
	}
	delete(f.secrets, s.arn)
	return &secretsmanager.DeleteSecretOutput{ARN: aws.String(s.arn)}, nil
}

// Value is the username and password in the secret whose name ends with _<user>.
func (f *SecretsManager) Value(name string) (user, password string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.secrets {
		if strings.HasSuffix(s.name, "_"+name) {
			var up struct{ Username, Password string }
			if json.Unmarshal([]byte(s.value), &up) != nil {
				return "", "", false
			}
			return up.Username, up.Password, true
		}
	}
	return "", "", false
}

// Names are the secrets' names, sorted.
func (f *SecretsManager) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.secrets {
		out = append(out, s.name)
	}
	slices.Sort(out)
	return out
}

// AddUntagged adds a secret as the template's CustomerUserN slot makes it: the same naming, no tags.
func (f *SecretsManager) AddUntagged(name, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	arn := fmt.Sprintf("arn:aws:secretsmanager:eu-west-3:111122223333:secret:%s-%06d", name, f.n)
	f.secrets[arn] = &secret{arn: arn, name: name, kms: "key", value: `{"username":"` + user + `","password":"x"}`, created: time.Now()}
}

// MSK is one cluster's SCRAM-secret associations and client VPC connection rejections. Associating a secret
// creates its SCRAM-SHA-512 user on the Kafka behind Admin (a superuser's client), disassociating deletes it.
type MSK struct {
	ClusterArn string
	Secrets    *SecretsManager
	Admin      *kadm.Client
	// FailAssociate makes every association come back unprocessed (InternalFailure).
	FailAssociate bool

	mu         sync.Mutex
	associated map[string]string // secret ARN to user
	rejected   []string
}

// NewMSK returns a cluster with no association.
func NewMSK(clusterArn string, sm *SecretsManager, admin *kadm.Client) *MSK {
	return &MSK{ClusterArn: clusterArn, Secrets: sm, Admin: admin, associated: map[string]string{}}
}

// BatchAssociateScramSecret checks each secret as MSK does and creates its SCRAM user.
func (f *MSK) BatchAssociateScramSecret(ctx context.Context, in *msk.BatchAssociateScramSecretInput, _ ...func(*msk.Options)) (*msk.BatchAssociateScramSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.ClusterArn) != f.ClusterArn {
		return nil, &msktypes.NotFoundException{Message: aws.String("cluster not found")}
	}
	out := &msk.BatchAssociateScramSecretOutput{ClusterArn: in.ClusterArn}
	for _, arn := range in.SecretArnList {
		fail := func(code, msg string) {
			out.UnprocessedScramSecrets = append(out.UnprocessedScramSecrets, msktypes.UnprocessedScramSecret{
				SecretArn: aws.String(arn), ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)})
		}
		f.Secrets.mu.Lock()
		s := f.Secrets.byID(arn)
		f.Secrets.mu.Unlock()
		var up struct{ Username, Password string }
		switch {
		case f.FailAssociate:
			fail("InternalFailure", "injected")
		case s == nil:
			fail("ResourceNotFoundException", "secret not found")
		case !strings.HasPrefix(s.name, "AmazonMSK_"):
			fail("ValidationException", "secret name must start with AmazonMSK_")
		case s.kms == "":
			fail("ValidationException", "secrets encrypted with the default key cannot be associated")
		case json.Unmarshal([]byte(s.value), &up) != nil || up.Username == "" || up.Password == "":
			fail("ValidationException", "secret value is not username and password")
		default:
			res, err := f.Admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: up.Username, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: up.Password}})
			if err == nil {
				err = res.Error()
			}
			if err != nil {
				return nil, fmt.Errorf("fake msk: upsert scram user: %w", err)
			}
			f.associated[arn] = up.Username
		}
	}
	return out, nil
}

// BatchDisassociateScramSecret deletes the secrets' SCRAM users; a secret not associated is unprocessed.
func (f *MSK) BatchDisassociateScramSecret(ctx context.Context, in *msk.BatchDisassociateScramSecretInput, _ ...func(*msk.Options)) (*msk.BatchDisassociateScramSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &msk.BatchDisassociateScramSecretOutput{ClusterArn: in.ClusterArn}
	for _, arn := range in.SecretArnList {
		user, ok := f.associated[arn]
		if !ok {
			out.UnprocessedScramSecrets = append(out.UnprocessedScramSecrets, msktypes.UnprocessedScramSecret{
				SecretArn: aws.String(arn), ErrorCode: aws.String("ValidationException"), ErrorMessage: aws.String("secret is not associated")})
			continue
		}
		res, err := f.Admin.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: user, Mechanism: kadm.ScramSha512}}, nil)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("fake msk: delete scram user: %w", err)
		}
		delete(f.associated, arn)
	}
	return out, nil
}

// ListScramSecrets lists the associated secret ARNs.
func (f *MSK) ListScramSecrets(_ context.Context, in *msk.ListScramSecretsInput, _ ...func(*msk.Options)) (*msk.ListScramSecretsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.ClusterArn) != f.ClusterArn {
		return nil, &msktypes.NotFoundException{Message: aws.String("cluster not found")}
	}
	out := &msk.ListScramSecretsOutput{}
	for arn := range f.associated {
		out.SecretArnList = append(out.SecretArnList, arn)
	}
	return out, nil
}

// RejectClientVpcConnection records the rejection of a well-formed connection ARN.
func (f *MSK) RejectClientVpcConnection(_ context.Context, in *msk.RejectClientVpcConnectionInput, _ ...func(*msk.Options)) (*msk.RejectClientVpcConnectionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.VpcConnectionArn)
	if !strings.HasPrefix(arn, "arn:aws:kafka:") {
		return nil, &msktypes.BadRequestException{Message: aws.String("invalid vpc connection arn")}
	}
	f.rejected = append(f.rejected, arn)
	return &msk.RejectClientVpcConnectionOutput{}, nil
}

// Rejected are the VPC connection ARNs rejected so far.
func (f *MSK) Rejected() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rejected)
}

// Users are the SCRAM users of the associated secrets, sorted.
func (f *MSK) Users() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, u := range f.associated {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// GetSecretValue returns a secret's current value.
func (f *SecretsManager) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.byID(aws.ToString(in.SecretId))
	if s == nil {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("secrets manager can't find the specified secret")}
	}
	return &secretsmanager.GetSecretValueOutput{ARN: aws.String(s.arn), Name: aws.String(s.name), SecretString: aws.String(s.value)}, nil
}

// Remove deletes a secret by name, as someone outside the register might.
func (f *SecretsManager) Remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.byID(name); s != nil {
		delete(f.secrets, s.arn)
	}
}

// KMSKey is the KMS key a secret was created with ("" for the default key or no such secret).
func (f *SecretsManager) KMSKey(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.byID(name); s != nil {
		return s.kms
	}
	return ""
}

// PutSecretValue makes a new current value of a secret.
func (f *SecretsManager) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.byID(aws.ToString(in.SecretId))
	if s == nil {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("secrets manager can't find the specified secret")}
	}
	s.value = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{ARN: aws.String(s.arn), Name: aws.String(s.name)}, nil
}
