package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/esm"
	"github.com/finfeed/finfeed/shared/dev/synth"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/indexfn"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func init() {
	register("local", "the whole pipeline on this machine: embedded Kafka, enrich function, synthetic or replayed bars", runLocal)
}

// Defaults of `feed local`.
const (
	defaultCustomerUser     = "customer"
	defaultCustomerPassword = "customer-secret"
	defaultSpeed            = 60
	enrichGroup             = "finfeed-enrich"
	indexGroup              = "finfeed-index"
	statusEveryTTY          = time.Second
	statusEveryLog          = 5 * time.Second
)

// localOptions are the flags of `feed local`.
type localOptions struct {
	replay           string
	prevCloses       string
	prevClosesTable  string
	kafkaAddr        string
	customerUser     string
	customerPassword string
	speed            float64
	dataDir          string
	noAuth           bool
	opensearchURL    string
	batchSize        int
	batchWindow      time.Duration

	// wrapHandler, when set, wraps the enrich handler (tests inject faults with it).
	wrapHandler func(esm.Handler) esm.Handler
}

func runLocal(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o localOptions
	fs.StringVar(&o.replay, "replay", "", "raw bars to replay (JSON lines, the raw topic's format) instead of the synthetic session")
	fs.StringVar(&o.prevCloses, "prev-closes", "", "previous closes CSV (symbol,date,close); default: the synthetic session's")
	fs.StringVar(&o.prevClosesTable, "prev-closes-table", "", "previous closes from this DynamoDB table instead, as the Lambda reads them (AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION; load it with feed prevclose)")
	fs.StringVar(&o.kafkaAddr, "kafka-addr", broker.DefaultAddr, "address of the embedded Kafka (127.0.0.1 only; port 0 picks a free one)")
	fs.StringVar(&o.customerUser, "customer-user", defaultCustomerUser, "customer principal (may only read the enhanced topic)")
	fs.StringVar(&o.customerPassword, "customer-password", defaultCustomerPassword, "customer password")
	fs.Float64Var(&o.speed, "speed", defaultSpeed, "replay speed against bar timestamps: 1 real time, 60 a market minute per second, 0 as fast as possible")
	fs.StringVar(&o.dataDir, "data-dir", "", "keep the broker's records and committed offsets in DIR across restarts")
	fs.BoolVar(&o.noAuth, "no-auth", false, "no SASL and no ACLs, so any Kafka tool (kcat) can attach")
	fs.StringVar(&o.opensearchURL, "opensearch-url", "", "also run the index function on enhanced into this OpenSearch (OPENSEARCH_AUTH etc. from the environment; default auth none)")
	fs.IntVar(&o.batchSize, "batch-size", esm.DefaultBatchSize, "event-source mapping: most records per invocation")
	fs.DurationVar(&o.batchWindow, "batch-window", esm.DefaultBatchWindow, "event-source mapping: batching window")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed local [--replay FILE] [--prev-closes FILE | --prev-closes-table NAME] [--kafka-addr HOST:PORT] [--customer-user U]\n"+
			"                  [--customer-password P] [--speed X] [--data-dir DIR] [--no-auth] [--opensearch-url URL]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
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
	if !o.noAuth && (o.customerUser == "" || o.customerPassword == "") {
		errs = append(errs, errors.New("--customer-user and --customer-password must not be empty"))
	}
	return errors.Join(errs...)
}

// sourceRecord is one record the source writes to raw.
type sourceRecord struct {
	key, value []byte
	at         time.Time // bar time; zero when the record does not decode (it still goes to raw, and on to raw.dlq)
}

// source is what feed local writes to raw.
type source struct {
	name      string
	records   []sourceRecord
	synthetic bool
}

// localStack is the running pipeline.
type localStack struct {
	broker   *broker.Broker
	producer *kgo.Client // the enrich handler's, as the Lambda's
	writer   *kgo.Client // the source's, as the ingester's
	mapping  *esm.Mapping
	indexer  *indexfn.Function // nil without --opensearch-url
	indexMap *esm.Mapping
	stats    *localStats
}

