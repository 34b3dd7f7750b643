// Package fold is the state of one raw partition that the enrich function carries from bar to bar: every
// symbol's indicator series and the partition's candles, folded over its valid records in offset order. The
// state engine (package state) keeps, checkpoints and replays it.
package fold

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/indicators"
	"github.com/finfeed/finfeed/shared/state"
)

// Partition is the fold of one raw partition. The zero value is not ready: use New.
type Partition struct {
	series map[string]*indicators.Series
	// latest is the newest bar time applied: the checkpoint policy's clock.
	latest time.Time
	// candles aggregates the partition's bars into 5m/15m/1h candles.
	candles *candles.Partition
}

// Result is what one bar gets from the fold.
type Result struct {
	Indicators indicators.Values
	// Candles are the candles the bar makes due (candles.Partition.Apply), the caller's to keep: a batch holds
	// every bar's Result until it writes them.
	Candles []candles.Candle
}

// New returns the fold of an empty partition, with the default candle configuration.
func New() *Partition { return NewWithCandles(candles.DefaultConfig()) }

// NewWithCandles returns the fold of an empty partition building cfg's candles (CANDLES_GRACE, CANDLES_PARTIAL).
func NewWithCandles(cfg candles.Config) *Partition {
	return &Partition{series: make(map[string]*indicators.Series), candles: candles.NewPartition(cfg)}
}

// Codec is how the state engine makes and decodes partitions, with the default candle configuration.
var Codec = CodecWithCandles(candles.DefaultConfig())

// CodecWithCandles makes and decodes partitions building cfg's candles. The candle configuration is not part of
// the state: a checkpoint written under another one continues under cfg.
func CodecWithCandles(cfg candles.Config) state.Codec[*Partition] {
	return state.Codec[*Partition]{
		New:    func() *Partition { return NewWithCandles(cfg) },
		Decode: func(src []byte) (*Partition, error) { return decode(src, cfg) },
	}
}

var _ state.Fold = (*Partition)(nil)

// Apply folds one bar (one that bar.DecodeRaw accepted, whether or not its previous close is known) into the
// partition and returns what the bar carries.
func (p *Partition) Apply(b *bar.Raw) Result {
	s := p.series[b.Symbol]
	if s == nil {
		s = new(indicators.Series)
		p.series[b.Symbol] = s
	}
	if b.Time.After(p.latest) {
		p.latest = b.Time
	}
	r := Result{Indicators: s.Apply(b)}
	if cs := p.candles.Apply(b); len(cs) > 0 {
		r.Candles = slices.Clone(cs) // candles.Partition reuses its slice on the next bar
	}
	return r
}

// CandlesTooLate counts the bars that came too late for a frozen candle (candles.Partition.TooLate).
func (p *Partition) CandlesTooLate() uint64 { return p.candles.TooLate() }

// CloseCandles publishes every open candle of the partition as final (end of input, `feed candles`; the enrich
// function never calls it). The slice is valid until the next Apply.
func (p *Partition) CloseCandles() []candles.Candle { return p.candles.Close() }

// Replay implements state.Fold: a raw record's value, applied when bar.DecodeRaw accepts it and its bar does not
// start too far after the record was written (bar.CheckAhead), as the handler does.
func (p *Partition) Replay(value []byte, written time.Time) {
	if b, err := bar.DecodeRaw(value); err == nil && bar.CheckAhead(&b, written) == nil {
		p.Apply(&b)
	}
}

// Time implements state.Fold: the newest bar time applied.
func (p *Partition) Time() time.Time { return p.latest }

// Symbols is how many symbols the partition has seen.
func (p *Partition) Symbols() int { return len(p.series) }

// Version is the encoding's format version, its first byte. A change of what the fold holds or computes gets a
// new version: checkpoints of another version are not read (the engine replays instead), so no container ever
// continues from state that another build computed differently.
const Version = 3 // 2: candles after the series; 3: bars stamped more than bar.MaxAhead after their record was written are not applied

// ErrCorrupt is wrapped by every Decode error.
var ErrCorrupt = errors.New("corrupt partition state")

// AppendBinary implements state.Fold. Layout: version byte; varint Unix seconds and uvarint nanoseconds of the
// newest bar time (0 0 before any); uvarint symbol count; per symbol, in byte order: uvarint length, the
// symbol, its series (indicators.Series.AppendBinary); then the candles (candles.Partition.AppendBinary). Equal
// folds give equal bytes.
func (p *Partition) AppendBinary(dst []byte) []byte {
	dst = append(dst, Version)
	var sec int64
	var nsec int
	if !p.latest.IsZero() {
		sec, nsec = p.latest.Unix(), p.latest.Nanosecond()
	}
	dst = binary.AppendVarint(dst, sec)
	dst = binary.AppendUvarint(dst, uint64(nsec))
	syms := make([]string, 0, len(p.series))
	for s := range p.series {
		syms = append(syms, s)
	}
	slices.Sort(syms)
	dst = binary.AppendUvarint(dst, uint64(len(syms)))
	for _, s := range syms {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
		dst = p.series[s].AppendBinary(dst)
	}
	return p.candles.AppendBinary(dst)
}

// Decode reads AppendBinary's bytes with the default candle configuration; anything else (another version,
// truncated, trailing bytes, a series or candle state that does not decode) is an error wrapping ErrCorrupt.
func Decode(src []byte) (*Partition, error) { return decode(src, candles.DefaultConfig()) }

func decode(src []byte, cfg candles.Config) (*Partition, error) {
	if len(src) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if src[0] != Version {
		return nil, fmt.Errorf("%w: format version %d, this build reads %d", ErrCorrupt, src[0], Version)
	}
	p := NewWithCandles(cfg)
	src = src[1:]
	sec, n := binary.Varint(src)
	if n <= 0 {
		return nil, fmt.Errorf("%w: latest time", ErrCorrupt)
	}
	src = src[n:]
	nsec, n := binary.Uvarint(src)
	if n <= 0 || nsec >= 1e9 {
		return nil, fmt.Errorf("%w: latest time", ErrCorrupt)
	}
	src = src[n:]
	if sec != 0 || nsec != 0 {
		p.latest = time.Unix(sec, int64(nsec)).UTC()
	}
	count, n := binary.Uvarint(src)
	if n <= 0 || count > uint64(len(src)) { // every symbol takes at least two bytes
		return nil, fmt.Errorf("%w: symbol count", ErrCorrupt)
	}
	src = src[n:]
	prev := ""
	for i := range count {
		l, n := binary.Uvarint(src)
		if n <= 0 || l == 0 || l > uint64(len(src)-n) {
			return nil, fmt.Errorf("%w: symbol %d", ErrCorrupt, i)
		}
		sym := string(src[n : n+int(l)])
		src = src[n+int(l):]
		if err := bar.ValidateSymbol(sym); err != nil {
			return nil, fmt.Errorf("%w: symbol %d: %w", ErrCorrupt, i, err)
		}
		if i > 0 && sym <= prev {
			return nil, fmt.Errorf("%w: symbol %q out of order", ErrCorrupt, sym)
		}
		prev = sym
		s := new(indicators.Series)
		rest, err := s.DecodeBinary(src)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, sym, err)
		}
		src = rest
		p.series[sym] = s
	}
	src, err := p.candles.DecodeBinary(src)
	if err != nil {
		return nil, fmt.Errorf("%w: candles: %w", ErrCorrupt, err)
	}
	if len(src) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(src))
	}
	return p, nil
}
