package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/consumer"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/redrive"
)

func init() {
	register("dlq", "re-drive dead letters into the topic they came from: feed dlq replay --topic raw.dlq", runDLQ)
}

// runDLQ is `feed dlq replay --topic raw.dlq [--from-time T] [--match REGEX] [--dry-run]`. The Kafka connection
// comes from the same environment the functions read (KAFKA_BROKERS, KAFKA_AUTH none|scram|iam, KAFKA_USERNAME,
// KAFKA_PASSWORD, KAFKA_SECRET_ARN, KAFKA_TLS), --brokers overriding KAFKA_BROKERS: the principal needs to read
// the dead-letter topic and write the source topics.
func runDLQ(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprintln(stderr, "usage: feed dlq replay --topic raw.dlq [--brokers B] [--from-time T] [--match REGEX] [--dry-run]")
		return exitUsage
	}
	fs := flag.NewFlagSet("feed dlq replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	topic := fs.String("topic", "", "the dead-letter topic to re-drive (raw.dlq or enhanced.dlq; required)")
	brokers := fs.String("brokers", "", "comma-separated host:port list (default $KAFKA_BROKERS)")
	fromTime := fs.String("from-time", "", "only dead letters written at or after T: RFC 3339 or New York time 2024-10-31 09:30")
	match := fs.String("match", "", "only dead letters whose error header or value matches this regular expression (Go syntax)")
	dryRun := fs.Bool("dry-run", false, "print what would be sent, send nothing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed dlq replay --topic raw.dlq [--brokers B] [--from-time T] [--match REGEX] [--dry-run]\n"+
			"Sends each dead letter's original key, value and headers back to the topic in its source header.\n"+
			"Kafka settings as the functions read them: KAFKA_BROKERS, KAFKA_AUTH (none|scram|iam), KAFKA_USERNAME,\n"+
			"KAFKA_PASSWORD, KAFKA_SECRET_ARN, KAFKA_TLS.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	cfg := redrive.Config{Topic: *topic, DryRun: *dryRun}
	if *topic == "" {
		errs = append(errs, errors.New("--topic: required"))
	}
	if *fromTime != "" {
		t, err := consumer.ParseTime(*fromTime)
		if err != nil {
			errs = append(errs, fmt.Errorf("--from-time: %w", err))
		}
		cfg.FromTime = t
	}
	if *match != "" {
		re, err := regexp.Compile(*match)
		if err != nil {
			errs = append(errs, fmt.Errorf("--match: %w", err))
		}
		cfg.Match = re
	}
	kc, err := kafka.Load(func(k string) string {
		if k == "KAFKA_BROKERS" && *brokers != "" {
			return *brokers
		}
		if k == "KAFKA_CLIENT_ID" {
			return "finfeed-dlq-replay"
		}
		return os.Getenv(k)
	})
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Kafka = kc
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "feed dlq replay: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	if kc.Auth == kafka.AuthIAM || kc.SecretARN != "" {
		awsCfg, err := awsconfig.Load(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "feed dlq replay: %v\n", err)
			return exitFailure
		}
		cfg.Deps = kafka.Deps{Credentials: awsCfg.AWS.Credentials, Secrets: awsCfg.Secrets}
	}
	res, err := redrive.Run(ctx, cfg, stdout)
	verb, n := "sent", res.Sent
	if *dryRun {
		verb, n = "would send (dry run)", res.Matched-res.Skipped
	}
	fmt.Fprintf(stderr, "feed dlq replay: %s: read %d, matched %d, %s %d, skipped %d\n", *topic, res.Read, res.Matched, verb, n, res.Skipped)
	if err != nil {
		fmt.Fprintf(stderr, "feed dlq replay: %v\n", err)
		return exitFailure
	}
	return exitOK
}
