// Package mskbatch walks the events an MSK event source hands a Lambda: records in partition and offset order,
// base64 values decoded, and the dead letter (package deadletter) of a record whose value cannot be decoded.
package mskbatch

import (
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"slices"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/deadletter"
)

// ErrBase64 means a record's value is not valid base64: the record can never be processed.
var ErrBase64 = errors.New("invalid base64")

// Size counts an event's records and the length of their base64 values, to size buffers before a walk.
func Size(ev events.KafkaEvent) (records, valueBytes int) {
	for _, recs := range ev.Records {
		records += len(recs)
		for i := range recs {
			valueBytes += len(recs[i].Value)
		}
	}
	return records, valueBytes
}

// Records yields the event's records with their position in the walk: the "topic-partition" groups in name
// order, each group's records as the event source delivers them (offset order). The same event always gives the
// same order, so a retried batch produces the same output.
func Records(ev events.KafkaEvent) iter.Seq2[int, *events.KafkaRecord] {
	// small enough to inline, so a range over it calls walk directly and keeps the loop body on the stack
	return func(yield func(int, *events.KafkaRecord) bool) { walk(ev.Records, yield) }
}

func walk(records map[string][]events.KafkaRecord, yield func(int, *events.KafkaRecord) bool) {
	groups := make([]string, 0, len(records))
	for g := range records {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	i := 0
	for _, g := range groups {
		recs := records[g]
		for j := range recs {
			if !yield(i, &recs[j]) {
				return
			}
			i++
		}
	}
}

// AppendValue appends in's value, decoded from base64, to dst. On error dst comes back unchanged in length and
// the error, wrapping ErrBase64, is the reason a dead letter carries ("value: invalid base64: ...").
func AppendValue(dst []byte, in *events.KafkaRecord) ([]byte, error) {
	out, err := appendBase64(dst, in.Value)
	if err != nil {
		return out, fmt.Errorf("value: %w", err) // out: dst's bytes, its capacity perhaps grown
	}
	return out, nil
}

// appendBase64 decodes s onto dst without copying s: the decoder only reads its input, so it gets a view of the
// string's bytes. This keeps a 10,000-record batch's decoding to the one arena the caller passes.
func appendBase64(dst []byte, s string) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(s))
	dst = slices.Grow(dst, n)
	m, err := base64.StdEncoding.Decode(dst[len(dst):len(dst)+n], unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrBase64, err) // dst: the length it came with
	}
	return dst[:len(dst)+m], nil
}

// DeadLetter is the dead letter of a record whose value AppendValue could not decode (err): the value is kept
// as the event carried it, the reason is err's text.
func DeadLetter(topic string, in *events.KafkaRecord, err error) *kgo.Record {
	return deadletter.Record(topic, in, []byte(in.Value), err.Error())
}

// MaxReasons is how many dead-letter reasons a batch keeps for its log line.
const MaxReasons = 10

// NoteReason appends "topic/partition/offset: reason" to reasons while it holds fewer than MaxReasons.
func NoteReason(reasons []string, in *events.KafkaRecord, reason string) []string {
	if len(reasons) >= MaxReasons {
		return reasons
	}
	return append(reasons, deadletter.Source(in)+": "+reason)
}
