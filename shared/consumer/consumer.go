// Package consumer is the customer's consumer of the enriched feed and its candles: it prints records as JSON
// lines or TSV, optionally in a consumer group, from a bar time, and without at-least-once duplicates.
package consumer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/topics"
)

// Kind is what the topic's records are, which says how --format tsv, --dedupe and --from-time read them.
type Kind string

// The kinds.
const (
	// KindBar is the enhanced topic's enriched minute bar: key (symbol, timestamp), bar time timestamp.
	KindBar Kind = "bar"
	// KindCandle is the candles topic's candle: key (symbol, interval, start), bar time start.
	KindCandle Kind = "candle"
)

// KindOf is the kind of the records of the topic named topic: KindCandle for the candles topic's name,
// KindBar for any other (the enhanced topic). A provider that renamed its candles topic is read with an explicit
// Config.Kind.
func KindOf(topic string) Kind {
	if topic == topics.Candles {
		return KindCandle
	}
	return KindBar
}

// Config is what to read and how.
type Config struct {
	Kafka kafka.Config
	Topic string
	// Kind is what Topic holds (KindOf(Topic) when empty).
	Kind Kind
	// Group, when set, joins that consumer group and commits the offsets of the records this run got through
	// (printed or filtered out), so the next run with the same group continues after them. Empty: no group,
	// nothing is committed. On MSK and `feed local` a customer may only use the group named as its user.
	Group string
	// FromBeginning reads the topic's retained records first; otherwise only new ones. With a Group it applies
	// only to partitions where the group has no committed offset.
	FromBeginning bool
	// FromTime, when not zero, prints only records whose bar time (a candle's start) is at or after it, starting
	// each partition at the first record whose Kafka timestamp (the bar time, the candle start) is at or after it. With a Group it overrides the
	// group's committed offsets once per partition for this run. It excludes FromBeginning.
	FromTime time.Time
	// Dedupe drops records whose bytes repeat the last record printed for the same symbol and bar time (symbol,
	// interval and start, for candles); a different record for them (a correction) is printed. See Deduper for the
	// memory bound.
	Dedupe bool
	// DedupeWindow is the Deduper's window of bar time (DefaultDedupeWindow when zero).
	DedupeWindow time.Duration
	// Format is how records are printed (FormatJSON when empty).
	Format Format
	// Symbols, when set, keeps only records keyed by one of them.
	Symbols []string
	// Max stops after that many printed records (0: run until ctx is done).
	Max int
	// OnBadRecord, when set, is told about each record that had to be decoded as Kind says (for FromTime,
	// Dedupe or TSV) and could not be; such records are skipped.
	OnBadRecord func(partition int32, offset int64, err error)
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Kafka.Validate())
	if strings.TrimSpace(c.Topic) == "" {
		errs = append(errs, errors.New("topic is required"))
	}
	if c.Max < 0 {
		errs = append(errs, fmt.Errorf("max must not be negative, got %d", c.Max))
	}
	if c.FromBeginning && !c.FromTime.IsZero() {
		errs = append(errs, errors.New("from-beginning and from-time: choose one"))
	}
	if c.DedupeWindow < 0 {
		errs = append(errs, fmt.Errorf("dedupe window must not be negative, got %v", c.DedupeWindow))
	}
	switch c.Format {
	case "", FormatJSON, FormatTSV:
	default:
		errs = append(errs, fmt.Errorf("format %q: want json or tsv", c.Format))
	}
	switch c.Kind {
	case "", KindBar, KindCandle:
	default:
		errs = append(errs, fmt.Errorf("kind %q: want %s or %s", c.Kind, KindBar, KindCandle))
	}
	return errors.Join(errs...)
}

// decodes reports whether records must be decoded, not just copied.
func (c Config) decodes() bool { return !c.FromTime.IsZero() || c.Dedupe || c.Format == FormatTSV }

const (
	connectTimeout = 20 * time.Second
	// commitTimeout bounds the final commit, closeTimeout closing the client (and leaving the group).
	commitTimeout = 10 * time.Second
	closeTimeout  = 10 * time.Second
)

// Errors Run classifies.
var (
	// ErrLogin means the brokers could not be reached or refused the login.
	ErrLogin = errors.New("cannot connect or log in")
	// ErrGroupRefused means the brokers refused the consumer group (GROUP_AUTHORIZATION_FAILED).
	ErrGroupRefused = errors.New("consumer group refused")
)

// Run prints each record on out until ctx is done or Max records were printed, and returns how many it printed.
// It fails at once when the brokers cannot be reached, the login is refused, the topic may not be read or the
// group may not be used. With a Group it commits what it got through before returning.
func Run(ctx context.Context, cfg Config, out io.Writer) (n int, err error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	if cfg.Format == "" {
		cfg.Format = FormatJSON
	}
	if cfg.Kind == "" {
		cfg.Kind = KindOf(cfg.Topic)
	}
	starts, err := prepare(ctx, cfg)
	if err != nil {
		return 0, err
	}
	cl, err := kafka.NewClient(ctx, cfg.Kafka, kafka.Deps{}, consumeOpts(cfg, starts)...)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, finish(cl, cfg.Group)) }()
	p := newPrinter(cfg, out)
	if err := p.header(); err != nil {
		return 0, err
	}
	for cfg.Max == 0 || p.n < cfg.Max {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		var ferr error
		fs.EachError(func(topic string, part int32, err error) {
			if kerr.IsRetriable(err) || ferr != nil {
				return
			}
			if cfg.Group != "" && errors.Is(err, kerr.GroupAuthorizationFailed) {
				ferr = groupRefused(cfg, err)
				return
			}
			ferr = fmt.Errorf("read %s partition %d: %w", topic, part, err)
		})
		if ferr != nil {
			return p.n, errors.Join(ferr, p.flush())
		}
		var done []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if cfg.Max > 0 && p.n >= cfg.Max {
				return
			}
			p.record(r)
			done = append(done, r)
		})
		if err := p.flush(); err != nil {
			return p.n, err
		}
		if cfg.Group != "" {
			// only what is on out is committed: a record polled after --max is read again by the next run
			cl.MarkCommitRecords(done...)
		}
	}
	return p.n, p.flush()
}

