// Package deadletter builds the records that go to a dead-letter topic: the original key, value and headers of a
// record that can never be processed, plus why (header `error`) and where it came from (header `source`).
package deadletter

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names on every dead letter; HeaderTruncated only on one whose key or value was cut.
const (
	HeaderError     = "error"
	HeaderSource    = "source"
	HeaderTruncated = "truncated"
)

// MaxValue and MaxKey bound what a dead letter keeps of the original's value and key. Kafka refuses a record over
// the topic's max.message.bytes (1 MB by default on MSK), and a dead letter that cannot be written fails its batch
// on every retry, stalling the partition; a bar is a few hundred bytes, so 256 KiB keeps everything a person
// needs to see why it was refused. A longer original keeps its first bytes and says so in HeaderTruncated.
const (
	MaxValue = 256 << 10
	MaxKey   = 1 << 10
)

// Source names where a record came from: topic/partition/offset.
func Source(in *events.KafkaRecord) string {
	return in.Topic + "/" + strconv.FormatInt(in.Partition, 10) + "/" + strconv.FormatInt(in.Offset, 10)
}

// Record is the dead letter for in: value is the original value (decoded from base64 when that was possible),
// the key is decoded from base64 (kept as given when it is not valid base64), both bounded by MaxValue and MaxKey;
// original headers come first in a deterministic order, then truncated (when something was cut), error and
// source.
func Record(topic string, in *events.KafkaRecord, value []byte, reason string) *kgo.Record {
	headers := make([]kgo.RecordHeader, 0, len(in.Headers)+2)
	for _, hm := range in.Headers {
		names := make([]string, 0, len(hm))
		for name := range hm {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			headers = append(headers, kgo.RecordHeader{Key: name, Value: hm[name]})
		}
	}
	var key []byte
	if in.Key != "" {
		k, err := base64.StdEncoding.DecodeString(in.Key)
		if err != nil {
			k = []byte(in.Key)
		}
		key = k
	}
	var cut []string
	if len(value) > MaxValue {
		cut = append(cut, fmt.Sprintf("value: kept the first %d of %d bytes", MaxValue, len(value)))
		value = value[:MaxValue:MaxValue]
	}
	if len(key) > MaxKey {
		cut = append(cut, fmt.Sprintf("key: kept the first %d of %d bytes", MaxKey, len(key)))
		key = key[:MaxKey:MaxKey]
	}
	if len(cut) > 0 {
		headers = append(headers, kgo.RecordHeader{Key: HeaderTruncated, Value: []byte(strings.Join(cut, "; "))})
	}
	// error and source come last, always: readers (and feed dlq replay) take them from the end
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderSource, Value: []byte(Source(in))})
	return &kgo.Record{Topic: topic, Key: key, Value: value, Headers: headers}
}

// MaxPanicReason bounds the text PanicReason keeps of a panic's value.
const MaxPanicReason = 1 << 10

// PanicReason is the reason a dead letter gives for a record whose processing panicked with v: "panic: " and
// v's text, cut to at most MaxPanicReason bytes on a character boundary. Never a stack: that goes to the log.
func PanicReason(v any) string {
	var s string
	switch x := v.(type) {
	case error:
		s = x.Error()
	case string:
		s = x
	default:
		s = fmt.Sprint(x)
	}
	s = "panic: " + s
	if len(s) > MaxPanicReason {
		cut := MaxPanicReason
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " [cut]"
	}
	return strings.ToValidUTF8(s, "?")
}
