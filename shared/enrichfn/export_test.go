package enrichfn

import (
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// SetFault runs f before each stage ("decode", "enrich") of each record: tests make one record panic with it.
func (h *Handler) SetFault(f func(stage string, in *events.KafkaRecord)) { h.fault = f }

// SetClock replaces the clock the metrics' ages are measured with.
func (h *Handler) SetClock(now func() time.Time) { h.now = now }
