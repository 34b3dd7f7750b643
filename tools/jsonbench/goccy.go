package jsonbench

import (
	"errors"
	"fmt"

	"github.com/goccy/go-json"

	"github.com/finfeed/finfeed/shared/bar"
)

// Goccy wraps github.com/goccy/go-json. Like encoding/json its keys match case-insensitively, with no option to
// change that.
type Goccy struct{}

// NewGoccy returns the goccy/go-json wrapper.
func NewGoccy() Goccy { return Goccy{} }

// Name implements Codec.
func (Goccy) Name() string { return "goccy" }

// DecodeRaw implements Codec.
func (Goccy) DecodeRaw(data []byte) (bar.Raw, error) {
	w := newRawWire()
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return bar.Raw{}, fieldReason(te.Field, err)
		}
		return bar.Raw{}, invalid("malformed JSON: %v", err)
	}
	return w.finish()
}

// AppendEnriched implements Codec, leaving <, > and & as they are, as bar does.
func (Goccy) AppendEnriched(b []byte, e *bar.Enriched) ([]byte, error) {
	w := toWire(e)
	out, err := json.MarshalWithOption(&w, json.DisableHTMLEscape())
	if err != nil {
		return b, fmt.Errorf("%w: goccy: %w", errEncode, err)
	}
	return append(b, out...), nil
}
