package loader

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Event is what the function is invoked with: an EventBridge scheduled event ({"detail-type": "Scheduled
// Event", "time": ...}), an EventBridge Scheduler payload (any JSON object without from/to: the run uses the
// invocation time), or an on-demand range {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}.
type Event struct {
	DetailType string    `json:"detail-type"`
	Time       time.Time `json:"time"`
	From       string    `json:"from"`
	To         string    `json:"to"`
}

// Handle runs the loader for one invocation, with the current Alpaca keys (Rekey). now is the clock for payloads
// that carry no time.
func (l *Loader) Handle(ctx context.Context, raw json.RawMessage, now time.Time) (Result, error) {
	if l.Rekey != nil {
		bars, err := l.Rekey(ctx)
		switch {
		case err != nil:
			l.log().Warn("re-read alpaca credentials; using the ones in hand", "err", err)
		case bars != nil:
			l.log().Info("alpaca credentials changed; using the new ones")
			l.Bars = bars
		}
	}
	var ev Event
	if len(strings.TrimSpace(string(raw))) > 0 && strings.TrimSpace(string(raw)) != "null" {
		if err := json.Unmarshal(raw, &ev); err != nil {
			return Result{}, fmt.Errorf("decode event: %w", err)
		}
	}
	if ev.From != "" || ev.To != "" {
		from, err := bar.ParseDate(ev.From)
		if err != nil {
			return Result{}, fmt.Errorf("%w: from: %w", ErrBadRange, err)
		}
		to, err := bar.ParseDate(ev.To)
		if err != nil {
			return Result{}, fmt.Errorf("%w: to: %w", ErrBadRange, err)
		}
		return l.Range(ctx, from, to)
	}
	at := ev.Time
	if at.IsZero() {
		at = now
	}
	return l.Scheduled(ctx, at)
}

// Invoke is Handle on the wall clock: the Lambda handler.
func (l *Loader) Invoke(ctx context.Context, raw json.RawMessage) (Result, error) {
	return l.Handle(ctx, raw, time.Now())
}