func serveLocal(ctx context.Context, o localOptions, stdout, stderr io.Writer) error {
	d := newDisplay(stdout, stderr)
	log := slog.New(slog.NewTextHandler(d, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, closes, err := loadSource(o)
	if err != nil {
		return err
	}
	var store enrich.PrevCloses
	if o.prevClosesTable != "" {
		t, err := openPrevCloseTable(ctx, o.prevClosesTable, 0)
		if err != nil {
			return err
		}
		store = t.cache(nil)
	} else if store, err = prevclose.NewMemory(closes...); err != nil {
		return fmt.Errorf("previous closes: %w", err)
	}
	s, err := startStack(ctx, o, store, log)
	if err != nil {
		return err
	}
	records := src.records
	if src.synthetic && o.dataDir != "" {
		// the synthetic session is deterministic: continue it with the bars an earlier run did not write
		if records, err = s.unwritten(ctx, src.records); err != nil {
			s.close(log)
			return err
		}
	}
	skip := len(src.records) - len(records)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, m := range []*esm.Mapping{s.mapping, s.indexMap} {
		if m == nil {
			continue
		}
		wg.Go(func() {
			if err := m.Run(runCtx); err != nil {
				log.Error("event-source mapping stopped", "err", err)
			}
		})
	}
	printConnect(d, s, o, src, skip)
	wg.Go(func() {
		n, err := s.replay(runCtx, records, o.speed)
		switch {
		case err != nil && runCtx.Err() == nil:
			log.Error("source stopped", "err", err)
		case err == nil:
			d.Printf("source: %s done, %d records written to raw; still serving (Ctrl-C to stop)", src.name, n)
		}
	})
	s.status(runCtx, d)
	stop()
	wg.Wait()
	s.close(log)
	d.Printf("stopped: %s", s.stats.line(s.mapping.Stats()))
	return nil
}

func loadSource(o localOptions) (source, []prevclose.Close, error) {
	session := synth.Default()
	closes := session.Closes
	if o.prevCloses != "" {
		f, err := os.Open(o.prevCloses)
		if err != nil {
			return source{}, nil, fmt.Errorf("--prev-closes: %w", err)
		}
		defer f.Close()
		if closes, err = prevclose.ReadCSV(f); err != nil {
			return source{}, nil, fmt.Errorf("--prev-closes %s: %w", o.prevCloses, err)
		}
	}
	if o.replay != "" {
		recs, err := readReplay(o.replay)
		if err != nil {
			return source{}, nil, err
		}
		return source{name: "replay of " + o.replay, records: recs}, closes, nil
	}
	src := source{name: fmt.Sprintf("synthetic session %s (%d symbols)", session.Date, len(synth.DefaultSymbols)), synthetic: true}
	for i := range session.Bars {
		b := &session.Bars[i]
		src.records = append(src.records, sourceRecord{key: []byte(b.Symbol), value: bar.AppendRaw(nil, b), at: b.Time})
	}
	return src, closes, nil
}

// readReplay reads raw-bar JSON lines. Every non-blank line is replayed as is, invalid ones too: the enrich
// function sends those to raw.dlq. The key is the symbol whenever one can be found.
func readReplay(path string) ([]sourceRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--replay: %w", err)
	}
	defer f.Close()
	var recs []sourceRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r := sourceRecord{value: bytes.Clone(line)}
		if raw, err := bar.DecodeRaw(line); err == nil {
			r.key, r.at = []byte(raw.Symbol), raw.Time
		} else {
			var v struct {
				Symbol string `json:"symbol"`
			}
			if json.Unmarshal(line, &v) == nil && bar.ValidateSymbol(v.Symbol) == nil {
				r.key = []byte(v.Symbol)
			}
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--replay %s: %w", path, err)
	}
	return recs, nil
}

func startStack(ctx context.Context, o localOptions, store enrich.PrevCloses, log *slog.Logger) (*localStack, error) {
	b, err := broker.Start(ctx, broker.Config{
		Addr: o.kafkaAddr, DataDir: o.dataDir, NoAuth: o.noAuth,
		Customer: broker.Credentials{User: o.customerUser, Password: o.customerPassword},
	})
	if err != nil {
		return nil, err
	}
	s := &localStack{broker: b, stats: &localStats{start: time.Now()}}
	if s.producer, err = kafka.NewClient(ctx, b.ServiceKafka(), kafka.Deps{}, kgo.ClientID("finfeed-enrich")); err != nil {
		s.close(log)
		return nil, err
	}
	if s.writer, err = kafka.NewClient(ctx, b.ServiceKafka(), kafka.Deps{}, kgo.ClientID("finfeed-source"), kgo.DefaultProduceTopic(broker.TopicRaw)); err != nil {
		s.close(log)
		return nil, err
	}
	e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: store}
	h := enrichfn.NewHandler(e, &watchedProducer{Producer: s.producer, stats: s.stats}, broker.TopicEnhanced, broker.TopicRawDLQ, log)
	var handle esm.Handler = func(ctx context.Context, ev events.KafkaEvent) error {
		c, err := h.Handle(ctx, ev)
		if err != nil {
			return err
		}
		s.stats.add(c)
		return nil
	}
	if o.wrapHandler != nil {
		handle = o.wrapHandler(handle)
	}
	s.mapping, err = esm.New(ctx, b.ServiceKafka(), esm.Config{
		Topic: broker.TopicRaw, Group: enrichGroup, BatchSize: o.batchSize, BatchWindow: o.batchWindow,
	}, handle, log, kgo.ClientID("finfeed-enrich-esm"))
	if err != nil {
		s.close(log)
		return nil, err
	}
	if o.opensearchURL != "" {
		if err := s.startIndexer(ctx, o, log); err != nil {
			s.close(log)
			return nil, err
		}
	}
	return s, nil
}

