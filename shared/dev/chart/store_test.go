package chart

import (
	"cmp"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 12, 14, 0, 0, 0, time.UTC)

// minute is a plain bar m minutes after t0 closing at c.
func minute(m int, c float64) Bar {
	at := t0.Add(time.Duration(m) * time.Minute)
	return Bar{Time: at, T: at.Format("2006-01-02 15:04:05"), Open: c, High: c, Low: c, Close: c, Volume: 1}
}

func times(bars []Bar) []string {
	var out []string
	for _, b := range bars {
		out = append(out, b.T[11:16])
	}
	return out
}

func ptr(f float64) *float64 { return &f }

func TestStoreOrdersAndReplaces(t *testing.T) {
	s := NewStore(Limits{})
	s.Add("A", Minute, minute(2, 10))
	s.Add("A", Minute, minute(0, 11))
	s.Add("A", Minute, minute(3, 12))
	withSMA := minute(1, 13)
	withSMA.SMA20 = ptr(12.5)
	s.Add("A", Minute, withSMA)
	late := minute(1, 14) // a late correction: outOfSequence, indicators null
	late.OutOfSequence = true
	s.Add("A", Minute, late)
	s.Add("B", "5m", minute(0, 20))

	bars, latest, ok := s.Series("A", Minute)
	if got, want := times(bars), []string{"14:00", "14:01", "14:02", "14:03"}; !slices.Equal(got, want) {
		t.Fatalf("got times %v, want %v", got, want)
	}
	if bars[1].Close != 14 || bars[1].SMA20 == nil || *bars[1].SMA20 != 12.5 {
		t.Errorf("corrected bar: close %v sma20 %v; want the correction's close 14 and the indicator it did not carry kept (12.5)", bars[1].Close, bars[1].SMA20)
	}
	if !ok || latest.T != bars[3].T {
		t.Errorf("latest %+v (ok %v), want the 14:03 bar", latest, ok)
	}
	if _, _, ok := s.Series("B", "5m"); ok {
		t.Error("B has a latest enriched bar, but only a candle was added")
	}
	if got := s.Symbols(); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("symbols %v, want [A B]", got)
	}
	if st := s.Stats(); st.Records != 6 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 6 records, none dropped", st)
	}
}

func TestStoreLimits(t *testing.T) {
	s := NewStore(Limits{Bars: 3, Symbols: 2})
	for m := range 5 {
		s.Add("A", Minute, minute(m+1, 1))
	}
	s.Add("A", Minute, minute(0, 1)) // older than everything a full history keeps
	bars, _, _ := s.Series("A", Minute)
	if got, want := times(bars), []string{"14:03", "14:04", "14:05"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want the newest three %v", got, want)
	}
	s.Add("B", Minute, minute(0, 1))
	s.Add("C", Minute, minute(0, 1)) // a third symbol
	s.Add("B", "5m", minute(0, 1))   // a known symbol still gets new intervals
	if got := s.Symbols(); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("symbols %v, want [A B]", got)
	}
	if st := s.Stats(); st.Dropped != 2 {
		t.Errorf("dropped %d, want 2 (the too-old bar and symbol C)", st.Dropped)
	}
}

