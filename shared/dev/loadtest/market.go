package loadtest

import (
	"math"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// Market is the synthetic market a run writes: n distinct symbols, one bar per symbol per market minute, with
// prices chosen so that every indicator value appears each minute. One symbol in noCloseEvery (the 20th, then
// every noCloseEvery-th) has no previous close (Unknown: a new listing), two in 20 trade 6–7 % above it
// (Bullish), two in 20 6–7 % below it (Bearish), the rest within ±1 % (Neutral).
type Market struct {
	symbols      []string
	index        map[string]int
	noCloseEvery int
}

// DefaultNoCloseEvery is one symbol in 200 without a previous close: more than the real market's handful of new
// listings a day, so that the cost of Unknown symbols (a lookup each minute) shows.
const DefaultNoCloseEvery = 200

// Session is the market day the bars belong to; previous closes are dated the day before.
var (
	sessionOpen   = time.Date(2024, 7, 11, 13, 30, 0, 0, time.UTC) // 09:30 New York
	prevCloseDate = bar.Date{Year: 2024, Month: 7, Day: 10}
)

// NewMarket returns a market of n symbols (four to five capital letters: AAAA, AAAB, ...), one in noCloseEvery
// without a previous close (0: none; values below 20 count as 20).
func NewMarket(n, noCloseEvery int) *Market {
	m := &Market{symbols: make([]string, n), index: make(map[string]int, n), noCloseEvery: noCloseEvery}
	if noCloseEvery > 0 {
		m.noCloseEvery = max(noCloseEvery, 20)
	}
	for i := range n {
		s := symbolName(i)
		m.symbols[i] = s
		m.index[s] = i
	}
	return m
}

// symbolName spells i in base 26 with at least four letters.
func symbolName(i int) string {
	var b [8]byte
	p := len(b)
	for k := 0; k < 4 || i > 0; k++ {
		p--
		b[p] = byte('A' + i%26)
		i /= 26
	}
	return string(b[p:])
}

// Symbols are the market's symbols in order.
func (m *Market) Symbols() []string { return m.symbols }

// hasClose reports whether symbol i has a previous close (one in noCloseEvery has none, from the 20th on; the
// 20th is Neutral-priced, so no Bullish or Bearish symbol loses its close).
func (m *Market) hasClose(i int) bool { return m.noCloseEvery == 0 || i%m.noCloseEvery != 19 }

// prevClose is symbol i's previous close.
func prevClose(i int) float64 { return cents(20 + float64(i%997)*0.37) }

func cents(x float64) float64 { return math.Round(x*100) / 100 }

// Closes are the previous closes of every symbol that has one: what a table must hold before a run.
func (m *Market) Closes() []prevclose.Close {
	cs := make([]prevclose.Close, 0, len(m.symbols))
	for i, s := range m.symbols {
		if m.hasClose(i) {
			cs = append(cs, prevclose.Close{Symbol: s, Date: prevCloseDate, Close: prevClose(i)})
		}
	}
	return cs
}

// Bar is symbol i's bar of market minute k (0 is the session's first).
func (m *Market) Bar(i, k int) bar.Raw {
	pc := prevClose(i)
	var c float64
	switch i % 20 {
	case 0, 1: // Bullish
		c = pc * (1.06 + 0.002*float64(k%5))
	case 2, 3: // Bearish
		c = pc * (0.94 - 0.002*float64(k%5))
	default: // Neutral (and Unknown for the symbols without a close)
		c = pc * (1 + 0.002*float64((i+k)%11-5))
	}
	c = cents(c)
	o := cents(c - 0.03)
	return bar.Raw{
		Symbol: m.symbols[i], Open: o, High: cents(c + 0.05), Low: cents(o - 0.05), Close: c,
		Volume: float64(100 + (i*7+k*13)%5000), TradeCount: float64(1 + (i+k)%90), HasTradeCount: true,
		VWAP: cents((o + c) / 2), HasVWAP: true, Time: sessionOpen.Add(time.Duration(k) * time.Minute),
	}
}

// expected is the previous close the enrich function must use for symbol, and whether there is one; known is
// false for a symbol not in the market.
func (m *Market) expected(symbol string) (i int, close float64, ok, known bool) {
	i, known = m.index[symbol]
	if !known || !m.hasClose(i) {
		return i, 0, false, known
	}
	return i, prevClose(i), true, true
}
