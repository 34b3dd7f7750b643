package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/kafka"
)

// New York local layouts ParseTime accepts besides RFC 3339.
var newYorkLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05"}

// ParseTime reads a --from-time value: RFC 3339 (2024-10-31T13:30:00Z, 2024-10-31T09:30:00-04:00) or New York
// local time, `2024-10-31 09:30` or `2024-10-31 09:30:00` (America/New_York, daylight saving time applied for
// that date).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range newYorkLayouts {
		if t, err := time.ParseInLocation(layout, s, bar.NewYork); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2024-10-31T13:30:00Z) or New York time (2024-10-31 09:30[:00])", s)
}

// prepare logs in with a short-lived client, checks the topic and the group may be used, and with FromTime
// lists each partition's first offset whose timestamp is at or after it (nil without FromTime).
func prepare(ctx context.Context, cfg Config) (map[int32]int64, error) {
	cl, err := kafka.NewClient(ctx, cfg.Kafka, kafka.Deps{})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	if err := check(ctx, adm, cfg.Topic); err != nil {
		return nil, err
	}
	if cfg.Group != "" {
		// finding the group's coordinator needs the group's Describe permission (which Read grants): a group
		// the user may not use is refused here rather than in the background of the consuming client
		_, err := adm.FetchOffsets(ctx, cfg.Group)
		switch {
		case err == nil, errors.Is(err, kerr.GroupIDNotFound): // a new group: nothing committed yet
		case errors.Is(err, kerr.GroupAuthorizationFailed):
			return nil, groupRefused(cfg, err)
		default:
			return nil, fmt.Errorf("group %s: fetch committed offsets: %w", cfg.Group, err)
		}

	}
	if cfg.FromTime.IsZero() {
		return nil, nil
	}
	listed, err := adm.ListOffsetsAfterMilli(ctx, cfg.FromTime.UnixMilli(), cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("topic %s: list offsets at %s: %w", cfg.Topic, cfg.FromTime.UTC().Format(time.RFC3339), err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("topic %s: list offsets at %s: %w", cfg.Topic, cfg.FromTime.UTC().Format(time.RFC3339), err)
	}
	starts := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { starts[o.Partition] = o.Offset })
	if len(starts) == 0 {
		return nil, fmt.Errorf("topic %s: no partitions listed", cfg.Topic)
	}
	return starts, nil
}

// groupRefused is the error for a group the brokers refuse.
func groupRefused(cfg Config, err error) error {
	hint := "a customer may use only the consumer group named as its user"
	if cfg.Kafka.Username != "" {
		hint += fmt.Sprintf(" (--group %s)", cfg.Kafka.Username)
	}
	return fmt.Errorf("group %s: %w by the brokers; %s: %w", cfg.Group, ErrGroupRefused, hint, err)
}

// overrideOnce makes each partition of topic start at starts the first time this run is assigned it, whatever
// the group committed; after a rebalance, partitions continue from the group's commits.
func overrideOnce(topic string, starts map[int32]int64) func(context.Context, map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	var mu sync.Mutex
	done := map[int32]bool{}
	return func(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
		mu.Lock()
		defer mu.Unlock()
		for p := range offsets[topic] {
			if o, ok := starts[p]; ok && !done[p] {
				offsets[topic][p] = kgo.NewOffset().At(o).WithEpoch(-1)
				done[p] = true
			}
		}
		return offsets, nil
	}
}

// check asks for the topic's metadata, so a wrong password or a missing permission fails now with a clear error
// instead of retrying forever.
func check(ctx context.Context, adm *kadm.Client, topic string) error {
	md, err := adm.Metadata(ctx, topic)
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
