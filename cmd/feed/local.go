package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/dev/localstack"
	"github.com/finfeed/finfeed/shared/topics"
)

func init() {
	register("local", "the whole pipeline on this machine: embedded Kafka, enrich function, synthetic or replayed bars", runLocal)
}

// Defaults of `feed local`.
const (
	defaultCustomerUser     = "customer"
	defaultCustomerPassword = "customer-secret"
	defaultSpeed            = 60
)

// localOptions are the flags of `feed local`.
type localOptions struct {
	replay           string
	prevCloses       string
	prevClosesTable  string
	kafkaAddr        string
	advertise        string
	servicePassword  string
	operatorPassword string
	customerUser     string
	customerPassword string
	speed            float64
	dataDir          string
	noAuth           bool
	opensearchURL    string
	batchSize        int
	batchWindow      time.Duration
	httpAddr         string // the chart's address; "" turns it off
	httpSet          bool   // --http was given: its address must be free

	// getenv is the deployment's settings the functions load (THRESHOLD_PCT, OPENSEARCH_*, INDEX_*); nil: none.
	getenv func(string) string
	// wrapHandler, when set, wraps the enrich handler (tests inject faults with it).
	wrapHandler func(esm.Handler) esm.Handler
}

func runLocal(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := localOptions{getenv: os.Getenv}
	fs.StringVar(&o.replay, "replay", "", "raw bars to replay (JSON lines, the raw topic's format) instead of the synthetic session")
	fs.StringVar(&o.prevCloses, "prev-closes", "", "previous closes CSV (symbol,date,close); default: the synthetic session's")
	fs.StringVar(&o.prevClosesTable, "prev-closes-table", "", "previous closes from this DynamoDB table instead, as the Lambda reads them (AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION; load it with feed prevclose)")
	fs.StringVar(&o.kafkaAddr, "listen", broker.DefaultAddr, "HOST:PORT the embedded Kafka listens on (port 0 picks a free one); 0.0.0.0:9092 with --advertise lets containers in (sam local invoke)")
	fs.StringVar(&o.kafkaAddr, "kafka-addr", broker.DefaultAddr, "the same as --listen")
	fs.StringVar(&o.advertise, "advertise", "", "host the embedded Kafka tells clients to connect to, e.g. host.docker.internal (default: --listen's host)")
	fs.StringVar(&o.servicePassword, "service-password", "", "password of the service principal "+broker.DefaultServiceUser+" (the functions' login, as in events/*.env.json); default generated")
	fs.StringVar(&o.operatorPassword, "operator-password", "", "password of the operator principal "+broker.OperatorUser+" (every right, as an IAM login on MSK; events/provision.env.json); default generated")
	fs.StringVar(&o.customerUser, "customer-user", defaultCustomerUser, "customer principal (may only read the enhanced topic)")
	fs.StringVar(&o.customerPassword, "customer-password", defaultCustomerPassword, "customer password")
	fs.Float64Var(&o.speed, "speed", defaultSpeed, "replay speed against bar timestamps: 1 real time, 60 a market minute per second, 0 as fast as possible;\n"+
		"a pause of more than 5 bar intervals (5 minutes of bar time: overnight, weekends) is cut to 5, so a multi-day file plays its sessions back to back")
	fs.StringVar(&o.dataDir, "data-dir", "", "keep the broker's records, committed offsets and the indicator state in DIR across restarts")
	fs.BoolVar(&o.noAuth, "no-auth", false, "no SASL and no ACLs, so any Kafka tool (kcat) can attach")
	fs.StringVar(&o.opensearchURL, "opensearch-url", "", "also run the index function on enhanced into this OpenSearch (OPENSEARCH_AUTH, INDEX_* etc. from the environment as for the Lambda; default auth none)")
	fs.IntVar(&o.batchSize, "batch-size", esm.DefaultBatchSize, "event-source mapping: most records per invocation")
	fs.DurationVar(&o.batchWindow, "batch-window", esm.DefaultBatchWindow, "event-source mapping: batching window")
	fs.StringVar(&o.httpAddr, "http", defaultHTTPAddr, "serve the live chart on this address (\"\" turns it off; a taken default moves to a free port)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed local [--replay FILE] [--prev-closes FILE | --prev-closes-table NAME] [--listen HOST:PORT] [--advertise HOST]\n"+
			"                  [--service-password P] [--operator-password P] [--customer-user U] [--customer-password P]\n"+
			"                  [--speed X] [--data-dir DIR] [--no-auth] [--opensearch-url URL] [--http ADDR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) { o.httpSet = o.httpSet || f.Name == "http" })
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feed local: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "feed local: %v\n", err)
		return exitUsage
	}
	if err := serveLocal(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "feed local: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func (o localOptions) validate() error {
	var errs []error
	if math.IsNaN(o.speed) || math.IsInf(o.speed, 0) || o.speed < 0 {
		errs = append(errs, fmt.Errorf("--speed: must be 0 or a positive number, got %v", o.speed))
	}
	if o.prevCloses != "" && o.prevClosesTable != "" {
		errs = append(errs, errors.New("--prev-closes and --prev-closes-table: set one, not both"))
	}
	if host, _, err := net.SplitHostPort(o.kafkaAddr); o.noAuth && err == nil && !loopback(host) {
		errs = append(errs, fmt.Errorf("--no-auth: only on a loopback --listen address, got %q (anyone who reaches it could write raw)", o.kafkaAddr))
	}
	if !o.noAuth && (o.customerUser == "" || o.customerPassword == "") {
		errs = append(errs, errors.New("--customer-user and --customer-password must not be empty"))
	}
	return errors.Join(errs...)
}

