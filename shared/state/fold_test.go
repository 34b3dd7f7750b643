package state_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/state"
)

// sumFold is a small fold for the engine's tests: a running SHA-256 over the valid records ("<unix seconds>
// <text>") in order, their count and the newest time. Any difference in which records were applied, or in
// their order, changes its hash.
type sumFold struct {
	hash [32]byte
	n    uint64
	t    int64
}

func newSumFold() *sumFold { return &sumFold{} }

func (f *sumFold) Replay(value []byte, _ time.Time) {
	sec, _, ok := strings.Cut(string(value), " ")
	t, err := strconv.ParseInt(sec, 10, 64)
	if !ok || err != nil {
		return // invalid record: the handler would dead-letter it
	}
	h := sha256.New()
	h.Write(f.hash[:])
	h.Write(value)
	copy(f.hash[:], h.Sum(nil))
	f.n++
	f.t = max(f.t, t)
}

func (f *sumFold) Time() time.Time {
	if f.n == 0 {
		return time.Time{}
	}
	return time.Unix(f.t, 0).UTC()
}

const sumFoldVersion = 1

func (f *sumFold) AppendBinary(dst []byte) []byte {
	dst = append(dst, sumFoldVersion)
	dst = append(dst, f.hash[:]...)
	dst = binary.BigEndian.AppendUint64(dst, f.n)
	return binary.BigEndian.AppendUint64(dst, uint64(f.t))
}

func decodeSumFold(src []byte) (*sumFold, error) {
	if len(src) != 1+32+16 {
		return nil, errors.New("sum fold: wrong length")
	}
	if src[0] != sumFoldVersion {
		return nil, errors.New("sum fold: unknown version")
	}
	f := &sumFold{}
	copy(f.hash[:], src[1:33])
	f.n = binary.BigEndian.Uint64(src[33:])
	f.t = int64(binary.BigEndian.Uint64(src[41:]))
	return f, nil
}

var sumCodec = state.Codec[*sumFold]{New: newSumFold, Decode: decodeSumFold}
