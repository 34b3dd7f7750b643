// Package synth generates finfeed's demo data: a deterministic synthetic market session of minute bars and the
// previous closes it is measured against.
package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// Symbol describes one instrument's day.
type Symbol struct {
	Name string
	// PrevClose is the previous trading day's close; 0 means none is known (a new listing: Unknown).
	PrevClose float64
	// Reference is the opening price when there is no previous close.
	Reference float64
	// Gap is the first bar's move against the previous close, in percent; Drift the further move, in percent,
	// reached by the end of the regular session.
	Gap, Drift float64
	// Vol is the per-minute volatility in percent.
	Vol float64
	// Volume is the average regular-session minute volume.
	Volume float64
}

// DefaultSymbols show every indicator: NVDA gaps up past +5% (Bullish), TSLA gaps down past -5% (Bearish),
// MSFT climbs through +5% in the afternoon, AMZN slides through -5% late in the day, AAPL and JPM stay
// Neutral, and FNFD is a new listing with no previous close (Unknown).
var DefaultSymbols = []Symbol{
	{Name: "AAPL", PrevClose: 198.40, Gap: 0.4, Drift: 0.8, Vol: 0.06, Volume: 42000},
	{Name: "AMZN", PrevClose: 186.90, Gap: -1.2, Drift: -4.6, Vol: 0.07, Volume: 30000},
	{Name: "FNFD", Reference: 24.00, Gap: 0, Drift: 3.0, Vol: 0.20, Volume: 2500},
	{Name: "JPM", PrevClose: 199.80, Gap: 0.1, Drift: -0.3, Vol: 0.04, Volume: 9000},
	{Name: "MSFT", PrevClose: 452.10, Gap: 1.5, Drift: 4.4, Vol: 0.05, Volume: 18000},
	{Name: "NVDA", PrevClose: 121.35, Gap: 7.2, Drift: 1.0, Vol: 0.09, Volume: 260000},
	{Name: "TSLA", PrevClose: 183.00, Gap: -6.5, Drift: -0.5, Vol: 0.10, Volume: 95000},
}

// DefaultDate is the default session's New York trading date (a Thursday).
var DefaultDate = bar.Date{Year: 2025, Month: time.June, Day: 12}

// DefaultSeed makes the default session the same on every run.
const DefaultSeed = 20250612

// Session is a generated trading day.
type Session struct {
	Date bar.Date
	// Bars are in time order, symbols in name order within a minute.
	Bars []bar.Raw
	// Closes are the previous closes the bars compare with (and one older close per symbol).
	Closes []prevclose.Close
}

// Default is the built-in session of `feed local`.
func Default() Session { return Generate(DefaultDate, DefaultSeed, DefaultSymbols) }

// Session hours, New York time: the last half hour of pre-market from 09:00 (so a replay reaches the open
// soon), regular 09:30-16:00, after hours until 20:00.
const (
	firstMinute   = 9 * 60
	openMinute    = 9*60 + 30
	closeMinute   = 16 * 60
	lastMinute    = 20 * 60
	sessionLength = closeMinute - openMinute
)

// Generate builds the session of date from seed: the same arguments always give the same bars.
func Generate(date bar.Date, seed uint64, symbols []Symbol) Session {
	s := Session{Date: date}
	prev := previousWeekday(date)
	perSymbol := make([][]bar.Raw, len(symbols))
	for i, sym := range symbols {
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
		perSymbol[i] = day(date, sym, rng)
		if sym.PrevClose > 0 {
			s.Closes = append(s.Closes,
				prevclose.Close{Symbol: sym.Name, Date: previousWeekday(prev), Close: round2(sym.PrevClose * (1 + rng.NormFloat64()/100))},
				prevclose.Close{Symbol: sym.Name, Date: prev, Close: sym.PrevClose})
		}
	}
	for _, bs := range perSymbol {
		s.Bars = append(s.Bars, bs...)
	}
	slices.SortStableFunc(s.Bars, func(a, b bar.Raw) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		switch {
		case a.Symbol < b.Symbol:
			return -1
		case a.Symbol > b.Symbol:
			return 1
		}
		return 0
	})
	return s
}

// day is one symbol's bars. Extended hours trade thinly (minutes without a trade leave gaps); the first
// minute always trades so every symbol shows from the start.
func day(date bar.Date, sym Symbol, rng *rand.Rand) []bar.Raw {
	base := sym.PrevClose
	if base <= 0 {
		base = sym.Reference
	}
	start := base * (1 + sym.Gap/100)
	last := round2(start)
	noise := 0.0
	var out []bar.Raw
	for m := firstMinute; m < lastMinute; m++ {
		regular := m >= openMinute && m < closeMinute
		// the price keeps moving whether or not this minute trades
		noise = 0.9*noise + rng.NormFloat64()*sym.Vol/100
		progress := math.Min(math.Max(float64(m-openMinute)/sessionLength, 0), 1)
		price := round2(start * (1 + sym.Drift/100*progress) * (1 + noise))
		trades := m == firstMinute || regular || rng.Float64() < 0.25
		if !trades {
			continue
		}
		open, cls := last, price
		if m == firstMinute {
			open = round2(start)
		}
		spread := math.Max(0.01, round2(math.Abs(rng.NormFloat64())*sym.Vol/100*price))
		high := round2(math.Max(open, cls) + spread*rng.Float64())
		low := round2(math.Max(0.01, math.Min(open, cls)-spread*rng.Float64()))
		volume := math.Round(sym.Volume * curve(m) * (0.5 + rng.Float64()))
		if volume < 1 {
			volume = 1
		}
		tradeCount := math.Max(1, math.Round(volume/(60+40*rng.Float64())))
		out = append(out, bar.Raw{
			Symbol: sym.Name, Open: open, High: high, Low: low, Close: cls, Volume: volume,
			TradeCount: tradeCount, HasTradeCount: true,
			VWAP: math.Round((open+high+low+cls)/4*10000) / 10000, HasVWAP: true,
			Time: minuteTime(date, m),
		})
		last = cls
	}
	return out
}

// curve is the intraday volume profile relative to the regular-session average: thin extended hours, heavy
// open and close (a U shape).
func curve(m int) float64 {
	switch {
	case m < openMinute:
		return 0.04
	case m >= closeMinute:
		return 0.06
	}
	i := float64(m - openMinute)
	return 0.55 + 2.5*math.Exp(-i/25) + 1.6*math.Exp(-(sessionLength-1-i)/20)
}

func minuteTime(d bar.Date, m int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, m/60, m%60, 0, 0, bar.NewYork).UTC()
}

func previousWeekday(d bar.Date) bar.Date {
	for {
		d = d.AddDays(-1)
		if wd := d.Time().Weekday(); wd != time.Saturday && wd != time.Sunday {
			return d
		}
	}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