// startIndexer runs the index function (the Lambda's code, configured as the Lambda is: from its environment)
// on enhanced through a second mapping.
func (s *localStack) startIndexer(ctx context.Context, o localOptions, log *slog.Logger) error {
	kc := s.broker.ServiceKafka()
	env := map[string]string{
		"OPENSEARCH_URL":  o.opensearchURL,
		"OPENSEARCH_AUTH": "none",
		"KAFKA_BROKERS":   strings.Join(kc.Brokers, ","),
		"KAFKA_AUTH":      string(kc.Auth),
		"KAFKA_TLS":       "false",
		"KAFKA_USERNAME":  kc.Username,
		"KAFKA_PASSWORD":  kc.Password,
		"DLQ_TOPIC":       broker.TopicEnhancedDLQ,
	}
	getenv := func(k string) string {
		// OpenSearch settings other than the URL may come from the environment (auth, index names)
		if (strings.HasPrefix(k, "OPENSEARCH_") || strings.HasPrefix(k, "INDEX_")) && k != "OPENSEARCH_URL" {
			if v, ok := os.LookupEnv(k); ok {
				return v
			}
		}
		return env[k]
	}
	cfg, err := indexfn.Load(getenv)
	if err != nil {
		return fmt.Errorf("--opensearch-url: %w", err)
	}
	if s.indexer, err = indexfn.New(ctx, cfg, log); err != nil {
		return fmt.Errorf("index function: %w", err)
	}
	s.stats.indexing = true
	s.indexMap, err = esm.New(ctx, kc, esm.Config{Topic: broker.TopicEnhanced, Group: indexGroup, BatchSize: o.batchSize, BatchWindow: o.batchWindow},
		func(ctx context.Context, ev events.KafkaEvent) error {
			c, err := s.indexer.Handle(ctx, ev)
			if err != nil {
				return err
			}
			s.stats.indexed(c.Indexed, c.DLQ)
			return nil
		}, log, kgo.ClientID("finfeed-index-esm"))
	return err
}

// readRawTimeout bounds reading raw at start to find what an earlier run wrote.
const readRawTimeout = 60 * time.Second

