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
	"github.com/finfeed/finfeed/shared/topics"
)

func init() {
	register("consume", "read the enriched feed or its candles as a customer: JSON lines or TSV on stdout", runConsume)
}

// runConsume is `feed consume`: the customer's consumer, one enriched bar or candle per line. With
// --user it logs in with SASL/SCRAM-SHA-512; the password may come from KAFKA_PASSWORD instead of the command
// line.
func runConsume(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed consume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated host:port list (required)")
	topic := fs.String("topic", topics.Enhanced, "topic to read: "+topics.Enhanced+" (enriched bars) or "+topics.Candles+" (5m, 15m, 1h candles)")
	kind := fs.String("kind", "", "what the topic holds, for --format tsv, --dedupe and --from-time: `K` = "+string(consumer.KindBar)+" or "+string(consumer.KindCandle)+"\n"+
		"(default: "+string(consumer.KindCandle)+" for the topic named "+topics.Candles+", "+string(consumer.KindBar)+" for any other)")
	user := fs.String("user", "", "SASL/SCRAM-SHA-512 user (none: no authentication)")
	password := fs.String("password", "", "SCRAM password (default $KAFKA_PASSWORD)")
	useTLS := fs.Bool("tls", false, "connect with TLS (MSK)")
	group := fs.String("group", "", "join consumer group `G` and commit what was printed, so the next run with it continues\n"+
		"after; on MSK and feed local a customer may use only the group named as its user (--group $USER)\n"+
		"(default: no group, nothing committed)")
	fromBeginning := fs.Bool("from-beginning", false, "read retained records first, not only new ones (with --group: only where\n"+
		"the group has no committed offset)")
	fromTime := fs.String("from-time", "", "print bars whose bar time (the timestamp field; a candle's start) is at or after `T`: RFC 3339,\n"+
		"or New York time \"2024-10-31 09:30[:00]\" (America/New_York); with --group it overrides\n"+
		"the committed offsets for this run; excludes --from-beginning")
	dedupe := fs.Bool("dedupe", false, "drop byte-identical repeats of a bar (at-least-once delivery); a correction (same symbol\n"+
		"and timestamp, other bytes) is printed; candles: same symbol, interval and start")
	dedupeWindow := fs.Duration("dedupe-window", consumer.DefaultDedupeWindow, "--dedupe remembers `D` of bar time behind the symbol's newest bar (its newest candle of the\n"+
		"interval; bounds its memory; older records are printed unchecked)")
	format := fs.String("format", string(consumer.FormatJSON), "output `format`: json (each record as is) or tsv (a header line, then one row per record,\n"+
		"the record's fields in its order, empty for null; bars: symbol, timestamp, tradingDate,\n"+
		"open, high, low, close, volume, prevClose, %change, indicator, sma20, sma50, ema12, ema26,\n"+
		"rsi14, vwapSession, volumeAlert, maCross, outOfSequence; candles: symbol, interval, start,\n"+
		"open, high, low, close, volume, trade_count, vwap, bars, final)")
	symbols := fs.String("symbols", "", "comma-separated symbols to keep (default all)")
	maxRecords := fs.Int("max", 0, "exit after printing this many records (0: until interrupted)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed consume --brokers B [--topic enhanced|candles [--kind bar|candle]] [--user U --password P] [--tls] [--group G]\n"+
			"                    [--from-beginning | --from-time T] [--dedupe [--dedupe-window D]] [--format json|tsv]\n"+
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
		Kind:          consumer.Kind(*kind),
		Group:         *group,
		FromBeginning: *fromBeginning,
		Dedupe:        *dedupe,
		DedupeWindow:  *dedupeWindow,
		Format:        consumer.Format(*format),
		Symbols:       kafka.SplitList(*symbols),
		Max:           *maxRecords,
		OnBadRecord: func(partition int32, offset int64, err error) {
			fmt.Fprintf(stderr, "feed consume: skipped %s/%d/%d: %v\n", *topic, partition, offset, err)
		},
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
	if *fromTime != "" {
		t, err := consumer.ParseTime(*fromTime)
		if err != nil {
			errs = append(errs, fmt.Errorf("--from-time: %w", err))
		}
		cfg.FromTime = t
		if *fromBeginning {
			errs = append(errs, errors.New("--from-beginning and --from-time: choose one"))
		}
	}
	if *dedupeWindow <= 0 {
		errs = append(errs, fmt.Errorf("--dedupe-window: must be positive, got %v", *dedupeWindow))
	}
	if f := consumer.Format(*format); f != consumer.FormatJSON && f != consumer.FormatTSV {
		errs = append(errs, fmt.Errorf("--format: %q is not json or tsv", *format))
	}
	if k := consumer.Kind(*kind); k != "" && k != consumer.KindBar && k != consumer.KindCandle {
		errs = append(errs, fmt.Errorf("--kind: %q is not %s or %s", *kind, consumer.KindBar, consumer.KindCandle))
	}
	if *maxRecords < 0 {
		errs = append(errs, fmt.Errorf("--max: must not be negative, got %d", *maxRecords))
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
