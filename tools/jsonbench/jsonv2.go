package jsonbench

import (
	"bytes"
	jsonv1 "encoding/json"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"

	"github.com/finfeed/finfeed/shared/bar"
)

// JSONv2 wraps encoding/json/v2 (GOEXPERIMENT=jsonv2): case-sensitive keys and strict UTF-8 by default; the last
// of duplicate keys wins, as in bar; null leaves a number as it was (legacy merge), so a null required number
// reads as missing.
type JSONv2 struct {
	opts json.Options
	buf  bytes.Buffer
}

// NewJSONv2 returns the encoding/json/v2 wrapper.
func NewJSONv2() *JSONv2 {
	return &JSONv2{opts: json.JoinOptions(jsontext.AllowDuplicateNames(true), jsonv1.MergeWithLegacySemantics(true))}
}

// Name implements Codec.
func (*JSONv2) Name() string { return "jsonv2" }

// DecodeRaw implements Codec.
func (c *JSONv2) DecodeRaw(data []byte) (bar.Raw, error) {
	w := newRawWire()
	if err := json.Unmarshal(data, &w, c.opts); err != nil {
		var se *json.SemanticError
		var sy *jsontext.SyntacticError
		switch {
		case errors.As(err, &se):
			return bar.Raw{}, fieldReason(string(se.JSONPointer), err)
		case errors.As(err, &sy) && sy.JSONPointer != "":
			return bar.Raw{}, syntaxReason(string(sy.JSONPointer), err)
		}
		return bar.Raw{}, invalid("malformed JSON: %v", err)
	}
	return w.finish()
}

// AppendEnriched implements Codec.
func (c *JSONv2) AppendEnriched(b []byte, e *bar.Enriched) ([]byte, error) {
	w := toWire(e)
	c.buf.Reset()
	if err := json.MarshalWrite(&c.buf, &w); err != nil {
		return b, fmt.Errorf("%w: jsonv2: %w", errEncode, err)
	}
	return append(b, c.buf.Bytes()...), nil
}
