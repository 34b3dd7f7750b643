package candles_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/candles"
)

// stateOf returns the state bytes of a partition that read a random stream.
func stateOf(t testing.TB, seed uint64, n int) []byte {
	t.Helper()
	p := candles.NewPartition(candles.DefaultConfig())
	bars := stream(rand.New(rand.NewPCG(seed, 7)), n, 20)
	for i := range bars {
		p.Apply(&bars[i])
	}
	return p.AppendBinary(nil)
}

// TestDecodeRejectsDamage: every truncation and every single-byte change of a real state either decodes to a
// valid state or fails with ErrCorrupt, and a failed decode leaves the partition as it was.
func TestDecodeRejectsDamage(t *testing.T) {
	state := stateOf(t, 1, 300)
	keep := stateOf(t, 2, 50)
	for n := range len(state) {
		p := candles.NewPartition(candles.DefaultConfig())
		if _, err := p.DecodeBinary(keep); err != nil {
			t.Fatal(err)
		}
		if _, err := p.DecodeBinary(state[:n]); !errors.Is(err, candles.ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrCorrupt", n, len(state), err)
		}
		if !bytes.Equal(p.AppendBinary(nil), keep) {
			t.Fatalf("truncated to %d bytes: a failed decode changed the partition", n)
		}
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 3000 {
		damaged := bytes.Clone(state)
		damaged[rng.IntN(len(damaged))] ^= byte(1 + rng.IntN(255))
		checkDecoded(t, damaged)
	}
}

// FuzzDecodeBinary: decoding never panics; it fails only with ErrCorrupt; what it accepts re-encodes to a
// state that decodes to itself and takes further bars.
func FuzzDecodeBinary(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add(stateOf(f, 4, 40))
	f.Add(stateOf(f, 5, 400))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecoded(t, data)
	})
}

func checkDecoded(t *testing.T, data []byte) {
	t.Helper()
	p := candles.NewPartition(candles.DefaultConfig())
	rest, err := p.DecodeBinary(data)
	if err != nil {
		if !errors.Is(err, candles.ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	if len(rest) > len(data) || !bytes.Equal(rest, data[len(data)-len(rest):]) {
		t.Fatalf("rest is not a suffix of the input")
	}
	again := p.AppendBinary(nil)
	q := candles.NewPartition(candles.DefaultConfig())
	if rest, err := q.DecodeBinary(again); err != nil || len(rest) != 0 {
		t.Fatalf("re-encoded state does not decode: %v (rest %d bytes)", err, len(rest))
	}
	if !bytes.Equal(q.AppendBinary(nil), again) {
		t.Fatalf("re-encoded state is not stable")
	}
	w, _ := p.Watermark()
	b := mbar("A", "10:00", 10, 1)
	b.Time = w.Add(time.Minute)
	p.Apply(&b)
	p.Close()
}
