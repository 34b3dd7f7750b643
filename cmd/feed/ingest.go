package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/ingest"
)

func init() {
	register("ingest", "stream Alpaca minute bars into the raw topic (the Fargate ingester, run here)", runIngest)
}

// runIngest is `feed ingest`: the ingester's code with its environment variables (KAFKA_*, ALPACA_*, SYMBOLS,
// RAW_TOPIC, ...), some of which flags may set. With --fake-alpaca it starts a local fake Alpaca that publishes a
// synthetic bar per symbol every interval, so no keys are needed. Exit 0 after SIGTERM/^C once everything read
// is in Kafka, 1 on failure, 2 for usage errors.
func runIngest(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := map[string]*string{
		"SYMBOLS":           fs.String("symbols", "", "comma-separated symbols, or * (default $SYMBOLS)"),
		"KAFKA_BROKERS":     fs.String("brokers", "", "Kafka host:port list (default $KAFKA_BROKERS)"),
		"RAW_TOPIC":         fs.String("raw-topic", "", "topic to write (default $RAW_TOPIC or raw)"),
		"ALPACA_FEED":       fs.String("feed", "", "iex, sip or test (default $ALPACA_FEED or iex)"),
		"ALPACA_STREAM_URL": fs.String("stream-url", "", "Alpaca stream base URL (default $ALPACA_STREAM_URL)"),
		"ALPACA_DATA_URL":   fs.String("data-url", "", "Alpaca REST base URL (default $ALPACA_DATA_URL)"),
		"ALPACA_API_URL":    fs.String("api-url", "", "Alpaca trading API base URL, for the asset list that --symbols '*' backfills (default $ALPACA_API_URL or "+alpaca.DefaultAPIURL+")"),
		"HEALTH_ADDR":       fs.String("health-addr", "", "host:port of /healthz and /readyz, or off (default $HEALTH_ADDR or "+ingest.DefaultHealthAddr+")"),
	}
	fake := fs.Duration("fake-alpaca", 0, "start a local fake Alpaca publishing one bar per symbol at this interval (e.g. 1s)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed ingest [--symbols S,..] [--brokers H:P,..] [--raw-topic T] [--feed F] [--stream-url URL]\n"+
			"                   [--data-url URL] [--api-url URL] [--health-addr H:P|off] [--fake-alpaca INTERVAL]\n"+
			"Kafka credentials come from the environment only: KAFKA_AUTH=scram, KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_TLS.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feed ingest: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok && *v != "" {
			return *v
		}
		return os.Getenv(k)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *fake > 0 {
		srv, err := fakealpaca.New("local", "local")
		if err != nil {
			fmt.Fprintf(stderr, "feed ingest: %v\n", err)
			return exitFailure
		}
		defer srv.Close()
		overrides := map[string]string{"ALPACA_STREAM_URL": srv.StreamURL, "ALPACA_DATA_URL": srv.DataURL, "ALPACA_API_URL": srv.APIURL,
			"ALPACA_API_KEY": "local", "ALPACA_API_SECRET": "local", "ALPACA_SECRET_ARN": "", "ALPACA_FEED": alpaca.FeedIEX}
		inner := getenv
		getenv = func(k string) string {
			if v, ok := overrides[k]; ok {
				return v
			}
			return inner(k)
		}
		symbols := alpacaSymbols(getenv("SYMBOLS"))
		if len(symbols) == 0 || symbols[0] == alpaca.AllSymbols {
			fmt.Fprintln(stderr, "feed ingest: --fake-alpaca needs explicit --symbols")
			return exitUsage
		}
		go publishSynthetic(ctx, srv, symbols, *fake, log)
		log.Info("fake alpaca", "stream", srv.StreamURL, "rest", srv.DataURL, "every", *fake)
	}
	cfg, err := ingest.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "feed ingest: invalid configuration:\n%v\n", err)
		return exitUsage
	}
	svc, err := ingest.New(ctx, cfg, log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "feed ingest: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "ingesting %s into %s on %s (health %s); ^C to stop\n",
		strings.Join(cfg.Alpaca.Symbols, ","), cfg.RawTopic, strings.Join(cfg.Kafka.Brokers, ","), svc.HealthAddr())
	if err := svc.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "feed ingest: %v\n", err)
		return exitFailure
	}
	m := svc.Metrics()
	fmt.Fprintf(stdout, "stopped: %d bars in, %d updated, %d produced, %d backfilled, %d reconnects\n",
		m.BarsIn.Load(), m.UpdatedBarsIn.Load(), m.Produced.Load(), m.Backfilled.Load(), m.Reconnects.Load())
	return exitOK
}

func alpacaSymbols(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// publishSynthetic sends one bar per symbol every interval, each interval a new minute starting at the current
// one: a gentle random walk around 100.
func publishSynthetic(ctx context.Context, srv *fakealpaca.Server, symbols []string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now().UTC().Truncate(time.Minute)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ts := start.Add(time.Duration(i) * time.Minute)
		bars := make([]bar.Raw, 0, len(symbols))
		for j, s := range symbols {
			c := cents(100 + float64(j*10) + 5*math.Sin(float64(i)/10+float64(j)))
			bars = append(bars, alpaca.Raw(s, cents(c-0.05), cents(c+0.1), cents(c-0.1), c, float64(100+i%50), 10, c, ts))
		}
		if err := srv.Publish(ctx, bars...); err != nil && ctx.Err() == nil {
			log.Warn("fake alpaca publish", "err", err)
		}
	}
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }
