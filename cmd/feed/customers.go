package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	msk "github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/customers"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/provision"
)

func init() {
	register("customers", "add, list, rotate, remove or sync the customers of an MSK cluster: feed customers add NAME", runCustomers)
}

const customersUsage = `usage:
  feed customers add NAME [--group-prefix NAME.]        secret, SCRAM association, read-only ACLs
  feed customers list
  feed customers rotate NAME                            open a rotation: a second user NAME-2 (or NAME) with a new password
  feed customers rotate NAME --finish                   retire the older user of an open rotation
  feed customers remove NAME [--reject-connection ARN]  revoke ACLs, disassociate, reject VPC connections, delete secrets
  feed customers sync                                   re-grant every customer's ACLs (new topics) and re-associate lost secrets
common flags (or their environment variables):
  --cluster-arn ARN  ($FINFEED_CLUSTER_ARN)  the stack's ClusterArn output
  --env ENV          ($FINFEED_ENV)          secrets are named AmazonMSK_finfeed-<ENV>_<user>, as the template's
  --kms-key ARN      ($FINFEED_KMS_KEY)      the stack's KafkaKeyArn output (add and rotate)
  --brokers B        ($KAFKA_BROKERS)        Kafka for the ACLs; KAFKA_AUTH (iam on MSK), KAFKA_TLS and the other
                                             KAFKA_* settings as the functions read them`

// customerAWS builds the Secrets Manager and MSK clients and the Kafka credentials' dependencies from the
// default AWS configuration; tests replace it with stand-ins.
var customerAWS = func(ctx context.Context) (customers.SecretsAPI, customers.MSKAPI, kafka.Deps, error) {
	ac, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, nil, kafka.Deps{}, err
	}
	return secretsmanager.NewFromConfig(ac.AWS), msk.NewFromConfig(ac.AWS), kafka.Deps{Credentials: ac.AWS.Credentials, Secrets: ac.Secrets}, nil
}

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func runCustomers(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || !map[string]bool{"add": true, "list": true, "rotate": true, "remove": true, "sync": true}[args[0]] {
		fmt.Fprintln(stderr, customersUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("feed customers "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, customersUsage) }
	clusterArn := fs.String("cluster-arn", os.Getenv("FINFEED_CLUSTER_ARN"), "the MSK cluster")
	env := fs.String("env", os.Getenv("FINFEED_ENV"), "the stack's environment (dev, prod)")
	kmsKey := fs.String("kms-key", os.Getenv("FINFEED_KMS_KEY"), "the KMS key of new secrets")
	brokers := fs.String("brokers", "", "Kafka bootstrap brokers (default $KAFKA_BROKERS)")
	groupPrefix := fs.String("group-prefix", "", "add: let the customer use every consumer group starting with this prefix (NAME. or NAME.something.)")
	finish := fs.Bool("finish", false, "rotate: retire the older user of the open rotation")
	var reject repeated
	fs.Var(&reject, "reject-connection", "remove: reject this client VPC connection ARN (repeatable)")
	// NAME may come before or after the flags
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	name := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return exitUsage
		}
	}
	var errs []error
	switch {
	case (verb == "list" || verb == "sync") && name != "":
		errs = append(errs, fmt.Errorf("%s takes no NAME, got %q", verb, name))
	case verb != "list" && verb != "sync" && name == "":
		errs = append(errs, errors.New("NAME: required"))
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if *groupPrefix != "" && verb != "add" {
		errs = append(errs, errors.New("--group-prefix: only with add"))
	}
	if *finish && verb != "rotate" {
		errs = append(errs, errors.New("--finish: only with rotate"))
	}
	if len(reject) > 0 && verb != "remove" {
		errs = append(errs, errors.New("--reject-connection: only with remove"))
	}
	if *env == "" {
		errs = append(errs, errors.New("--env: required (secrets are named AmazonMSK_finfeed-<env>_<user>)"))
	}
	if (verb == "add" || (verb == "rotate" && !*finish)) && *kmsKey == "" {
		errs = append(errs, errors.New("--kms-key: required to create a secret (the stack's KafkaKeyArn output)"))
	}
	kc, err := kafka.Load(func(k string) string {
		if k == "KAFKA_BROKERS" && *brokers != "" {
			return *brokers
		}
		if k == "KAFKA_CLIENT_ID" {
			return "finfeed-customers"
		}
		return os.Getenv(k)
	})
	errs = append(errs, err)
	m := &customers.Manager{ClusterArn: *clusterArn, SecretPrefix: "finfeed-" + *env, KMSKeyID: *kmsKey,
		Topics: provision.DefaultSettings().Spec().CustomerTopics()}
	if *clusterArn == "" || !strings.HasPrefix(*clusterArn, "arn:") {
		errs = append(errs, fmt.Errorf("--cluster-arn: %q is not an ARN (the stack's ClusterArn output)", *clusterArn))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "feed customers %s: %v\n", verb, err)
		fs.Usage()
		return exitUsage
	}
	sm, mc, deps, err := customerAWS(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "feed customers %s: %v\n", verb, err)
		return exitFailure
	}
	cl, err := kafka.NewClient(ctx, kc, deps)
	if err != nil {
		fmt.Fprintf(stderr, "feed customers %s: %v\n", verb, err)
		return exitFailure
	}
	defer cl.Close()
	m.Secrets, m.MSK, m.Admin = sm, mc, kadm.NewClient(cl)
	if err := customersDo(ctx, m, verb, name, *groupPrefix, *finish, reject, stdout); err != nil {
		fmt.Fprintf(stderr, "feed customers %s: %v\n", verb, err)
		return exitFailure
	}
	return exitOK
}

