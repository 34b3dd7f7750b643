// Package consumer is the customer's consumer of the enriched feed: it prints records as JSON lines.
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

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/kafka"
)

// Config is what to read and how.
type Config struct {
	Kafka kafka.Config
	Topic string
	// FromBeginning reads the topic's retained records first; otherwise only new ones.
	FromBeginning bool
	// Symbols, when set, keeps only records keyed by one of them.
	Symbols []string
	// Max stops after that many printed records (0: run until ctx is done).
	Max int
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
	return errors.Join(errs...)
}

const connectTimeout = 20 * time.Second

// ErrLogin means the brokers could not be reached or refused the login.
var ErrLogin = errors.New("cannot connect or log in")

// Run prints each record's value as one line on out until ctx is done or Max records were printed. It fails at
// once when the brokers cannot be reached, the login is refused or the topic may not be read.
func Run(ctx context.Context, cfg Config, out io.Writer) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	start := kgo.NewOffset().AtEnd()
	if cfg.FromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	cl, err := kafka.NewClient(ctx, cfg.Kafka, kafka.Deps{},
		kgo.ConsumeTopics(cfg.Topic), kgo.ConsumeResetOffset(start), kgo.FetchMaxWait(time.Second))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := check(ctx, cl, cfg.Topic); err != nil {
		return 0, err
	}
	w := bufio.NewWriter(out)
	n := 0
	for cfg.Max == 0 || n < cfg.Max {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			if !kerr.IsRetriable(err) && ferr == nil {
				ferr = fmt.Errorf("read %s partition %d: %w", topic, p, err)
			}
		})
		if ferr != nil {
			return n, errors.Join(ferr, w.Flush())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if (cfg.Max > 0 && n >= cfg.Max) || (len(cfg.Symbols) > 0 && !slices.Contains(cfg.Symbols, string(r.Key))) {
				return
			}
			w.Write(r.Value)
			w.WriteByte('\n')
			n++
		})
		if err := w.Flush(); err != nil {
			return n, fmt.Errorf("write output: %w", err)
		}
	}
	return n, w.Flush()
}

// check logs in and asks for the topic's metadata, so a wrong password or a missing permission fails now with
// a clear error instead of retrying forever.
func check(ctx context.Context, cl *kgo.Client, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	td, ok := md.Topics[topic]
	switch {
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		return fmt.Errorf("topic %s: this user may not read it: %w", topic, err)
	case err != nil:
		return fmt.Errorf("%w (wrong user or password?): %w", ErrLogin, err)
	case !ok:
		return fmt.Errorf("topic %s: not in the cluster's metadata", topic)
	case errors.Is(td.Err, kerr.TopicAuthorizationFailed):
		return fmt.Errorf("topic %s: this user may not read it: %w", topic, td.Err)
	case td.Err != nil:
		return fmt.Errorf("topic %s: %w", topic, td.Err)
	}
	return nil
}
