package jsonbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/finfeed/finfeed/shared/bar"
)

// JSONv1 wraps encoding/json (the v1 API, for reference: bar's own benchmarks compare against it). Its keys
// match case-insensitively and invalid UTF-8 becomes U+FFFD; neither can be switched off. Under
// GOEXPERIMENT=jsonv2 it runs on the v2 implementation.
type JSONv1 struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// NewJSONv1 returns the encoding/json wrapper; it does not escape <, > and &, as bar does not.
func NewJSONv1() *JSONv1 {
	c := &JSONv1{}
	c.enc = json.NewEncoder(&c.buf)
	c.enc.SetEscapeHTML(false)
	return c
}

// Name implements Codec.
func (*JSONv1) Name() string { return "jsonv1" }

// DecodeRaw implements Codec.
func (*JSONv1) DecodeRaw(data []byte) (bar.Raw, error) {
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

// AppendEnriched implements Codec.
func (c *JSONv1) AppendEnriched(b []byte, e *bar.Enriched) ([]byte, error) {
	w := toWire(e)
	c.buf.Reset()
	if err := c.enc.Encode(&w); err != nil {
		return b, fmt.Errorf("%w: jsonv1: %w", errEncode, err)
	}
	return append(b, bytes.TrimSuffix(c.buf.Bytes(), []byte("\n"))...), nil
}