func serveLocal(ctx context.Context, o localOptions, stdout, stderr io.Writer) error {
	d := newDisplay(stdout, stderr)
	log := slog.New(slog.NewTextHandler(d, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, err := loadSource(o)
	if err != nil {
		return err
	}
	stats := &localStats{start: time.Now(), indexing: o.opensearchURL != ""}
	cfg := localstack.Config{
		Broker: broker.Config{
			Addr: o.kafkaAddr, Advertise: o.advertise, DataDir: o.dataDir, NoAuth: o.noAuth,
			Service:          broker.Credentials{Password: o.servicePassword},
			Customer:         broker.Credentials{User: o.customerUser, Password: o.customerPassword},
			OperatorPassword: o.operatorPassword,
		},
		Getenv:         o.getenv,
		PrevCloseTable: o.prevClosesTable,
		PrevClosesFile: o.prevCloses,
		OpenSearchURL:  o.opensearchURL,
		StateDir:       stateDir(o.dataDir),
		BatchSize:      o.batchSize,
		BatchWindow:    o.batchWindow,
		Wrap:           o.wrapHandler,
		Observe:        localstack.Observer{Enriched: stats.add, Enhanced: stats.seen, Indexed: stats.indexed},
	}
	if cfg.PrevCloseTable == "" && cfg.PrevClosesFile == "" {
		// the synthetic session's closes, in the file form the enrich function reads
		dir, err := os.MkdirTemp("", "finfeed-local-")
		if err != nil {
			return fmt.Errorf("previous closes: %w", err)
		}
		defer os.RemoveAll(dir)
		if cfg.PrevClosesFile, err = localstack.WriteClosesFile(dir, src.closes); err != nil {
			return err
		}
	}
	s, err := localstack.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		s.Close()
		d.Printf("stopped: %s", stats.line(s.EnrichStats()))
	}()
	writer, err := s.Client(ctx, kgo.ClientID("finfeed-source"), kgo.DefaultProduceTopic(topics.Raw))
	if err != nil {
		return err
	}
	records := src.records
	if src.synthetic && o.dataDir != "" {
		// the synthetic session is deterministic: continue it with the bars an earlier run did not write
		if records, err = unwritten(ctx, writer, s.Broker().ServiceKafka(), src.records, s.Broker().DialOpts()...); err != nil {
			return err
		}
	}
	skip := len(src.records) - len(records)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	chart, err := startChart(runCtx, s, o, log)
	if err != nil {
		return err
	}
	defer chart.close()
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(runCtx) })
	printConnect(d, s, o, src, skip, chart)
	wg.Go(func() {
		n, err := writeRaw(runCtx, writer, records, newPacer(o.speed), stats.produced)
		switch {
		case err != nil && runCtx.Err() == nil:
			log.Error("source stopped", "err", err)
		case err == nil:
			d.Printf("source: %s done, %d records written to raw; still serving (Ctrl-C to stop)", src.name, n)
		}
	})
	stats.status(runCtx, d, s.EnrichStats)
	stop()
	wg.Wait()
	return nil
}

