// Package wire reads the compact binary encodings of the enrich function's state (indicator series, candles):
// a Reader takes fields in order, keeps the first error (after it every read returns zero) and never trusts a
// length more than the bytes left can hold, so corrupt input is an error and never a panic or a huge allocation.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Reader reads fields from the front of a byte slice.
type Reader struct {
	b       []byte
	err     error
	corrupt error
}

// NewReader reads b; every error it reports wraps corrupt (the caller's ErrCorrupt).
func NewReader(b []byte, corrupt error) Reader { return Reader{b: b, corrupt: corrupt} }

// Err is the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Rest is what has not been read.
func (r *Reader) Rest() []byte { return r.b }

// Fail records an error (the first one sticks), wrapping the reader's corrupt error.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", r.corrupt, fmt.Sprintf(format, args...))
	}
}

// Byte reads one byte.
func (r *Reader) Byte(what string) byte {
	b := r.Bytes(what, 1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bytes reads the next n bytes (a slice of the input, not a copy).
func (r *Reader) Bytes(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.Fail("%s: truncated", what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.Fail("%s: truncated or overlong number", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.Fail("%s: truncated or overlong number", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads a length whose items take at least size bytes each, so a corrupt length cannot ask for more
// memory than the input could describe.
func (r *Reader) Count(what string, size int) int {
	v := r.Uvarint(what)
	if r.err == nil && v > uint64(len(r.b)/max(size, 1)) {
		r.Fail("%s: %d is more than the %d bytes left can hold", what, v, len(r.b))
		return 0
	}
	return int(v)
}

// Float64 reads a float64 stored as its 8 little-endian IEEE 754 bytes (AppendFloat64).
func (r *Reader) Float64(what string) float64 {
	b := r.Bytes(what, 8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// AppendFloat64 appends x as Float64 reads it.
func AppendFloat64(dst []byte, x float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
}
