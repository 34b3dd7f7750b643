// Command consumer is an example consumer of finfeed's enriched feed for a trading firm to copy: it reads the
// `enhanced` topic with franz-go (SASL/SCRAM-SHA-512, optional TLS) in the consumer group named as its user,
// decodes each bar, drops at-least-once repeats, prints one line per bar and commits what it printed.
//
// Configuration comes from the environment:
//
//	FINFEED_BROKERS   comma-separated bootstrap brokers (required), e.g. the PrivateLink SASL/SCRAM endpoints
//	FINFEED_USER      SCRAM user (required); also the consumer group, the only one its ACLs allow
//	FINFEED_PASSWORD  SCRAM password (required)
//	FINFEED_TLS       true (default, MSK) or false (feed local)
//	FINFEED_TOPIC     topic of enriched bars to read (default enhanced; candles are another record, see
//	                  `feed consume --topic candles`)
//	FINFEED_MAX       exit after printing this many bars (default 0: until interrupted)
//
// A new group starts at the oldest retained bar; later runs continue after the last committed one.
//
//	FINFEED_BROKERS=127.0.0.1:9092 FINFEED_USER=customer FINFEED_PASSWORD=customer-secret FINFEED_TLS=false \
//	    go run ./docs/examples/consumer
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Bar is one record of the enhanced topic.
type Bar struct {
	Symbol string `json:"symbol"`
	// Timestamp is the bar's start, UTC, "2006-01-02 15:04:05".
	Timestamp string  `json:"timestamp"`
	Open      float64 `json:"open"`
	High      float64 `json:"high"`
	Low       float64 `json:"low"`
	Close     float64 `json:"close"`
	Volume    float64 `json:"volume"`
	// PrevClose and Change are null (nil) when no previous close is known; Indicator is then "Unknown".
	PrevClose *float64 `json:"prevClose"`
	Change    *float64 `json:"%change"`
	// Indicator is Bullish, Bearish, Neutral or Unknown.
	Indicator string `json:"indicator"`
	// TradingDate is the bar's New York calendar date, "2006-01-02".
	TradingDate string `json:"tradingDate"`
	// The technical indicators (docs/feed.md, Indicators): nil while the symbol warms up and on a bar older than
	// the symbol's latest one (OutOfSequence true). MACross is nil, "bullish" or "bearish".
	SMA20         *float64 `json:"sma20"`
	SMA50         *float64 `json:"sma50"`
	EMA12         *float64 `json:"ema12"`
	EMA26         *float64 `json:"ema26"`
	RSI14         *float64 `json:"rsi14"`
	VWAPSession   *float64 `json:"vwapSession"`
	VolumeAlert   bool     `json:"volumeAlert"`
	MACross       *string  `json:"maCross"`
	OutOfSequence bool     `json:"outOfSequence"`
}

type config struct {
	brokers  []string
	user     string
	password string
	tls      bool
	topic    string
	max      int
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{user: getenv("FINFEED_USER"), password: getenv("FINFEED_PASSWORD"), tls: true, topic: "enhanced"}
	var errs []error
	for _, b := range strings.Split(getenv("FINFEED_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.brokers = append(c.brokers, b)
		}
	}
	if len(c.brokers) == 0 {
		errs = append(errs, errors.New("FINFEED_BROKERS: required"))
	}
	if c.user == "" || c.password == "" {
		errs = append(errs, errors.New("FINFEED_USER and FINFEED_PASSWORD: required"))
	}
	if v := getenv("FINFEED_TLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FINFEED_TLS: %q is not true or false", v))
		}
		c.tls = b
	}
	if v := getenv("FINFEED_TOPIC"); v != "" {
		c.topic = v
	}
	if v := getenv("FINFEED_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("FINFEED_MAX: %q is not a count", v))
		}
		c.max = n
	}
	return c, errors.Join(errs...)
}

