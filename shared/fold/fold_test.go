package fold_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/indicators"
)

// stream is a multi-symbol raw partition made of real bars: the JPM fixture and the first 3,000 DBB bars, with
// corrections of the latest bar, late bars, and invalid records mixed in (seeded).
func stream(t *testing.T) [][]byte {
	t.Helper()
	var values [][]byte
	values = append(values, lines(fixtures.Read(t, fixtures.JPMRaw))...)
	zr, err := gzip.NewReader(bytes.NewReader(fixtures.Read(t, fixtures.DBBRawGzip)))
	if err != nil {
		t.Fatal(err)
	}
	dbb, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	all := lines(dbb)
	values = append(values, all[:min(3000, len(all))]...)
	rng := rand.New(rand.NewPCG(14, 15))
	out := make([][]byte, 0, len(values)+len(values)/5)
	a, b := values[:870], values[870:]
	for len(a) > 0 || len(b) > 0 {
		var v []byte
		if len(b) == 0 || (len(a) > 0 && rng.IntN(2) == 0) {
			v, a = a[0], a[1:]
		} else {
			v, b = b[0], b[1:]
		}
		out = append(out, v)
		r, err := bar.DecodeRaw(v)
		if err != nil {
			continue
		}
		switch rng.IntN(20) {
		case 0: // a correction of the latest bar
			r.Close *= 1.001
			r.High = max(r.High, r.Close)
			out = append(out, bar.AppendRaw(nil, &r))
		case 1: // a late bar, ten minutes old
			r.Time = r.Time.Add(-10 * time.Minute)
			out = append(out, bar.AppendRaw(nil, &r))
		case 2:
			out = append(out, []byte(`{"symbol":"JPM","close":-1}`))
		}
	}
	return out
}

func lines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

// TestApplyIsEachSymbolsSeries: the partition gives every bar what its symbol's own series gives it.
func TestApplyIsEachSymbolsSeries(t *testing.T) {
	p := fold.New()
	series := map[string]*indicators.Series{}
	n := 0
	for _, v := range stream(t) {
		r, err := bar.DecodeRaw(v)
		if err != nil {
			continue
		}
		s := series[r.Symbol]
		if s == nil {
			s = new(indicators.Series)
			series[r.Symbol] = s
		}
		want := s.Apply(&r)
		if got := p.Apply(&r).Indicators; got != want {
			t.Fatalf("bar %d (%s %v): got %+v, want %+v", n, r.Symbol, r.Time, got, want)
		}
		n++
	}
	if p.Symbols() != 2 || n < 3800 {
		t.Errorf("got %d symbols and %d bars, want 2 and the whole stream", p.Symbols(), n)
	}
}

// TestCodecRoundTrip: a partition decoded from its bytes continues exactly as the original (same values, same
// bytes again), wherever the stream is cut; equal partitions give equal bytes.
func TestCodecRoundTrip(t *testing.T) {
	values := stream(t)
	orig, copied := fold.New(), fold.New()
	rng := rand.New(rand.NewPCG(1, 2))
	for i, v := range values {
		if rng.IntN(50) == 0 || i == 0 {
			blob := copied.AppendBinary(nil)
			d, err := fold.Decode(blob)
			if err != nil {
				t.Fatalf("record %d: decode: %v", i, err)
			}
			if again := d.AppendBinary(nil); !bytes.Equal(again, blob) {
				t.Fatalf("record %d: decoded partition encodes to other bytes", i)
			}
			if !d.Time().Equal(copied.Time()) {
				t.Fatalf("record %d: time %v, want %v", i, d.Time(), copied.Time())
			}
			copied = d
		}
		r, err := bar.DecodeRaw(v)
		if err != nil {
			orig.Replay(v)
			copied.Replay(v)
			continue
		}
		if a, b := orig.Apply(&r), copied.Apply(&r); a != b {
			t.Fatalf("record %d: after a round trip %+v, want %+v", i, b, a)
		}
	}
	if !bytes.Equal(orig.AppendBinary(nil), copied.AppendBinary(nil)) {
		t.Error("final partitions differ")
	}
}

// TestReplayIsApply: Replay of a record's bytes folds exactly what Apply of its decoded bar folds, and leaves
// the partition unchanged for a record bar.DecodeRaw refuses.
func TestReplayIsApply(t *testing.T) {
	a, b := fold.New(), fold.New()
	for _, v := range stream(t) {
		a.Replay(v)
		if r, err := bar.DecodeRaw(v); err == nil {
			b.Apply(&r)
		}
	}
	before := a.AppendBinary(nil)
	for _, bad := range []string{"", "null", "{}", `{"symbol":"JPM"}`, "not json"} {
		a.Replay([]byte(bad))
	}
	if after := a.AppendBinary(nil); !bytes.Equal(before, after) || !bytes.Equal(after, b.AppendBinary(nil)) {
		t.Error("replay differs from apply, or an invalid record changed the partition")
	}
}

// TestDecodeCorrupt: every truncation, a flipped byte anywhere, another version and trailing bytes are refused
// with ErrCorrupt or decode to a partition (a flipped float), never a panic.
func TestDecodeCorrupt(t *testing.T) {
	p := fold.New()
	for i, v := range stream(t) {
		if i > 300 {
			break
		}
		p.Replay(v)
	}
	blob := p.AppendBinary(nil)
	for n := range len(blob) {
		if _, err := fold.Decode(blob[:n]); !errors.Is(err, fold.ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: got %v, want ErrCorrupt", n, len(blob), err)
		}
	}
	for i := range blob {
		c := bytes.Clone(blob)
		c[i] ^= 0xa5
		if _, err := fold.Decode(c); err != nil && !errors.Is(err, fold.ErrCorrupt) {
			t.Fatalf("byte %d flipped: error %v does not wrap ErrCorrupt", i, err)
		}
	}
	for name, c := range map[string][]byte{
		"other version": append([]byte{fold.Version + 1}, blob[1:]...),
		"trailing":      append(bytes.Clone(blob), 0),
	} {
		if _, err := fold.Decode(c); !errors.Is(err, fold.ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}
