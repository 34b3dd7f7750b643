package indicators

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/wire"
)

// ErrCorrupt is wrapped by every DecodeBinary error: the bytes are not a series AppendBinary wrote.
var ErrCorrupt = errors.New("corrupt indicator series")

// Bounds a decoded series must respect, so that no later Apply can produce a NaN or an infinity. Series built by
// Apply from valid bars stay far inside them.
const (
	maxAverage   = 2 * bar.MaxPrice // an EMA or a Wilder average: a weighted mean of prices or of price changes
	maxSessionPV = 1e30             // Σ price·volume of one symbol's day: 1e7 × 1e11 per bar × 1,440 bars is 1.44e21
	maxSessionV  = 1e20
)

// AppendBinary appends the series in a compact, deterministic binary form (equal series give equal bytes). It
// carries no format version: the caller versions the blob it stores this in.
//
// Layout: uvarint bar count; when non-zero: varint Unix seconds and uvarint nanoseconds of the latest bar's time,
// the state after and before the latest bar (6 float64 and a date each), then the kept closes and volumes, oldest
// first. Floats are IEEE 754 bits, little-endian.
func (s *Series) AppendBinary(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(s.n))
	if s.n == 0 {
		return dst
	}
	dst = binary.AppendVarint(dst, s.latest.Unix())
	dst = binary.AppendUvarint(dst, uint64(s.latest.Nanosecond()))
	dst = s.cur.appendBinary(dst)
	dst = s.prev.appendBinary(dst)
	for _, x := range s.closes[:min(s.n, keptCloses)] {
		dst = appendFloat(dst, x)
	}
	for _, x := range s.volumes[:min(s.n, keptVolumes)] {
		dst = appendFloat(dst, x)
	}
	return dst
}

func (p *point) appendBinary(dst []byte) []byte {
	for _, x := range [...]float64{p.ema12, p.ema26, p.avgGain, p.avgLoss, p.sessionPV, p.sessionVolume} {
		dst = appendFloat(dst, x)
	}
	dst = binary.AppendUvarint(dst, uint64(p.sessionDate.Year))
	dst = binary.AppendUvarint(dst, uint64(p.sessionDate.Month))
	return binary.AppendUvarint(dst, uint64(p.sessionDate.Day))
}

func appendFloat(dst []byte, x float64) []byte {
	return wire.AppendFloat64(dst, x)
}

// DecodeBinary replaces s with the series AppendBinary wrote at the start of src and returns the bytes after it.
// Malformed or out-of-range input is an error wrapping ErrCorrupt, and s is then left unchanged.
func (s *Series) DecodeBinary(src []byte) (rest []byte, err error) {
	d := decoder{wire.NewReader(src, ErrCorrupt)}
	var t Series
	n := d.Uvarint("bar count")
	if d.Err() == nil && n > math.MaxInt64/2 {
		d.Fail("bar count %d out of range", n)
	}
	t.n = int64(n)
	if t.n > 0 {
		sec := d.Varint("latest time")
		nsec := d.Uvarint("latest time nanoseconds")
		if d.Err() == nil && (nsec >= 1e9 || sec < minUnix || sec > maxUnix) {
			d.Fail("latest time %d.%09d out of range", sec, nsec)
		}
		t.latest = time.Unix(sec, int64(nsec)).UTC()
		d.point(&t.cur, "state after the latest bar")
		d.point(&t.prev, "state before the latest bar")
		for i := range t.closes[:min(t.n, keptCloses)] {
			t.closes[i] = d.float("close", bar.MinPrice, bar.MaxPrice)
		}
		for i := range t.volumes[:min(t.n, keptVolumes)] {
			t.volumes[i] = d.float("volume", 0, bar.MaxVolume)
		}
	}
	if d.Err() != nil {
		return src, d.Err()
	}
	*s = t
	return d.Rest(), nil
}

// The latest bar time a decoded series may hold: years 0000 to 9999, what a raw bar's timestamp can say.
var (
	minUnix = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// decoder reads the series layout on a wire.Reader (the first error sticks, later reads return zero).
type decoder struct {
	wire.Reader
}

// float reads a float64 and checks lo <= x <= hi (which also rejects NaN).
func (d *decoder) float(what string, lo, hi float64) float64 {
	x := d.Float64(what)
	if d.Err() != nil {
		return 0
	}
	if !(x >= lo && x <= hi) {
		d.Fail("%s: %v is outside [%v, %v]", what, x, lo, hi)
		return 0
	}
	return x
}

func (d *decoder) point(p *point, what string) {
	p.ema12 = d.float(what+": ema12", 0, maxAverage)
	p.ema26 = d.float(what+": ema26", 0, maxAverage)
	p.avgGain = d.float(what+": average gain", 0, maxAverage)
	p.avgLoss = d.float(what+": average loss", 0, maxAverage)
	p.sessionPV = d.float(what+": session price×volume", 0, maxSessionPV)
	p.sessionVolume = d.float(what+": session volume", 0, maxSessionV)
	y, m, day := d.Uvarint(what+": year"), d.Uvarint(what+": month"), d.Uvarint(what+": day")
	if d.Err() != nil {
		return
	}
	switch {
	case y > 9999 || m > 12 || day > 31:
		d.Fail("%s: date %d-%d-%d out of range", what, y, m, day)
	case p.sessionVolume == 0 && p.sessionPV != 0:
		d.Fail("%s: session price×volume %v with no volume", what, p.sessionPV)
	case p.sessionVolume > 0 && p.sessionPV/p.sessionVolume > maxAverage:
		d.Fail("%s: session vwap %v out of range", what, p.sessionPV/p.sessionVolume)
	}
	p.sessionDate = bar.Date{Year: int(y), Month: time.Month(m), Day: int(day)}
}
