package indicators_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/indicators"
)

// TestCodecRoundTrip: at every point of random streams (corrections and late bars included), a series decoded from
// its encoding encodes to the same bytes and then gives exactly the same values as the original for every
// following bar, and the bytes after the series are returned untouched.
func TestCodecRoundTrip(t *testing.T) {
	for seed := range uint64(6) {
		bars := randomBars(100+seed, 160)
		var s indicators.Series
		for i := range bars {
			blob := s.AppendBinary([]byte("prefix"))[len("prefix"):]
			var d indicators.Series
			rest, err := d.DecodeBinary(append(bytes.Clone(blob), "tail"...))
			if err != nil {
				t.Fatalf("seed %d, after %d bars: decode: %v", seed, i, err)
			}
			if string(rest) != "tail" {
				t.Fatalf("seed %d, after %d bars: rest %q, want %q", seed, i, rest, "tail")
			}
			if again := d.AppendBinary(nil); !bytes.Equal(again, blob) {
				t.Fatalf("seed %d, after %d bars: re-encoding differs:\n got %x\nwant %x", seed, i, again, blob)
			}
			for j := i; j < min(i+60, len(bars)); j++ {
				if got, want := d.Apply(&bars[j]), s.Apply(&bars[j]); got != want {
					t.Fatalf("seed %d, decoded after %d bars, bar %d: got %+v, want %+v", seed, i, j, got, want)
				}
			}
			// start the original again from the same point for the next i
			if _, err := s.DecodeBinary(blob); err != nil {
				t.Fatal(err)
			}
			s.Apply(&bars[i])
		}
	}
}

// TestCodecZeroValue: the empty series is one byte and decodes to a series that has seen no bars.
func TestCodecZeroValue(t *testing.T) {
	var s indicators.Series
	blob := s.AppendBinary(nil)
	if !bytes.Equal(blob, []byte{0}) {
		t.Fatalf("zero series: got %x, want 00", blob)
	}
	d := seriesAfter(t, 30)
	if _, err := d.DecodeBinary(blob); err != nil {
		t.Fatal(err)
	}
	if v := d.Apply(&bar.Raw{Symbol: "X", Close: 1, High: 1, Low: 1, Open: 1, Volume: 1, Time: time.Unix(0, 0)}); v.HasEMA12 || v.OutOfSequence {
		t.Fatalf("decoded zero series behaves as if it had bars: %+v", v)
	}
}

func seriesAfter(t *testing.T, n int) *indicators.Series {
	t.Helper()
	var s indicators.Series
	for _, b := range randomBars(7, n) {
		s.Apply(&b)
	}
	return &s
}

// TestDecodeMalformed: truncated, corrupted and out-of-range encodings are errors wrapping ErrCorrupt, never a
// panic, and they leave the series as it was.
func TestDecodeMalformed(t *testing.T) {
	full := seriesAfter(t, 120)
	blob := full.AppendBinary(nil)
	before := seriesAfter(t, 30).AppendBinary(nil)

	check := func(t *testing.T, src []byte) {
		t.Helper()
		s := seriesAfter(t, 30)
		_, err := s.DecodeBinary(src)
		if !errors.Is(err, indicators.ErrCorrupt) {
			t.Fatalf("got error %v, want one wrapping ErrCorrupt", err)
		}
		t.Log(err)
		if got := s.AppendBinary(nil); !bytes.Equal(got, before) {
			t.Fatal("a failed decode changed the series")
		}
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(blob) {
			check(t, blob[:n])
		}
	})
	// the offset of the first float (ema12 after the latest bar): count, Unix seconds, nanoseconds (0: one byte)
	hdr := len(binary.AppendUvarint(nil, 120)) + len(binary.AppendVarint(nil, mustLatest(t, blob))) + 1
	floatAt := func(off int, x float64) []byte {
		b := bytes.Clone(blob)
		binary.LittleEndian.PutUint64(b[off:], math.Float64bits(x))
		return b
	}
	cases := map[string][]byte{
		"empty":            {},
		"bad count varint": {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"huge count":       binary.AppendUvarint(nil, math.MaxUint64),
		"nanoseconds ≥ 1s": append(binary.AppendVarint(binary.AppendUvarint(nil, 1), 0), binary.AppendUvarint(nil, 1e9)...),
		"year 10000":       append(binary.AppendVarint(binary.AppendUvarint(nil, 1), 253402300800), 0),
		"ema12 NaN":        floatAt(hdr, math.NaN()),
		"ema26 +Inf":       floatAt(hdr+8, math.Inf(1)),
		"average loss < 0": floatAt(hdr+24, -1),
		"session pv huge":  floatAt(hdr+32, 1e31),
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) { check(t, src) })
	}
	for _, x := range []float64{0, math.NaN(), -1, 1e8} {
		t.Run(fmt.Sprintf("last close %v", x), func(t *testing.T) { check(t, floatAt(len(blob)-8*(21+1), x)) })
	}
	for _, x := range []float64{math.NaN(), -1, 1e12} {
		t.Run(fmt.Sprintf("last volume %v", x), func(t *testing.T) { check(t, floatAt(len(blob)-8, x)) })
	}
}

// mustLatest reads the latest-time field of an encoding (after the count).
func mustLatest(t *testing.T, blob []byte) int64 {
	t.Helper()
	_, k := binary.Uvarint(blob)
	v, m := binary.Varint(blob[k:])
	if m <= 0 {
		t.Fatal("bad blob")
	}
	return v
}

// FuzzDecodeBinary: any input decodes to a series or an error wrapping ErrCorrupt, never a panic. A decoded series
// re-encodes canonically (decode(encode(s)) encodes alike), and applying valid bars to it gives only finite values.
func FuzzDecodeBinary(f *testing.F) {
	for _, n := range []int{0, 1, 13, 16, 27, 60, 200} {
		var s indicators.Series
		for _, b := range randomBars(uint64(n), n) {
			s.Apply(&b)
		}
		f.Add(s.AppendBinary(nil))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var s indicators.Series
		rest, err := s.DecodeBinary(src)
		if err != nil {
			if !errors.Is(err, indicators.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if len(rest) > len(src) {
			t.Fatal("rest longer than input")
		}
		blob := s.AppendBinary(nil)
		var d indicators.Series
		if _, err := d.DecodeBinary(blob); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again := d.AppendBinary(nil); !bytes.Equal(again, blob) {
			t.Fatal("not canonical after one round trip")
		}
		rng := rand.New(rand.NewPCG(uint64(len(src)), 1))
		last := time.Unix(0, 0).UTC()
		for i := range 40 {
			last = last.Add(time.Duration(rng.IntN(3)) * 24 * time.Hour / 3)
			c := []float64{bar.MinPrice, bar.MaxPrice, 1 + rng.Float64()*100}[rng.IntN(3)]
			b := bar.Raw{Symbol: "F", Open: c, High: c, Low: c, Close: c, Volume: []float64{0, bar.MaxVolume, 5}[rng.IntN(3)], Time: last}
			if rng.IntN(2) == 0 {
				b.VWAP, b.HasVWAP = c, true
			}
			if i%7 == 0 {
				b.Time = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
			}
			v := s.Apply(&b)
			for _, x := range []float64{v.SMA20, v.SMA50, v.EMA12, v.EMA26, v.RSI14, v.VWAPSession} {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("bar %d: non-finite value in %+v", i, v)
				}
			}
		}
	})
}
