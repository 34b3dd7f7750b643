package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/finfeed/finfeed/shared/consumer"
	"github.com/finfeed/finfeed/shared/kafka"
)

func init() {
	register("consume", "read the enriched feed as a customer: JSON lines on stdout", runConsume)
}

// runConsume is `feed consume --brokers B --topic enhanced [--user U --password P] [--tls] [--from-beginning]
// [--symbols AMZN,NVDA] [--max N]`: the customer's consumer, one enriched bar per line. With --user it logs in
// with SASL/SCRAM-SHA-512; the password may come from KAFKA_PASSWORD instead of the command line.
func runConsume(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed consume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated host:port list (required)")
	topic := fs.String("topic", "enhanced", "topic to read")
	user := fs.String("user", "", "SASL/SCRAM-SHA-512 user (none: no authentication)")
	password := fs.String("password", "", "SCRAM password (default $KAFKA_PASSWORD)")
	useTLS := fs.Bool("tls", false, "connect with TLS (MSK)")
	fromBeginning := fs.Bool("from-beginning", false, "read retained records first, not only new ones")
	symbols := fs.String("symbols", "", "comma-separated symbols to keep (default all)")
	maxRecords := fs.Int("max", 0, "exit after this many records (0: until interrupted)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed consume --brokers B [--topic enhanced] [--user U --password P] [--tls] [--from-beginning]\n"+
			"                    [--symbols AMZN,NVDA] [--max N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feed consume: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	cfg := consumer.Config{
		Kafka:         kafka.Config{Brokers: kafka.SplitList(*brokers), Auth: kafka.AuthNone, TLS: *useTLS, ClientID: "finfeed-consume"},
		Topic:         *topic,
		FromBeginning: *fromBeginning,
		Symbols:       kafka.SplitList(*symbols),
		Max:           *maxRecords,
	}
	if *user != "" {
		cfg.Kafka.Auth, cfg.Kafka.Username, cfg.Kafka.Password = kafka.AuthSCRAM, *user, *password
		if cfg.Kafka.Password == "" {
			cfg.Kafka.Password = os.Getenv("KAFKA_PASSWORD")
		}
	}
	var errs []error
	if len(cfg.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("--brokers: required"))
	}
	if *user != "" && cfg.Kafka.Password == "" {
		errs = append(errs, errors.New("--password (or KAFKA_PASSWORD): required with --user"))
	}
	if len(errs) == 0 {
		errs = append(errs, cfg.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "feed consume: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	if _, err := consumer.Run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "feed consume: %v\n", err)
		return exitFailure
	}
	return exitOK
}
