package indexfn

import "github.com/aws/aws-lambda-go/events"

// SetFault runs f before each record is processed: tests make one record panic with it.
func (h *Handler) SetFault(f func(in *events.KafkaRecord)) { h.fault = f }
