package candles

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/wire"
)

// ErrCorrupt is wrapped by every DecodeBinary error: the bytes are not a partition's state.
var ErrCorrupt = errors.New("corrupt candle state")

// The state layout (the caller versions it):
//
//	flags byte (bit 0: a watermark follows) [watermark: varint unix seconds, uvarint nanoseconds]
//	uvarint too-late count
//	uvarint number of symbols, then per symbol in byte order:
//	  uvarint length, symbol bytes, uvarint number of bars (>= 1), then per bar in time order:
//	    time: the first as varint unix seconds, the next as uvarint seconds after the previous; uvarint nanoseconds
//	    flags byte (bit 0: trade count, bit 1: vwap), open, high, low, close, volume as float64 bits (little
//	    endian), [uvarint trade count], [vwap float64 bits]
//
// The configuration is not part of the state: a state restored under another configuration keeps its bars and
// watermark, and candles follow the new configuration from there.
const (
	flagWatermark = 1 << 0
	flagTrades    = 1 << 0
	flagVWAP      = 1 << 1
	minBarBytes   = 1 + 1 + 1 + 5*8 // the smallest encoded bar: time, nanoseconds, flags, five floats
)

// AppendBinary appends the partition's state, deterministically: equal states give equal bytes.
func (p *Partition) AppendBinary(dst []byte) []byte {
	if p.hasW {
		dst = append(dst, flagWatermark)
		dst = binary.AppendVarint(dst, p.w.Unix())
		dst = binary.AppendUvarint(dst, uint64(p.w.Nanosecond()))
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, p.tooLate)
	syms := p.symbolsSorted()
	dst = binary.AppendUvarint(dst, uint64(len(syms)))
	for _, sym := range syms {
		dst = binary.AppendUvarint(dst, uint64(len(sym)))
		dst = append(dst, sym...)
		bars := p.symbols[sym].bars
		dst = binary.AppendUvarint(dst, uint64(len(bars)))
		var prev int64
		for i := range bars {
			m := &bars[i]
			sec := m.t.Unix()
			if i == 0 {
				dst = binary.AppendVarint(dst, sec)
			} else {
				dst = binary.AppendUvarint(dst, uint64(sec-prev))
			}
			prev = sec
			dst = binary.AppendUvarint(dst, uint64(m.t.Nanosecond()))
			var flags byte
			if m.hasTradeCount {
				flags |= flagTrades
			}
			if m.hasVWAP {
				flags |= flagVWAP
			}
			dst = append(dst, flags)
			for _, f := range [...]float64{m.open, m.high, m.low, m.close, m.volume} {
				dst = wire.AppendFloat64(dst, f)
			}
			if m.hasTradeCount {
				dst = binary.AppendUvarint(dst, uint64(m.tradeCount))
			}
			if m.hasVWAP {
				dst = wire.AppendFloat64(dst, m.vwap)
			}
		}
	}
	return dst
}