func printConnect(d *display, s *localstack.Stack, o localOptions, src source, skip int, chart *chartServer) {
	b := s.Broker()
	addr := b.Addr()
	auth := "SASL/SCRAM-SHA-512 with ACLs"
	if b.NoAuth() {
		auth = "no auth (--no-auth)"
	}
	var w strings.Builder
	fmt.Fprintf(&w, "finfeed local: embedded Kafka on %s, %s; topics %s, %d partitions each\n",
		addr, auth, strings.Join(topics.All(), ", "), b.Partitions())
	if o.advertise != "" {
		fmt.Fprintf(&w, "  listening on %s, advertised as %s: clients must resolve %s to this machine (containers: --add-host %s:host-gateway)\n",
			o.kafkaAddr, addr, o.advertise, o.advertise)
	}
	if o.dataDir != "" {
		fmt.Fprintf(&w, "  data dir %s: records, committed offsets and indicator state survive a restart\n", o.dataDir)
	}
	pace := "as fast as possible"
	if o.speed > 0 {
		pace = fmt.Sprintf("at %gx real time", o.speed)
	}
	fmt.Fprintf(&w, "  source: %s, %d records to raw %s", src.name, len(src.records)-skip, pace)
	if skip > 0 {
		fmt.Fprintf(&w, " (continuing after the %d an earlier run wrote)", skip)
	}
	ec := s.Enrich()
	fmt.Fprintf(&w, "\n  enrich: the Lambda's handler on raw through a local event-source mapping (group %s, threshold %g%%)\n", topics.EnrichGroup, ec.Threshold)
	if o.prevClosesTable != "" {
		fmt.Fprintf(&w, "  previous closes: DynamoDB table %s, read as the Lambda reads it (endpoint %s)\n", o.prevClosesTable, orAWS(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")))
	}
	if ic := s.Index(); ic != nil {
		fmt.Fprintf(&w, "  index: the Lambda's handler on enhanced into %s (group %s, dead letters to %s)\n", ic.Search.URL, topics.IndexGroup, ic.DLQTopic)
		fmt.Fprintf(&w, "  index: and on %s into the %s alias (group %s)\n", ic.CandlesTopic, ic.Search.Candles().Alias, topics.IndexCandlesGroup)
	}
	if chart.url != "" {
		fmt.Fprintf(&w, "  chart: %s%s, the feed as the customer principal reads it\n", chart.url, chart.note)
	}
	w.WriteString("\n")
	if b.NoAuth() {
		fmt.Fprintf(&w, "read the enriched feed:\n  go run ./cmd/feed consume --brokers %s --topic enhanced --from-beginning\n", addr)
		fmt.Fprintf(&w, "  go run ./cmd/feed consume --brokers %s --topic %s --from-beginning --format tsv\n", addr, topics.Candles)
		fmt.Fprintf(&w, "  kcat -b %s -C -t enhanced -o beginning -f '%%k %%s\\n'\n", addr)
		fmt.Fprintf(&w, "write raw bars (the ingester): KAFKA_BROKERS=%s KAFKA_AUTH=none\n", addr)
	} else {
		c, svc := b.Customer(), b.Service()
		fmt.Fprintf(&w, "read the enriched feed as the customer principal %q (it may read only %s and %s):\n", c.User, topics.Enhanced, topics.Candles)
		fmt.Fprintf(&w, "  go run ./cmd/feed consume --brokers %s --topic %s --user %s --password %s --from-beginning\n", addr, topics.Enhanced, c.User, c.Password)
		fmt.Fprintf(&w, "  go run ./cmd/feed consume --brokers %s --topic %s --user %s --password %s --from-beginning --format tsv\n", addr, topics.Candles, c.User, c.Password)
		fmt.Fprintf(&w, "write raw bars as the service principal (the ingester):\n")
		fmt.Fprintf(&w, "  KAFKA_BROKERS=%s KAFKA_AUTH=scram KAFKA_TLS=false KAFKA_USERNAME=%s KAFKA_PASSWORD=%s\n", addr, svc.User, svc.Password)
		// the service has the pipeline's rights only, as on MSK: reading the dead letters is an operator's job
		op := b.OperatorKafka()
		fmt.Fprintf(&w, "read the dead letters (%s, %s) as the operator principal (every right, as an IAM login on MSK):\n", topics.RawDLQ, topics.EnhancedDLQ)
		fmt.Fprintf(&w, "  KAFKA_BROKERS=%s KAFKA_AUTH=scram KAFKA_TLS=false KAFKA_USERNAME=%s KAFKA_PASSWORD=%s\n", addr, op.Username, op.Password)
	}
	d.Printf("%s", strings.TrimRight(w.String(), "\n"))
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// orAWS names an empty endpoint override: the SDK's default (AWS itself).
func orAWS(endpoint string) string {
	if endpoint == "" {
		return "AWS"
	}
	return endpoint
}

// stateDir is where the enrich function checkpoints its indicator state under --data-dir (beside the broker's
// own files), so a restart continues the indicators; without --data-dir the state lives in memory.
func stateDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "enrich-state")
}