// consumeOpts are the consuming client's options: where each partition starts, and the group.
func consumeOpts(cfg Config, starts map[int32]int64) []kgo.Opt {
	reset := kgo.NewOffset().AtEnd()
	switch {
	case cfg.FromBeginning:
		reset = kgo.NewOffset().AtStart()
	case !cfg.FromTime.IsZero():
		reset = kgo.NewOffset().AfterMilli(cfg.FromTime.UnixMilli())
	}
	opts := []kgo.Opt{kgo.FetchMaxWait(time.Second), kgo.ConsumeResetOffset(reset)}
	switch {
	case cfg.Group != "":
		opts = append(opts, kgo.ConsumeTopics(cfg.Topic), kgo.ConsumerGroup(cfg.Group), kgo.AutoCommitMarks())
		if starts != nil {
			opts = append(opts, kgo.AdjustFetchOffsetsFn(overrideOnce(cfg.Topic, starts)))
		}
	case starts != nil:
		parts := make(map[int32]kgo.Offset, len(starts))
		for p, o := range starts {
			parts[p] = kgo.NewOffset().At(o)
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: parts}))
	default:
		opts = append(opts, kgo.ConsumeTopics(cfg.Topic))
	}
	return opts
}

// finish commits what was marked (group only) and closes the client, which leaves the group; each step is
// bounded, so a broker that does not answer cannot hang the command.
func finish(cl *kgo.Client, group string) error {
	var errs []error
	if group != "" {
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		if err := cl.CommitMarkedOffsets(ctx); err != nil {
			errs = append(errs, fmt.Errorf("commit offsets of group %s: %w", group, err))
		}
		cancel()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl.Close()
	}()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		errs = append(errs, fmt.Errorf("close the kafka client: not done after %v", closeTimeout))
	}
	return errors.Join(errs...)
}

// printer filters, dedupes and writes records.
type printer struct {
	cfg   Config
	w     *bufio.Writer
	dedup *Deduper
	buf   []byte
	n     int
}

func newPrinter(cfg Config, out io.Writer) *printer {
	p := &printer{cfg: cfg, w: bufio.NewWriter(out)}
	if cfg.Dedupe {
		p.dedup = NewDeduper(cfg.DedupeWindow)
	}
	return p
}

func (p *printer) header() error {
	if p.cfg.Format != FormatTSV {
		return nil
	}
	if p.cfg.Kind == KindCandle {
		p.w.WriteString(CandleTSVHeader)
	} else {
		p.w.WriteString(TSVHeader)
	}
	p.w.WriteByte('\n')
	return p.flush()
}

// record prints r unless a filter or the deduper drops it.
func (p *printer) record(r *kgo.Record) {
	if len(p.cfg.Symbols) > 0 && !slices.Contains(p.cfg.Symbols, string(r.Key)) {
		return
	}
	if !p.cfg.decodes() {
		p.print(r.Value)
		return
	}
	var err error
	if p.cfg.Kind == KindCandle {
		err = p.candle(r.Value)
	} else {
		err = p.bar(r.Value)
	}
	if err != nil && p.cfg.OnBadRecord != nil {
		p.cfg.OnBadRecord(r.Partition, r.Offset, err)
	}
}

// bar prints an enhanced record unless FromTime or the deduper drops it; the error says why it cannot be read.
func (p *printer) bar(value []byte) error {
	e, err := bar.DecodeEnriched(value)
	if err != nil {
		return err
	}
	if !p.cfg.FromTime.IsZero() && e.Time.Before(p.cfg.FromTime) {
		return nil
	}
	if p.dedup != nil && !p.dedup.Keep(&e, value) {
		return nil
	}
	if p.cfg.Format == FormatTSV {
		p.buf = AppendTSV(p.buf[:0], &e)
		value = p.buf
	}
	p.print(value)
	return nil
}

// candle is bar for a candles record: FromTime compares the candle start.
func (p *printer) candle(value []byte) error {
	c, err := candles.DecodeCandleCompatible(value)
	if err != nil {
		return err
	}
	if !p.cfg.FromTime.IsZero() && c.Start.Before(p.cfg.FromTime) {
		return nil
	}
	if p.dedup != nil && !p.dedup.KeepCandle(&c, value) {
		return nil
	}
	if p.cfg.Format == FormatTSV {
		p.buf = AppendCandleTSV(p.buf[:0], &c)
		value = p.buf
	}
	p.print(value)
	return nil
}

// print writes line and a newline, and counts it.
func (p *printer) print(line []byte) {
	p.w.Write(line)
	p.w.WriteByte('\n')
	p.n++
}

func (p *printer) flush() error {
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
