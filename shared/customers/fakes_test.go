package customers_test

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

// Secrets Manager and the MSK control plane have no local implementation; these stand-ins keep what the real
// services would (secrets with their key and tags, the cluster's associations) and enforce what MSK checks on
// association (the AmazonMSK_ name, a customer-managed key, a {"username","password"} value). Associating
// really creates the SCRAM user on the embedded Kafka, disassociating deletes it, so logins are real.

type fakeSecret struct {
	arn, name, kms, value string
	tags                  []smtypes.Tag
	created               time.Time
}

type fakeSecrets struct {
	mu         sync.Mutex
	secrets    map[string]*fakeSecret // by ARN
	n          int
	failCreate error
}

func newFakeSecrets() *fakeSecrets { return &fakeSecrets{secrets: map[string]*fakeSecret{}} }

func (f *fakeSecrets) byID(id string) *fakeSecret {
	for _, s := range f.secrets {
		if s.arn == id || s.name == id {
			return s
		}
	}
	return nil
}

func (f *fakeSecrets) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCreate != nil {
		return nil, f.failCreate
	}
	name := aws.ToString(in.Name)
	if f.byID(name) != nil {
		return nil, &smtypes.ResourceExistsException{Message: aws.String("the secret " + name + " already exists")}
	}
	f.n++
	s := &fakeSecret{arn: fmt.Sprintf("arn:aws:secretsmanager:eu-west-3:111122223333:secret:%s-%06d", name, f.n), name: name,
		kms: aws.ToString(in.KmsKeyId), value: aws.ToString(in.SecretString), tags: in.Tags, created: time.Now()}
	f.secrets[s.arn] = s
	return &secretsmanager.CreateSecretOutput{ARN: aws.String(s.arn), Name: aws.String(name)}, nil
}

// ListSecrets pages two at a time so the caller's paging is exercised.
func (f *fakeSecrets) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
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

func (f *fakeSecrets) DeleteSecret(_ context.Context, in *secretsmanager.DeleteSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
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

// value is what a provider reads with get-secret-value.
func (f *fakeSecrets) value(name string) (user, password string, ok bool) {
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

func (f *fakeSecrets) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.secrets {
		out = append(out, s.name)
	}
	slices.Sort(out)
	return out
}

// addTemplateSecret is a secret as the template's CustomerUserN slot makes it: same naming, no tags.
func (f *fakeSecrets) addTemplateSecret(name, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	arn := fmt.Sprintf("arn:aws:secretsmanager:eu-west-3:111122223333:secret:%s-%06d", name, f.n)
	f.secrets[arn] = &fakeSecret{arn: arn, name: name, kms: "key", value: `{"username":"` + user + `","password":"x"}`, created: time.Now()}
}

type fakeMSK struct {
	mu         sync.Mutex
	cluster    string
	secrets    *fakeSecrets
	admin      *kadm.Client // the embedded Kafka's superuser: SCRAM users follow the associations
	associated map[string]string
	rejected   []string
	failAssoc  bool
}

func (f *fakeMSK) BatchAssociateScramSecret(ctx context.Context, in *msk.BatchAssociateScramSecretInput, _ ...func(*msk.Options)) (*msk.BatchAssociateScramSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.ClusterArn) != f.cluster {
		return nil, &msktypes.NotFoundException{Message: aws.String("cluster not found")}
	}
	out := &msk.BatchAssociateScramSecretOutput{ClusterArn: in.ClusterArn}
	for _, arn := range in.SecretArnList {
		fail := func(code, msg string) {
			out.UnprocessedScramSecrets = append(out.UnprocessedScramSecrets, msktypes.UnprocessedScramSecret{
				SecretArn: aws.String(arn), ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)})
		}
		f.secrets.mu.Lock()
		s := f.secrets.byID(arn)
		f.secrets.mu.Unlock()
		var up struct{ Username, Password string }
		switch {
		case f.failAssoc:
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
			res, err := f.admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: up.Username, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: up.Password}})
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

func (f *fakeMSK) BatchDisassociateScramSecret(ctx context.Context, in *msk.BatchDisassociateScramSecretInput, _ ...func(*msk.Options)) (*msk.BatchDisassociateScramSecretOutput, error) {
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
		res, err := f.admin.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: user, Mechanism: kadm.ScramSha512}}, nil)
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

func (f *fakeMSK) ListScramSecrets(_ context.Context, in *msk.ListScramSecretsInput, _ ...func(*msk.Options)) (*msk.ListScramSecretsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.ClusterArn) != f.cluster {
		return nil, &msktypes.NotFoundException{Message: aws.String("cluster not found")}
	}
	out := &msk.ListScramSecretsOutput{}
	for arn := range f.associated {
		out.SecretArnList = append(out.SecretArnList, arn)
	}
	return out, nil
}

func (f *fakeMSK) RejectClientVpcConnection(_ context.Context, in *msk.RejectClientVpcConnectionInput, _ ...func(*msk.Options)) (*msk.RejectClientVpcConnectionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.VpcConnectionArn)
	if !strings.HasPrefix(arn, "arn:aws:kafka:") {
		return nil, &msktypes.BadRequestException{Message: aws.String("invalid vpc connection arn")}
	}
	f.rejected = append(f.rejected, arn)
	return &msk.RejectClientVpcConnectionOutput{}, nil
}

func (f *fakeMSK) users() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, u := range f.associated {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}
