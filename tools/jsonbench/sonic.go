package jsonbench

import (
	"fmt"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/encoder"

	"github.com/finfeed/finfeed/shared/bar"
)

// Sonic wraps github.com/bytedance/sonic (JIT on amd64): case-sensitive keys and strict UTF-8 switched on. Its
// type-mismatch errors carry an offset but no field name, so those reasons name no field.
type Sonic struct {
	api sonic.API
}

// NewSonic returns the sonic wrapper.
func NewSonic() *Sonic {
	return &Sonic{api: sonic.Config{CaseSensitive: true, ValidateString: true}.Froze()}
}

// Name implements Codec.
func (*Sonic) Name() string { return "sonic" }

// DecodeRaw implements Codec.
func (c *Sonic) DecodeRaw(data []byte) (bar.Raw, error) {
	w := newRawWire()
	if err := c.api.Unmarshal(data, &w); err != nil {
		return bar.Raw{}, invalid("malformed JSON: %v", err)
	}
	return w.finish()
}

// AppendEnriched implements Codec, appending into b (sonic does not escape <, > and & by default).
func (c *Sonic) AppendEnriched(b []byte, e *bar.Enriched) ([]byte, error) {
	w := toWire(e)
	if err := encoder.EncodeInto(&b, &w, 0); err != nil {
		return b, fmt.Errorf("%w: sonic: %w", errEncode, err)
	}
	return b, nil
}
