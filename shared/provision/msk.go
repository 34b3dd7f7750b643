package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"

	"github.com/finfeed/finfeed/shared/kafka"
)

// BootstrapAPI is the part of the MSK client used to find a cluster's brokers.
type BootstrapAPI interface {
	GetBootstrapBrokers(ctx context.Context, in *msk.GetBootstrapBrokersInput, opts ...func(*msk.Options)) (*msk.GetBootstrapBrokersOutput, error)
}

// Attribute names the custom resource returns (read with !GetAtt).
const (
	AttrBrokers            = "BootstrapBrokers" // the string matching the function's own auth mode
	AttrBrokersIAM         = "BootstrapBrokersSaslIam"
	AttrBrokersSCRAM       = "BootstrapBrokersSaslScram"
	AttrBrokersVPCSCRAM    = "BootstrapBrokersVpcConnectivitySaslScram"
	AttrBrokersPlain       = "BootstrapBrokersPlaintext"
	AttrTopicArnPrefix     = "TopicArnPrefix" // arn:...:topic/<cluster>/<uuid>, for IAM policies on topics
	AttrGroupArnPrefix     = "GroupArnPrefix" // arn:...:group/<cluster>/<uuid>, for IAM policies on groups
	brokersNotEnabledValue = "none"
)

// ErrNoBrokers means the cluster offers no bootstrap string for the function's auth mode.
var ErrNoBrokers = errors.New("cluster has no bootstrap brokers for this auth mode")

// Brokers looks up a cluster's bootstrap strings and returns the attributes plus the list to connect with.
func Brokers(ctx context.Context, api BootstrapAPI, clusterArn string, auth kafka.Auth) (map[string]any, []string, error) {
	out, err := api.GetBootstrapBrokers(ctx, &msk.GetBootstrapBrokersInput{ClusterArn: aws.String(clusterArn)})
	if err != nil {
		return nil, nil, fmt.Errorf("get bootstrap brokers of %s: %w", clusterArn, err)
	}
	data := map[string]any{
		AttrBrokersIAM:      orNone(out.BootstrapBrokerStringSaslIam),
		AttrBrokersSCRAM:    orNone(out.BootstrapBrokerStringSaslScram),
		AttrBrokersVPCSCRAM: orNone(out.BootstrapBrokerStringVpcConnectivitySaslScram),
		AttrBrokersPlain:    orNone(out.BootstrapBrokerString),
		AttrTopicArnPrefix:  strings.Replace(clusterArn, ":cluster/", ":topic/", 1),
		AttrGroupArnPrefix:  strings.Replace(clusterArn, ":cluster/", ":group/", 1),
	}
	use := map[kafka.Auth]*string{
		kafka.AuthIAM:   out.BootstrapBrokerStringSaslIam,
		kafka.AuthSCRAM: out.BootstrapBrokerStringSaslScram,
		kafka.AuthNone:  out.BootstrapBrokerString,
	}[auth]
	brokers := kafka.SplitList(aws.ToString(use))
	if len(brokers) == 0 {
		return nil, nil, fmt.Errorf("%s with auth %s: %w", clusterArn, auth, ErrNoBrokers)
	}
	data[AttrBrokers] = aws.ToString(use)
	return data, brokers, nil
}

// CloudFormation cannot !GetAtt an attribute that is missing, so a disabled listener reads "none".
func orNone(s *string) string {
	if aws.ToString(s) == "" {
		return brokersNotEnabledValue
	}
	return *s
}
