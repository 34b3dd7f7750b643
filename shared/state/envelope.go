package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// ErrMalformed means a checkpoint's bytes cannot be read: truncated, corrupted, an unknown format, or a fold
// that does not decode. The engine passes over such a checkpoint to an older one or a full replay.
var ErrMalformed = errors.New("malformed checkpoint")

// The envelope around a fold: magic, format version, the offset the fold is at, the fold's length and bytes,
// and a CRC-32C of everything before it.
const (
	envelopeMagic   = "ffst"
	envelopeVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealEnvelope appends the checkpoint blob of f at offset next.
func sealEnvelope[F Fold](dst []byte, next int64, f F) []byte {
	start := len(dst)
	dst = append(dst, envelopeMagic...)
	dst = append(dst, envelopeVersion)
	dst = binary.AppendUvarint(dst, uint64(next))
	lenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0) // the fold's length, filled in below
	bodyAt := len(dst)
	dst = f.AppendBinary(dst)
	binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-bodyAt))
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// openEnvelope checks a blob and returns the offset and the fold's bytes.
func openEnvelope(blob []byte) (next int64, body []byte, err error) {
	const minLen = len(envelopeMagic) + 1 + 1 + 4 + 4
	if len(blob) < minLen {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(blob))
	}
	if string(blob[:len(envelopeMagic)]) != envelopeMagic {
		return 0, nil, fmt.Errorf("%w: not a finfeed state checkpoint", ErrMalformed)
	}
	sum := binary.BigEndian.Uint32(blob[len(blob)-4:])
	if got := crc32.Checksum(blob[:len(blob)-4], castagnoli); got != sum {
		return 0, nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrMalformed, got, sum)
	}
	p := blob[len(envelopeMagic):]
	if p[0] != envelopeVersion {
		return 0, nil, fmt.Errorf("%w: envelope version %d, this build reads %d", ErrMalformed, p[0], envelopeVersion)
	}
	p = p[1:]
	off, n := binary.Uvarint(p)
	if n <= 0 || off > 1<<63-1 {
		return 0, nil, fmt.Errorf("%w: bad offset", ErrMalformed)
	}
	p = p[n:]
	if len(p) < 8 {
		return 0, nil, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	size := binary.BigEndian.Uint32(p)
	p = p[4 : len(p)-4]
	if uint64(size) != uint64(len(p)) {
		return 0, nil, fmt.Errorf("%w: fold of %d bytes, envelope holds %d", ErrMalformed, size, len(p))
	}
	return int64(off), p, nil
}
