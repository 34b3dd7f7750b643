// Package prevclose stores previous trading-day closes: the in-memory, CSV-file and DynamoDB adapters behind
// enrichment's lookups.
package prevclose

import (
	"errors"

	"github.com/finfeed/finfeed/shared/bar"
)

// Close is one symbol's split-adjusted close on one New York trading date.
type Close struct {
	Symbol string
	Date   bar.Date
	Close  float64
}

// ErrInvalidClose marks a close that may not be stored (empty symbol, zero date, non-positive price).
var ErrInvalidClose = errors.New("invalid close")