func main() {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "consumer: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "consumer: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, stdout io.Writer) error {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.brokers...),
		kgo.SASL(scram.Auth{User: cfg.user, Pass: cfg.password}.AsSha512Mechanism()),
		kgo.ConsumerGroup(cfg.user), // the customer's ACLs allow only the group named as the user
		kgo.ConsumeTopics(cfg.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), // commit only what was printed, after printing it
	}
	if cfg.tls {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = cl.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("connect to %s as %s (wrong brokers, user or password?): %w", strings.Join(cfg.brokers, ","), cfg.user, err)
	}

	out := bufio.NewWriter(stdout)
	seen := newDedupe(2 * time.Hour)
	printed := 0
	for cfg.max == 0 || printed < cfg.max {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, kerr.GroupAuthorizationFailed) {
				return fmt.Errorf("group %s refused: %w", cfg.user, fe.Err)
			}
			if !kerr.IsRetriable(fe.Err) {
				return fmt.Errorf("read %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		var done []*kgo.Record
		for it := fetches.RecordIter(); !it.Done() && (cfg.max == 0 || printed < cfg.max); {
			r := it.Next()
			done = append(done, r)
			var b Bar
			if err := decodeBar(r.Value, &b); err != nil {
				fmt.Fprintf(os.Stderr, "consumer: skip %s/%d/%d: %v\n", r.Topic, r.Partition, r.Offset, err)
				continue
			}
			correction, keep := seen.check(&b, r.Value)
			if !keep {
				continue // a repeat of a bar already printed
			}
			printBar(out, &b, correction)
			printed++
		}
		if err := out.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if len(done) > 0 {
			if err := cl.CommitRecords(ctx, done...); err != nil && ctx.Err() == nil {
				return fmt.Errorf("commit offsets: %w", err)
			}
		}
	}
	return out.Flush()
}

// decodeBar decodes one enhanced record into b; a record without a symbol, a bar time or a close (a candle, or
// another topic's record) is an error rather than a line of zeros.
func decodeBar(value []byte, b *Bar) error {
	var probe struct {
		Close *float64 `json:"close"`
	}
	if err := json.Unmarshal(value, &probe); err != nil {
		return err
	}
	if err := json.Unmarshal(value, b); err != nil {
		return err
	}
	if b.Symbol == "" || b.Timestamp == "" || probe.Close == nil {
		return errors.New("not an enriched bar: symbol, timestamp or close missing")
	}
	return nil
}

// printBar writes one line: symbol, bar time, close, previous close, % change, indicator.
func printBar(w io.Writer, b *Bar, correction bool) {
	prev, change := "n/a", "n/a"
	if b.PrevClose != nil {
		prev = strconv.FormatFloat(*b.PrevClose, 'f', -1, 64)
	}
	if b.Change != nil {
		change = fmt.Sprintf("%+.2f%%", *b.Change)
	}
	fmt.Fprintf(w, "%s %s close=%s prevClose=%s change=%s %s", b.Symbol, b.Timestamp,
		strconv.FormatFloat(b.Close, 'f', -1, 64), prev, change, b.Indicator)
	if correction {
		fmt.Fprint(w, " (correction)")
	}
	fmt.Fprintln(w)
}

// dedupe remembers the last record printed for each symbol and bar time, for bars up to window behind that
// symbol's newest bar (older entries are forgotten, so memory stays bounded). The window is per symbol: when
// catching up, one partition can be hours of bar time ahead of another, and a symbol's repeats and corrections
// come in its own partition (key = symbol) after the record they repeat.
type dedupe struct {
	window  time.Duration
	symbols map[string]*symbolBars
}

// symbolBars is what dedupe remembers of one symbol.
type symbolBars struct {
	newest time.Time
	pruned time.Time
	last   map[string]string // bar time -> record bytes
}

func newDedupe(window time.Duration) *dedupe {
	return &dedupe{window: window, symbols: map[string]*symbolBars{}}
}

// check reports whether b (whose record bytes are value) is to be printed, and whether it corrects a bar
// printed before. The delivery is at least once: a repeat has the same bytes and is dropped; a correction
// (same symbol and bar time, other bytes) is newer and wins.
func (d *dedupe) check(b *Bar, value []byte) (correction, keep bool) {
	at, err := time.Parse(time.DateTime, b.Timestamp)
	if err != nil {
		return false, true // not a time we can order: print, do not remember
	}
	s := d.symbols[b.Symbol]
	if s == nil {
		s = &symbolBars{newest: at, pruned: at, last: map[string]string{}}
		d.symbols[b.Symbol] = s
	}
	if at.Before(s.newest.Add(-d.window)) {
		return false, true // too old to check
	}
	prev, ok := s.last[b.Timestamp]
	if ok && prev == string(value) {
		return false, false
	}
	s.last[b.Timestamp] = string(value)
	if at.After(s.newest) {
		s.newest = at
	}
	if s.newest.Sub(s.pruned) > d.window/4 {
		for ts := range s.last {
			if t, _ := time.Parse(time.DateTime, ts); t.Before(s.newest.Add(-d.window)) {
				delete(s.last, ts)
			}
		}
		s.pruned = s.newest
	}
	return ok, true
}