// unwritten returns, in order, the records of recs that raw does not hold yet (an earlier run's, with a data
// dir). It reads raw to its end rather than counting its records: raw also holds what other producers (the
// ingester) wrote, and a run stopped mid-session may have had a later record acknowledged on one partition
// while an earlier one on another partition was not.
func (s *localStack) unwritten(ctx context.Context, recs []sourceRecord) ([]sourceRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, readRawTimeout)
	defer cancel()
	ends, err := kadm.NewClient(s.writer).ListEndOffsets(ctx, broker.TopicRaw)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list raw end offsets: %w", err)
	}
	end := map[int32]int64{} // partitions still to read, and their end offsets
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			end[o.Partition] = o.Offset
			from[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	have := make(map[string]bool, len(recs))
	for _, r := range recs {
		have[string(r.value)] = false
	}
	if len(end) > 0 {
		cl, err := kafka.NewClient(ctx, s.broker.ServiceKafka(), kafka.Deps{}, kgo.ClientID("finfeed-source-resume"),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{broker.TopicRaw: from}))
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		for len(end) > 0 {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read raw: %w", err)
			}
			if errs := fs.Errors(); len(errs) > 0 {
				return nil, fmt.Errorf("read raw partition %d: %w", errs[0].Partition, errs[0].Err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if _, ok := have[string(r.Value)]; ok {
					have[string(r.Value)] = true
				}
				if r.Offset+1 >= end[r.Partition] {
					delete(end, r.Partition)
				}
			})
		}
	}
	var out []sourceRecord
	for _, r := range recs {
		if !have[string(r.value)] {
			out = append(out, r)
		}
	}
	return out, nil
}

