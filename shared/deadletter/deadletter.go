// Package deadletter builds the records that go to a dead-letter topic: the original key, value and headers of a
// record that can never be processed, plus why (header `error`) and where it came from (header `source`).
package deadletter

import (
	"encoding/base64"
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names on every dead letter.
const (
	HeaderError  = "error"
	HeaderSource = "source"
)

// Source names where a record came from: topic/partition/offset.
func Source(in *events.KafkaRecord) string {
	return in.Topic + "/" + strconv.FormatInt(in.Partition, 10) + "/" + strconv.FormatInt(in.Offset, 10)
}

// Record is the dead letter for in: value is the original value (decoded from base64 when that was possible),
// the key is decoded from base64 (kept as given when it is not valid base64), original headers come first in a
// deterministic order, then error and source.
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
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderSource, Value: []byte(Source(in))})
	r := &kgo.Record{Topic: topic, Value: value, Headers: headers}
	if in.Key != "" {
		key, err := base64.StdEncoding.DecodeString(in.Key)
		if err != nil {
			key = []byte(in.Key)
		}
		r.Key = key
	}
	return r
}
