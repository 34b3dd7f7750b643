package fold_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/candlecheck"
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

// TestCodecRoundTrip: a partition decoded from its bytes continues exactly as the original (same indicator
// values, same candle records, same bytes again), wherever the stream is cut; equal partitions give equal bytes.
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
			orig.Replay(v, time.Time{})
			copied.Replay(v, time.Time{})
			continue
		}
		if a, b := result(orig.Apply(&r)), result(copied.Apply(&r)); a != b {
			t.Fatalf("record %d: after a round trip %s, want %s", i, b, a)
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
		a.Replay(v, time.Time{})
		if r, err := bar.DecodeRaw(v); err == nil {
			b.Apply(&r)
		}
	}
	before := a.AppendBinary(nil)
	for _, bad := range []string{"", "null", "{}", `{"symbol":"JPM"}`, "not json"} {
		a.Replay([]byte(bad), time.Time{})
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
		p.Replay(v, time.Time{})
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

// result is what one bar got, as comparable text: its indicator values and its candle records' bytes.
func result(r fold.Result) string {
	b := fmt.Appendf(nil, "%+v", r.Indicators)
	for i := range r.Candles {
		b = append(b, '\n')
		b = candles.AppendCandle(b, &r.Candles[i])
	}
	return string(b)
}

// TestCandles: the fold's candles are those of a candles.Partition on the valid records alone, corrections and
// late bars included. On the mixed stream (JPM of 2024 and DBB of 2023 interleaved: DBB's bars are far behind
// the partition's watermark) that includes the bars counted too late; on JPM's records alone (with their
// corrections, late bars and invalid records), the newest record of every candle equals an aggregation that
// groups the bars after the fact, and no bar is too late for the default horizon.
func TestCandles(t *testing.T) {
	var jpm [][]byte
	for _, v := range stream(t) {
		if r, err := bar.DecodeRaw(v); err != nil || r.Symbol == "JPM" {
			jpm = append(jpm, v)
		}
	}
	checkCandles(t, stream(t), false)
	checkCandles(t, jpm, true)
}

func checkCandles(t *testing.T, values [][]byte, aggregate bool) {
	t.Helper()
	cfg := candles.DefaultConfig()
	p, alone := fold.NewWithCandles(cfg), candles.NewPartition(cfg)
	var bars []bar.Raw
	var kept []fold.Result // every bar's result, kept as a batch keeps them
	var keptText []string
	newest := map[candlecheck.Key]candles.Candle{}
	for i, v := range values {
		r, err := bar.DecodeRaw(v)
		if err != nil {
			p.Replay(v, time.Time{})
			continue
		}
		bars = append(bars, r)
		res := p.Apply(&r)
		kept, keptText = append(kept, res), append(keptText, result(res))
		got := res.Candles
		want := alone.Apply(&r)
		if len(got) != len(want) {
			t.Fatalf("record %d: %d candles, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("record %d: candle %d is %+v, want %+v", i, j, got[j], want[j])
			}
			newest[candlecheck.KeyOf(&got[j])] = got[j]
		}
	}
	for i := range kept {
		if result(kept[i]) != keptText[i] {
			t.Fatalf("bar %d's result changed after later bars: %s, was %s", i, result(kept[i]), keptText[i])
		}
	}
	if p.CandlesTooLate() != alone.TooLate() {
		t.Errorf("%d bars too late, the partition alone counts %d", p.CandlesTooLate(), alone.TooLate())
	}
	for _, c := range p.CloseCandles() {
		newest[candlecheck.KeyOf(&c)] = c
	}
	if !aggregate {
		if p.CandlesTooLate() == 0 {
			t.Error("no bar of the mixed stream was too late")
		}
		return
	}
	want := candlecheck.Aggregate(bars, []string{"5m", "15m", "1h"})
	if len(newest) != len(want) {
		t.Errorf("%d candles published, the aggregation has %d", len(newest), len(want))
	}
	for k, w := range want {
		if d := candlecheck.Diff(newest[k], w); d != "" {
			t.Fatalf("%v:%s", k, d)
		}
	}
	if n := p.CandlesTooLate(); n != 0 {
		t.Errorf("%d bars too late, want 0", n)
	}
}

// TestReplaySkipsBarsAhead: a bar stamped more than bar.MaxAhead after its record was written is not applied
// (the handler dead-letters it); one within the bound, or a record without a timestamp, is.
func TestReplaySkipsBarsAhead(t *testing.T) {
	at := time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)
	v := bar.AppendRaw(nil, &bar.Raw{Symbol: "AAPL", Open: 1, High: 1, Low: 1, Close: 1, Volume: 1, Time: at})
	for _, tt := range []struct {
		name    string
		written time.Time
		applied bool
	}{
		{"written after its minute", at.Add(61 * time.Second), true},
		{"no timestamp", time.Time{}, true},
		{"within the bound", at.Add(-bar.MaxAhead), true},
		{"an hour ahead", at.Add(-time.Hour), false},
	} {
		p := fold.New()
		p.Replay(v, tt.written)
		if got := p.Time().Equal(at); got != tt.applied {
			t.Errorf("%s: applied %v, want %v", tt.name, got, tt.applied)
		}
	}
}
