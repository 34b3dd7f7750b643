package wire_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/finfeed/finfeed/shared/wire"
)

var errCorrupt = errors.New("corrupt")

func TestReaderReadsWhatWasWritten(t *testing.T) {
	b := binary.AppendUvarint(nil, 300)
	b = binary.AppendVarint(b, -7)
	b = wire.AppendFloat64(b, 101.25)
	b = append(b, 9, 'a', 'b', 'c')
	b = binary.AppendUvarint(b, 2)
	b = append(b, 1, 2, 0xff)
	r := wire.NewReader(b, errCorrupt)
	if got := r.Uvarint("u"); got != 300 {
		t.Errorf("uvarint %d", got)
	}
	if got := r.Varint("v"); got != -7 {
		t.Errorf("varint %d", got)
	}
	if got := r.Float64("f"); got != 101.25 {
		t.Errorf("float %v", got)
	}
	if got := r.Byte("b"); got != 9 {
		t.Errorf("byte %d", got)
	}
	if got := string(r.Bytes("s", 3)); got != "abc" {
		t.Errorf("bytes %q", got)
	}
	if got := r.Count("n", 1); got != 2 {
		t.Errorf("count %d", got)
	}
	r.Bytes("items", 2)
	if r.Err() != nil || len(r.Rest()) != 1 || r.Rest()[0] != 0xff {
		t.Errorf("err %v, rest %v", r.Err(), r.Rest())
	}
}

// Malformed input is an error wrapping the caller's, the first one sticks and later reads return zero.
func TestReaderMalformed(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []byte
		read func(r *wire.Reader)
	}{
		"empty uvarint":   {nil, func(r *wire.Reader) { r.Uvarint("u") }},
		"overlong varint": {[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *wire.Reader) { r.Varint("v") }},
		"short float":     {[]byte{1, 2, 3}, func(r *wire.Reader) { r.Float64("f") }},
		"short bytes":     {[]byte{1}, func(r *wire.Reader) { r.Bytes("s", 2) }},
		"negative bytes":  {[]byte{1}, func(r *wire.Reader) { r.Bytes("s", -1) }},
		"empty byte":      {nil, func(r *wire.Reader) { r.Byte("b") }},
		"count too large": {binary.AppendUvarint(nil, math.MaxUint32), func(r *wire.Reader) { r.Count("n", 8) }},
	} {
		t.Run(name, func(t *testing.T) {
			r := wire.NewReader(tc.in, errCorrupt)
			tc.read(&r)
			if !errors.Is(r.Err(), errCorrupt) {
				t.Fatalf("err %v, want one wrapping errCorrupt", r.Err())
			}
			first := r.Err()
			if r.Uvarint("after") != 0 || r.Float64("after") != 0 || r.Bytes("after", 0) != nil || r.Err() != first {
				t.Errorf("reads after an error: not zero, or the error changed to %v", r.Err())
			}
		})
	}
}