// replay writes recs to raw, paced by their bar times divided by speed (0: no pacing), and waits until every
// record is acknowledged.
func (s *localStack) replay(ctx context.Context, recs []sourceRecord, speed float64) (int, error) {
	var (
		mu       sync.Mutex
		firstErr error
	)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("write to raw: %w", err)
			}
			mu.Unlock()
			return
		}
		s.stats.produced()
	}
	start := time.Now()
	var first time.Time
	for _, r := range recs {
		if speed > 0 && !r.at.IsZero() {
			if first.IsZero() {
				first = r.at
			}
			due := start.Add(time.Duration(float64(r.at.Sub(first)) / speed))
			if wait := time.Until(due); wait > 0 && !sleepCtx(ctx, wait) {
				return 0, ctx.Err()
			}
		}
		s.writer.Produce(ctx, &kgo.Record{Key: r.key, Value: r.value}, promise)
	}
	if err := s.writer.Flush(ctx); err != nil {
		return 0, fmt.Errorf("flush raw: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return len(recs), firstErr
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// close stops the stack: the mapping has returned (its last batch committed); flush the producers, then the
// broker writes its state when it has a data dir. Every step is bounded, so feed local always exits.
func (s *localStack) close(log *slog.Logger) {
	for _, m := range []*esm.Mapping{s.mapping, s.indexMap} {
		if m != nil {
			m.Close() // already done when it ran
		}
	}
	if s.indexer != nil {
		bounded(log, "close the index function", s.indexer.Close)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cl := range []*kgo.Client{s.producer, s.writer} {
		if cl == nil {
			continue
		}
		if err := cl.Flush(ctx); err != nil {
			log.Error("flush on shutdown", "err", err)
		}
		bounded(log, "close a kafka client", cl.Close)
	}
	bounded(log, "stop the broker", s.broker.Close)
}

// shutdownStepTimeout bounds each step of closing the stack that has no context of its own.
const shutdownStepTimeout = 15 * time.Second

// bounded runs one shutdown step, waiting for it at most shutdownStepTimeout; a step that takes longer is logged
// and left behind.
func bounded(log *slog.Logger, step string, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	t := time.NewTimer(shutdownStepTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Error("shutdown step did not finish in time; leaving it behind", "step", step, "timeout", shutdownStepTimeout)
	}
}

func printConnect(d *display, s *localStack, o localOptions, src source, skip int) {
	b := s.broker
	addr := b.Addr()
	auth := "SASL/SCRAM-SHA-512 with ACLs"
	if b.NoAuth() {
		auth = "no auth (--no-auth)"
	}
	var w strings.Builder
	fmt.Fprintf(&w, "finfeed local: embedded Kafka on %s, %s; topics %s, %d partitions each\n",
		addr, auth, strings.Join(broker.Topics, ", "), b.Partitions())
	if o.dataDir != "" {
		fmt.Fprintf(&w, "  data dir %s: records and committed offsets survive a restart\n", o.dataDir)
	}
	pace := "as fast as possible"
	if o.speed > 0 {
		pace = fmt.Sprintf("at %gx real time", o.speed)
	}
	fmt.Fprintf(&w, "  source: %s, %d records to raw %s", src.name, len(src.records)-skip, pace)
	if skip > 0 {
		fmt.Fprintf(&w, " (continuing after the %d an earlier run wrote)", skip)
	}
	fmt.Fprintf(&w, "\n  enrich: the Lambda's handler on raw through a local event-source mapping (group %s)\n", enrichGroup)
	if o.prevClosesTable != "" {
		fmt.Fprintf(&w, "  previous closes: DynamoDB table %s, read as the Lambda reads it (endpoint %s)\n", o.prevClosesTable, orAWS(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")))
	}
	if o.opensearchURL != "" {
		fmt.Fprintf(&w, "  index: the Lambda's handler on enhanced into %s (group %s, dead letters to %s)\n", o.opensearchURL, indexGroup, broker.TopicEnhancedDLQ)
	}
	w.WriteString("\n")
	if b.NoAuth() {
		fmt.Fprintf(&w, "read the enriched feed:\n  go run ./cmd/feed consume --brokers %s --topic enhanced --from-beginning\n", addr)
		fmt.Fprintf(&w, "  kcat -b %s -C -t enhanced -o beginning -f '%%k %%s\\n'\n", addr)
		fmt.Fprintf(&w, "write raw bars (the ingester): KAFKA_BROKERS=%s KAFKA_AUTH=none\n", addr)
	} else {
		c, svc := b.Customer(), b.Service()
		fmt.Fprintf(&w, "read the enriched feed as the customer principal %q (it may read only enhanced):\n", c.User)
		fmt.Fprintf(&w, "  go run ./cmd/feed consume --brokers %s --topic enhanced --user %s --password %s --from-beginning\n", addr, c.User, c.Password)
		fmt.Fprintf(&w, "write raw bars as the service principal (the ingester):\n")
		fmt.Fprintf(&w, "  KAFKA_BROKERS=%s KAFKA_AUTH=scram KAFKA_TLS=false KAFKA_USERNAME=%s KAFKA_PASSWORD=%s\n", addr, svc.User, svc.Password)
	}
	d.Printf("%s", strings.TrimRight(w.String(), "\n"))
}

// orAWS names an empty endpoint override: the SDK's default (AWS itself).
func orAWS(endpoint string) string {
	if endpoint == "" {
		return "AWS"
	}
	return endpoint
}

// localStats are the live counters of the stack.
type localStats struct {
	start time.Time

	mu       sync.Mutex
	written  int64                    // records the source wrote to raw
	indexing bool                     // set before the stack runs
	index    [2]int64                 // documents indexed, records dead-lettered by the index function
	counts   enrichfn.Counts          // what the enrich handler's successful batches became
	latest   map[bar.Indicator][]byte // the latest enhanced record of each indicator
	firstOut []bar.Indicator          // indicators in the order they first appeared, not yet reported
}

func (st *localStats) produced() {
	st.mu.Lock()
	st.written++
	st.mu.Unlock()
}

func (st *localStats) indexed(docs, dlq int) {
	st.mu.Lock()
	st.index[0] += int64(docs)
	st.index[1] += int64(dlq)
	st.mu.Unlock()
}

func (st *localStats) add(c enrichfn.Counts) {
	st.mu.Lock()
	st.counts.Add(c)
	st.mu.Unlock()
}

// seen notes an enhanced record the broker acknowledged.
func (st *localStats) seen(value []byte) {
	e, err := bar.DecodeEnriched(value)
	if err != nil {
		return // only for display: the handler wrote it, so it decodes
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.latest == nil {
		st.latest = make(map[bar.Indicator][]byte)
	}
	if _, ok := st.latest[e.Indicator]; !ok {
		st.firstOut = append(st.firstOut, e.Indicator)
	}
	st.latest[e.Indicator] = bytes.Clone(value)
}

var indicators = []bar.Indicator{bar.Bullish, bar.Bearish, bar.Neutral, bar.Unknown}

func (st *localStats) line(ms esm.Stats) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.counts
	idx := ""
	if st.indexing {
		idx = fmt.Sprintf(" | indexed %d, enhanced.dlq %d", st.index[0], st.index[1])
	}
	return fmt.Sprintf("up %s | raw written %d, read %d | enhanced %d | raw.dlq %d | Bullish %d Bearish %d Neutral %d Unknown %d | lag %d | retries %d%s",
		time.Since(st.start).Round(time.Second), st.written, c.Records, c.Enhanced, c.DLQ,
		c.Bullish, c.Bearish, c.Neutral, c.Unknown, ms.Lag, ms.Retries, idx)
}

// block is the live view on a terminal: the status line, then the latest enriched bar of each indicator.
func (st *localStats) block(ms esm.Stats) []string {
	lines := []string{"finfeed local | " + st.line(ms)}
	st.mu.Lock()
	defer st.mu.Unlock()
	counts := map[bar.Indicator]int{bar.Bullish: st.counts.Bullish, bar.Bearish: st.counts.Bearish, bar.Neutral: st.counts.Neutral, bar.Unknown: st.counts.Unknown}
	for _, ind := range indicators {
		l := fmt.Sprintf("  %-8s %7d", ind, counts[ind])
		if v, ok := st.latest[ind]; ok {
			if e, err := bar.DecodeEnriched(v); err == nil {
				l += fmt.Sprintf("   latest %-6s %s  close %10.2f", e.Symbol, e.Time.Format(bar.TimestampLayout), e.Close)
				if e.HasPrev {
					l += fmt.Sprintf("  %+7.2f%% vs %.2f", e.Change, e.PrevClose)
				} else {
					l += "  no previous close"
				}
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// newFirsts returns the indicators seen since the last call with their latest record.
func (st *localStats) newFirsts() [][2]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out [][2]string
	for _, ind := range st.firstOut {
		out = append(out, [2]string{string(ind), string(st.latest[ind])})
	}
	st.firstOut = st.firstOut[:0]
	return out
}

// status shows progress until ctx is done: a live block on a terminal, a log line every few seconds otherwise.
func (s *localStack) status(ctx context.Context, d *display) {
	every := statusEveryLog
	if d.tty {
		every = statusEveryTTY
	}
	fast := time.NewTicker(200 * time.Millisecond) // first bars of each indicator show promptly
	defer fast.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			d.Block(nil)
			return
		case <-fast.C:
			if d.tty {
				continue
			}
			for _, f := range s.stats.newFirsts() {
				d.Printf("%s bars on enhanced, latest: %s", f[0], f[1])
			}
		case <-tick.C:
			if d.tty {
				s.stats.newFirsts()
				d.Block(s.stats.block(s.mapping.Stats()))
			} else {
				d.Printf("status: %s", s.stats.line(s.mapping.Stats()))
			}
		}
	}
}

// watchedProducer is the enrich handler's producer, noting each enhanced record the broker acknowledged.
type watchedProducer struct {
	enrichfn.Producer
	stats *localStats
}

func (p *watchedProducer) Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	p.Producer.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err == nil && r.Topic == broker.TopicEnhanced {
			p.stats.seen(r.Value)
		}
		promise(r, err)
	})
}

// display writes to the console: permanent lines, and on a terminal a live block redrawn in place.
type display struct {
	mu     sync.Mutex
	out    io.Writer // status and connect lines
	logOut io.Writer // log records
	tty    bool
	shown  int // lines of the live block on screen
}

func newDisplay(stdout, stderr io.Writer) *display {
	d := &display{out: stdout, logOut: stderr}
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			d.tty = true
		}
	}
	return d
}

// clear removes the live block; callers hold mu.
func (d *display) clear() {
	if d.shown > 0 {
		fmt.Fprint(d.out, strings.Repeat("\x1b[1A\x1b[2K", d.shown))
		d.shown = 0
	}
}

// Printf prints one permanent line.
func (d *display) Printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	fmt.Fprintf(d.out, format+"\n", args...)
}

// Write takes log output: printed above the live block.
func (d *display) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	return d.logOut.Write(p)
}

// Block replaces the live block with lines (nil removes it).
func (d *display) Block(lines []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	if len(lines) == 0 {
		return
	}
	// no line wrapping while drawing, so each line takes exactly one row and clear stays exact
	fmt.Fprint(d.out, "\x1b[?7l")
	for _, l := range lines {
		fmt.Fprintln(d.out, l)
	}
	fmt.Fprint(d.out, "\x1b[?7h")
	d.shown = len(lines)
}