// customersDo runs one verb and prints what changed; never a password.
func customersDo(ctx context.Context, m *customers.Manager, verb, name, groupPrefix string, finish bool, reject []string, w io.Writer) error {
	switch {
	case verb == "add":
		c, err := m.Add(ctx, name, groupPrefix)
		if err != nil {
			return err
		}
		u := c.Users[0]
		fmt.Fprintf(w, "customer %s added: user %s, %s\n  secret %s\n  %s\n", c.Name, u.Name, groups(c), u.SecretName, u.SecretArn)
		fmt.Fprintf(w, "hand the credentials over from Secrets Manager (aws secretsmanager get-secret-value --secret-id %s);\n"+
			"MSK takes up to about 10 minutes to accept a newly associated secret\n", u.SecretArn)
	case verb == "list":
		all, err := m.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CUSTOMER\tGROUPS\tUSERS\tMANAGED BY")
		for _, c := range all {
			var users []string
			for _, u := range c.Users {
				state := "associated"
				if !u.Associated {
					state = "NOT ASSOCIATED"
				}
				users = append(users, fmt.Sprintf("%s (%s, %s)", u.Name, state, u.Created.UTC().Format(time.DateOnly)))
			}
			by := "feed customers"
			if c.Template {
				by = "template (CustomerUserN)"
			} else if len(c.Users) == 2 {
				by += ", rotation open"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, groups(c), strings.Join(users, ", "), by)
		}
		return tw.Flush()
	case verb == "rotate" && finish:
		u, err := m.FinishRotation(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "customer %s: user %s retired (ACLs revoked, secret disassociated and deleted)\n", name, u.Name)
	case verb == "rotate":
		u, err := m.Rotate(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "customer %s: rotation open, new user %s\n  secret %s\n  %s\n", name, u.Name, u.SecretName, u.SecretArn)
		fmt.Fprintf(w, "both users log in until `feed customers rotate %s --finish`; hand the new credentials over from Secrets Manager\n", name)
	case verb == "sync":
		fixed, err := m.Sync(ctx)
		for _, u := range fixed {
			fmt.Fprintf(w, "re-associated %s (%s)\n", u.Name, u.SecretName)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "customers in sync: ACLs granted on %s, %d secret(s) re-associated\n", strings.Join(m.Topics, ", "), len(fixed))
	case verb == "remove":
		if err := m.Remove(ctx, name, reject); err != nil {
			return err
		}
		fmt.Fprintf(w, "customer %s removed: ACLs revoked, secrets disassociated and deleted, %d VPC connection(s) rejected\n", name, len(reject))
	}
	return nil
}

func groups(c customers.Customer) string {
	if c.GroupPrefix != "" {
		return "groups " + c.GroupPrefix + "*"
	}
	return "group " + c.Name
}
