package chart

import (
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