// DecodeBinary replaces the partition's state with the one AppendBinary wrote at the start of src and returns
// the bytes after it. Every bar is validated as bar.DecodeRaw would; on error the partition is unchanged.
func (p *Partition) DecodeBinary(src []byte) (rest []byte, err error) {
	d := decoder{wire.NewReader(src, ErrCorrupt)}
	var w time.Time
	flags := d.Byte("flags")
	if flags&^flagWatermark != 0 && d.Err() == nil {
		d.Fail("unknown flags %#x", flags)
	}
	hasW := flags&flagWatermark != 0
	if hasW {
		w = d.time("watermark", d.Varint("watermark"))
	}
	tooLate := d.Uvarint("too-late count")
	nsym := d.Count("symbols", 2+minBarBytes)
	symbols := make(map[string]*series, nsym)
	prevSym := ""
	for range nsym {
		if d.Err() != nil {
			break
		}
		sym := string(d.Bytes("symbol", d.Count("symbol length", 1)))
		if d.Err() != nil {
			break
		}
		if err := bar.ValidateSymbol(sym); err != nil {
			d.Fail("symbol: %v", err)
			break
		}
		if len(symbols) > 0 && sym <= prevSym {
			d.Fail("symbol %q out of order after %q", sym, prevSym)
			break
		}
		prevSym = sym
		s := &series{bars: make([]minute, 0, d.Count("bars", minBarBytes))}
		n := cap(s.bars)
		if n == 0 && d.Err() == nil {
			d.Fail("symbol %q has no bars", sym)
		}
		var sec int64
		for i := range n {
			if i == 0 {
				sec = d.Varint("bar time")
			} else {
				delta := d.Uvarint("bar time")
				if delta > 1<<40 {
					d.Fail("bar time step %d out of range", delta)
				}
				sec += int64(delta)
			}
			m := minute{t: d.time("bar time", sec)}
			f := d.Byte("bar flags")
			if f&^(flagTrades|flagVWAP) != 0 && d.Err() == nil {
				d.Fail("unknown bar flags %#x", f)
			}
			m.open, m.high, m.low, m.close, m.volume = d.float(), d.float(), d.float(), d.float(), d.float()
			if f&flagTrades != 0 {
				m.tradeCount, m.hasTradeCount = float64(d.Uvarint("trade count")), true
			}
			if f&flagVWAP != 0 {
				m.vwap, m.hasVWAP = d.float(), true
			}
			if d.Err() != nil {
				break
			}
			if i > 0 && !m.t.After(s.bars[i-1].t) {
				d.Fail("%s: bar times not increasing", sym)
				break
			}
			r := bar.Raw{Symbol: sym, Open: m.open, High: m.high, Low: m.low, Close: m.close, Volume: m.volume,
				TradeCount: m.tradeCount, HasTradeCount: m.hasTradeCount, VWAP: m.vwap, HasVWAP: m.hasVWAP, Time: m.t}
			if err := r.Validate(); err != nil {
				d.Fail("%s bar: %v", sym, err)
				break
			}
			s.bars = append(s.bars, m)
		}
		symbols[sym] = s
	}
	if d.Err() != nil {
		return src, d.Err()
	}
	p.symbols, p.w, p.hasW, p.tooLate = symbols, w, hasW, tooLate
	p.cut = time.Time{}
	p.sweep()
	p.rebuildPending()
	return d.Rest(), nil
}

// rebuildPending derives the open candles from the bars and the watermark: a candle is open exactly when it has
// a bar and the watermark has not reached its end + Grace.
func (p *Partition) rebuildPending() {
	for i, iv := range p.cfg.Intervals {
		p.pending[i] = p.pending[i][:0]
		for _, sym := range p.symbolsSorted() {
			var last time.Time
			for _, m := range p.symbols[sym].bars {
				start := startOf(m.t, iv)
				if start.Equal(last) || (p.hasW && !p.w.Before(start.Add(iv.Duration()+p.cfg.Grace))) {
					continue
				}
				last = start
				p.addPending(i, start, sym)
			}
		}
	}
}

// decoder reads the state layout on a wire.Reader (the first error sticks, later reads return zero).
type decoder struct {
	wire.Reader
}

// time reads the nanoseconds after sec and checks the result is a bar time.
func (d *decoder) time(what string, sec int64) time.Time {
	ns := d.Uvarint(what)
	if d.Err() != nil {
		return time.Time{}
	}
	if ns >= 1e9 {
		d.Fail("%s: %d nanoseconds", what, ns)
		return time.Time{}
	}
	// the years bar.DecodeRaw accepts (1900 to 9998) lie well inside these seconds
	if sec < -3e9 || sec > 3e11 {
		d.Fail("%s: %d seconds out of range", what, sec)
		return time.Time{}
	}
	return time.Unix(sec, int64(ns)).UTC()
}

func (d *decoder) float() float64 { return d.Float64("number") }
