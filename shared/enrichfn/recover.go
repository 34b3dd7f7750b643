package enrichfn

import (
	"bytes"
	"encoding/base64"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/deadletter"
	"github.com/finfeed/finfeed/shared/enrich"
)

// Stages of a record's processing, as a fault hook sees them.
const (
	stageDecode = "decode"
	stageEnrich = "enrich"
)

// decodeSafe is decode, except that a panic while decoding this one record makes out its dead letter (reason
// "panic: ...", the stack in the log) and the batch goes on: a bug that one input trips must not fail the batch
// on every retry and stall the partition.
func (h *Handler) decodeSafe(d *decoded, out *kgo.Record, arena []byte, b *Batch) (_ []byte, ok bool) {
	start := len(arena)
	defer func() {
		if v := recover(); v != nil {
			value := d.value
			if value == nil { // not decoded yet: decode it on its own, or keep it as the event carried it
				var err error
				if value, err = base64.StdEncoding.DecodeString(d.in.Value); err != nil {
					value = []byte(d.in.Value)
				}
			}
			h.recovered(d.in, out, value, v, b)
			arena, ok = arena[:start], false // drop whatever the record appended
		}
	}()
	if h.fault != nil {
		h.fault(stageDecode, d.in)
	}
	return h.decode(d, out, arena, b)
}

// enrichSafe is enrich with the same recovery as decodeSafe.
func (h *Handler) enrichSafe(d *decoded, closes map[enrich.Lookup]float64, out *kgo.Record, arena []byte, b *Batch) (_ []byte) {
	start := len(arena)
	defer func() {
		if v := recover(); v != nil {
			h.recovered(d.in, out, d.value, v, b)
			arena = arena[:start]
		}
	}()
	if h.fault != nil {
		h.fault(stageEnrich, d.in)
	}
	return h.enrich(d, closes, out, arena, b)
}

// recovered makes out the dead letter of a record whose processing panicked with v, and logs the stack.
func (h *Handler) recovered(in *events.KafkaRecord, out *kgo.Record, value []byte, v any, b *Batch) {
	reason := deadletter.PanicReason(v)
	h.log.Error("panic while processing a record: sent to the dead-letter topic", "source", deadletter.Source(in),
		"reason", reason, "stack", string(debug.Stack()))
	b.Counts.Panics++
	// a copy: the value may sit in the part of the arena the caller is about to reuse
	*out = *deadletter.Record(h.dlqTopic, in, bytes.Clone(value), reason)
	h.noteReject(in, reason, b)
}
