package state

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Store keeps checkpoints: opaque blobs per (topic, partition, offset).
type Store interface {
	// Put writes the checkpoint of topic/partition at offset (the fold with every record below offset applied).
	Put(ctx context.Context, topic string, partition int32, offset int64, blob []byte) error
	// Latest returns the checkpoint with the greatest offset <= atOrBelow; found is false when there is none.
	Latest(ctx context.Context, topic string, partition int32, atOrBelow int64) (offset int64, blob []byte, found bool, err error)
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*File)(nil)
	_ Store = (*S3)(nil)
)

// Memory is a Store in memory: one process's checkpoints (tests, `feed local` without --data-dir).
type Memory struct {
	mu    sync.Mutex
	parts map[partitionKey][]checkpoint // ascending offsets
}

type checkpoint struct {
	offset int64
	blob   []byte
}

// NewMemory returns an empty memory store.
func NewMemory() *Memory { return &Memory{parts: make(map[partitionKey][]checkpoint)} }

// Put implements Store.
func (m *Memory) Put(_ context.Context, topic string, partition int32, offset int64, blob []byte) error {
	if err := checkKey(topic, partition, offset); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := partitionKey{topic, partition}
	cs := m.parts[k]
	i, found := slices.BinarySearchFunc(cs, offset, func(c checkpoint, o int64) int { return cmpInt64(c.offset, o) })
	c := checkpoint{offset, slices.Clone(blob)}
	if found {
		cs[i] = c
	} else {
		cs = slices.Insert(cs, i, c)
	}
	m.parts[k] = cs
	return nil
}

// Latest implements Store.
func (m *Memory) Latest(_ context.Context, topic string, partition int32, atOrBelow int64) (int64, []byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := m.parts[partitionKey{topic, partition}]
	i, found := slices.BinarySearchFunc(cs, atOrBelow, func(c checkpoint, o int64) int { return cmpInt64(c.offset, o) })
	if found {
		i++
	}
	if i == 0 {
		return 0, nil, false, nil
	}
	c := cs[i-1]
	return c.offset, slices.Clone(c.blob), true, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkKey refuses what no store can name: a topic Kafka would not accept, a negative partition or offset.
func checkKey(topic string, partition int32, offset int64) error {
	if topic == "" || len(topic) > 249 || topic == "." || topic == ".." {
		return fmt.Errorf("state: topic %q is not a Kafka topic name", topic)
	}
	for _, c := range topic {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("state: topic %q is not a Kafka topic name", topic)
		}
	}
	if partition < 0 || offset < 0 {
		return fmt.Errorf("state: partition %d offset %d: negative", partition, offset)
	}
	return nil
}