func TestStoreIntervals(t *testing.T) {
	s := NewStore(Limits{})
	for _, iv := range []string{"1h", "15m", "5m", Minute, "weekly"} {
		s.Add("A", iv, minute(0, 1))
	}
	if got, want := s.Intervals(), []string{Minute, "5m", "15m", "1h", "weekly"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestStoreSubscribers(t *testing.T) {
	s := NewStore(Limits{})
	fast, cancelFast := s.Subscribe()
	defer cancelFast()
	slow, cancelSlow := s.Subscribe()
	defer cancelSlow()
	for m := range subscriberBuffer + 1 {
		s.Add("A", Minute, minute(m, 1))
		if u := <-fast; u.Symbol != "A" || u.Interval != Minute || u.Bar.Time != t0.Add(time.Duration(m)*time.Minute) {
			t.Fatalf("update %d: got %+v", m, u)
		}
	}
	n := 0
	for range slow {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("the slow subscriber got %d updates before it was cut off, want %d", n, subscriberBuffer)
	}
	cancelFast()
	if _, open := <-fast; open {
		t.Error("a cancelled subscription's channel is still open")
	}
	cancelFast() // twice is harmless
}

// candle is a 5m candle starting m minutes after t0, closing at c, final or partial.
func candle(m int, c float64, final bool) Bar {
	b := minute(m, c)
	b.Bars, b.Final = 5, &final
	return b
}

// TestStoreReplaceOrAdd: the rules for a record whose bar is already drawn. Each case adds its records in order
// and checks the series the page gets (times and closes), how many updates subscribers got and the counts.
func TestStoreReplaceOrAdd(t *testing.T) {
	type add struct {
		symbol, interval string
		bar              Bar
	}
	corrected := minute(1, 15) // a correction as the enrich function publishes it: outOfSequence, indicators null
	corrected.OutOfSequence = true
	withSMA := minute(1, 13)
	withSMA.SMA20 = ptr(12.5)
	for _, tc := range []struct {
		name    string
		adds    []add
		symbol  string
		iv      string
		times   []string
		closes  []float64
		final   []bool // of the candles, when iv is a candle interval
		updates int
		stale   int64
		symbols []string
	}{
		{name: "new times are added in time order",
			adds:  []add{{"A", Minute, minute(2, 10)}, {"A", Minute, minute(0, 11)}, {"A", Minute, minute(1, 12)}},
			times: []string{"14:00", "14:01", "14:02"}, closes: []float64{11, 12, 10}, updates: 3},
		{name: "a correction of a drawn bar replaces it",
			adds:  []add{{"A", Minute, minute(0, 11)}, {"A", Minute, withSMA}, {"A", Minute, minute(2, 10)}, {"A", Minute, corrected}},
			times: []string{"14:00", "14:01", "14:02"}, closes: []float64{11, 15, 10}, updates: 4},
		{name: "an at-least-once repeat replaces, never adds",
			adds:  []add{{"A", Minute, minute(0, 11)}, {"A", Minute, minute(1, 12)}, {"A", Minute, minute(0, 11)}, {"A", Minute, minute(1, 12)}},
			times: []string{"14:00", "14:01"}, closes: []float64{11, 12}, updates: 4},
		{name: "a final candle re-published replaces it",
			adds: []add{{"A", "5m", candle(0, 20, true)}, {"A", "5m", candle(5, 21, true)}, {"A", "5m", candle(0, 22, true)}},
			iv:   "5m", times: []string{"14:00", "14:05"}, closes: []float64{22, 21}, final: []bool{true, true}, updates: 3},
		{name: "partial candles then the final one: each replaces the one before",
			adds: []add{{"A", "5m", candle(0, 20, false)}, {"A", "5m", candle(0, 21, false)}, {"A", "5m", candle(0, 22, true)}},
			iv:   "5m", times: []string{"14:00"}, closes: []float64{22}, final: []bool{true}, updates: 3},
		{name: "a partial candle resent after the final one is left out",
			adds: []add{{"A", "5m", candle(0, 21, false)}, {"A", "5m", candle(0, 22, true)}, {"A", "5m", candle(0, 21, false)}, {"A", "5m", candle(5, 23, false)}},
			iv:   "5m", times: []string{"14:00", "14:05"}, closes: []float64{22, 23}, final: []bool{true, false}, updates: 3, stale: 1},
		{name: "the same time in another interval or symbol is another bar",
			adds:  []add{{"A", Minute, minute(0, 11)}, {"A", "5m", candle(0, 20, true)}, {"B", Minute, minute(0, 30)}},
			times: []string{"14:00"}, closes: []float64{11}, updates: 3, symbols: []string{"A", "B"}},
		{name: "a symbol's first record, a candle, makes it a symbol",
			adds:   []add{{"A", Minute, minute(0, 11)}, {"NEW", "15m", candle(0, 40, true)}},
			symbol: "NEW", iv: "15m", times: []string{"14:00"}, closes: []float64{40}, final: []bool{true}, updates: 2, symbols: []string{"A", "NEW"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStore(Limits{})
			updates, cancel := s.Subscribe()
			defer cancel()
			for _, a := range tc.adds {
				s.Add(a.symbol, a.interval, a.bar)
			}
			symbol, iv := cmp.Or(tc.symbol, "A"), cmp.Or(tc.iv, Minute)
			bars, _, _ := s.Series(symbol, iv)
			var closes []float64
			var final []bool
			for _, b := range bars {
				closes = append(closes, b.Close)
				if b.Final != nil {
					final = append(final, *b.Final)
				}
			}
			if got := times(bars); !slices.Equal(got, tc.times) || !slices.Equal(closes, tc.closes) || !slices.Equal(final, tc.final) {
				t.Errorf("%s %s: got times %v closes %v final %v, want %v %v %v", symbol, iv, got, closes, final, tc.times, tc.closes, tc.final)
			}
			if got := len(updates); got != tc.updates {
				t.Errorf("subscribers got %d updates, want %d (one per change)", got, tc.updates)
			}
			var last Update
			for range len(updates) {
				last = <-updates
			}
			if i := slices.IndexFunc(bars, func(b Bar) bool { return b.Time.Equal(last.Bar.Time) }); last.Symbol == symbol && last.Interval == iv &&
				(i < 0 || bars[i].Close != last.Bar.Close) {
				t.Errorf("the last update %+v is not the bar as stored %+v", last, bars)
			}
			if st := s.Stats(); st.Stale != tc.stale || st.Records != int64(tc.updates) {
				t.Errorf("stats %+v, want %d stale and %d records", st, tc.stale, tc.updates)
			}
			if want := orDefault(tc.symbols, []string{"A"}); !slices.Equal(s.Symbols(), want) {
				t.Errorf("symbols %v, want %v", s.Symbols(), want)
			}
		})
	}
	t.Run("a correction keeps the indicators it does not carry", func(t *testing.T) {
		s := NewStore(Limits{})
		s.Add("A", Minute, withSMA)
		s.Add("A", Minute, corrected)
		bars, latest, _ := s.Series("A", Minute)
		if len(bars) != 1 || bars[0].Close != 15 || bars[0].SMA20 == nil || *bars[0].SMA20 != 12.5 || latest.Close != 15 {
			t.Errorf("got %+v (latest %+v), want one bar closing at 15 with sma20 12.5 kept, and it the latest", bars, latest)
		}
	})
}

func orDefault(s, def []string) []string {
	if s == nil {
		return def
	}
	return s
}
