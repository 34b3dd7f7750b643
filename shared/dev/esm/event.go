package esm

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EventSource is the eventSource of MSK events.
const EventSource = "aws:kafka"

// BuildEvent turns records into one event as the MSK event source does: grouped under "<topic>-<partition>" in
// offset order, key and value base64 (omitted when null), headers as one single-entry map each, timestamps in
// epoch milliseconds.
func BuildEvent(recs []*kgo.Record, arn string, brokers []string) events.KafkaEvent {
	ev := events.KafkaEvent{
		EventSource:      EventSource,
		EventSourceARN:   arn,
		BootstrapServers: strings.Join(brokers, ","),
		Records:          make(map[string][]events.KafkaRecord),
	}
	for _, r := range recs {
		k := r.Topic + "-" + strconv.FormatInt(int64(r.Partition), 10)
		ev.Records[k] = append(ev.Records[k], record(r))
	}
	return ev
}

func record(r *kgo.Record) events.KafkaRecord {
	out := events.KafkaRecord{
		Topic:         r.Topic,
		Partition:     int64(r.Partition),
		Offset:        r.Offset,
		Timestamp:     events.MilliSecondsEpochTime{Time: r.Timestamp.Truncate(1e6)},
		TimestampType: "CREATE_TIME",
		Headers:       make([]map[string]events.JSONNumberBytes, 0, len(r.Headers)),
	}
	if r.Attrs.TimestampType() == 1 {
		out.TimestampType = "LOG_APPEND_TIME"
	}
	if r.Key != nil {
		out.Key = base64.StdEncoding.EncodeToString(r.Key)
	}
	if r.Value != nil {
		out.Value = base64.StdEncoding.EncodeToString(r.Value)
	}
	for _, h := range r.Headers {
		out.Headers = append(out.Headers, map[string]events.JSONNumberBytes{h.Key: events.JSONNumberBytes(h.Value)})
	}
	return out
}

// eventOverhead is a generous allowance for the event's own fields and one record's fixed JSON fields.
const (
	eventOverhead  = 1024
	recordOverhead = 256
)

// RecordSize estimates, from above, how many bytes r adds to an event as JSON: its base64 key and value, its
// headers (each byte a number up to four characters) and the fixed fields.
func RecordSize(r *kgo.Record) int {
	n := recordOverhead + len(r.Topic) + base64.StdEncoding.EncodedLen(len(r.Key)) + base64.StdEncoding.EncodedLen(len(r.Value))
	for _, h := range r.Headers {
		n += len(h.Key) + 8 + 5*len(h.Value)
	}
	return n
}

// PayloadCut is how many records from the start of recs fit in one event of at most limit bytes: all of them, or
// fewer but always at least one (a single larger record is sent alone).
func PayloadCut(recs []*kgo.Record, limit int) int {
	size := eventOverhead
	for i, r := range recs {
		size += RecordSize(r)
		if size > limit && i > 0 {
			return i
		}
	}
	return len(recs)
}
