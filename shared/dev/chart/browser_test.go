package chart

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/browsertest"
)

// TestPageDrawsIndicators: in a real browser the page draws the indicator fields when bars carry them: the
// moving averages, a marker per MA cross and per volume alert, the latest bar's values; it switches to a
// candle interval and takes a new candle live; nothing goes to the console.
func TestPageDrawsIndicators(t *testing.T) {
	browsertest.Find(t)
	s := NewStore(Limits{})
	const n = 60
	crosses := map[int]string{30: "bullish", 45: "bearish"}
	alerts := map[int]bool{10: true, 50: true}
	for m := range n {
		b := minute(m, 100+float64(m%7)/10)
		b.High += 0.2
		b.Low -= 0.2
		b.Indicator, b.PrevClose, b.Change = "Neutral", ptr(99.5), ptr(0.6)
		if m >= 19 {
			b.SMA20, b.EMA12, b.EMA26, b.RSI14 = ptr(100.3), ptr(100.32), ptr(100.31), ptr(51.25)
		}
		b.MACross, b.VolumeAlert = crosses[m], alerts[m]
		s.Add("TEST", Minute, b)
	}
	for m := 0; m < n; m += 5 {
		s.Add("TEST", "5m", minute(m, 100))
	}
	srv := httptest.NewServer(Handler(s, nil))
	t.Cleanup(srv.Close) // after the browser's cleanup, which ends the page's event stream

	page := browsertest.Open(t, srv.URL+"/", 1000, 600)
	ds := page.WaitDataset(t, "chart", "the minute bars", waitLimit, func(ds map[string]string) bool {
		return ds["symbol"] == "TEST" && ds["interval"] == Minute && ds["total"] == strconv.Itoa(n)
	})
	if want := len(crosses) + len(alerts); ds["markers"] != strconv.Itoa(want) {
		t.Errorf("drew %s markers, want %d (MA crosses and volume alerts): %v", ds["markers"], want, ds)
	}
	latest := browsertest.Eval[string](t, page, `document.getElementById('latest').textContent`)
	for _, want := range []string{"TEST", "Neutral", "+0.60%", "prev close 99.50", "sma20 100.30", "rsi14 51.25"} {
		if !strings.Contains(latest, want) {
			t.Errorf("latest bar panel %q lacks %q", latest, want)
		}
	}

	browsertest.Eval[bool](t, page, `(() => { const s = document.getElementById('interval'); s.value = '5m';
		return s.dispatchEvent(new Event('change')); })()`)
	page.WaitDataset(t, "chart", "the 5m candles", waitLimit, func(ds map[string]string) bool {
		return ds["interval"] == "5m" && ds["total"] == strconv.Itoa(n/5)
	})
	next := minute(n, 101)
	s.Add("TEST", "5m", next)
	page.WaitDataset(t, "chart", "the new 5m candle", waitLimit, func(ds map[string]string) bool {
		return ds["lastTime"] == next.T && ds["total"] == strconv.Itoa(n/5+1)
	})
	if p := page.Problems(); len(p) > 0 {
		t.Errorf("console errors and exceptions:\n%s", strings.Join(p, "\n"))
	}
	page.Screenshot(t, filepath.Join(t.TempDir(), "indicators.png"))
}

// TestPageLateData: what the page does with data that comes late or again. An update that arrives while the
// page loads a chart (between the server's answer being made and it reaching the page) is on the chart once the
// answer is; a final candle re-published replaces the drawn one; a symbol and intervals seen for the first time
// in updates join the pickers in their sorted places; nothing goes to the console.
func TestPageLateData(t *testing.T) {
	browsertest.Find(t)
	s := NewStore(Limits{})
	const n = 10
	for m := range n {
		s.Add("TEST", Minute, minute(m, 100+float64(m)))
	}
	s.Add("TEST", "5m", candle(0, 104, true))
	s.Add("TEST", "5m", candle(5, 109, true))

	// the first 5m chart the page asks for is answered as the store is now, and held until release
	taken, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h := Handler(s, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hold := false
		if r.URL.Path == "/api/bars" && r.URL.Query().Get("interval") == "5m" {
			once.Do(func() { hold = true })
		}
		if !hold {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		close(taken)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		if _, err := w.Write(rec.Body.Bytes()); err != nil {
			t.Errorf("write the held answer: %v", err)
		}
	}))
	t.Cleanup(srv.Close)

	page := browsertest.Open(t, srv.URL+"/#TEST", 1000, 600)
	page.WaitDataset(t, "chart", "the minute bars", waitLimit, func(ds map[string]string) bool {
		return ds["interval"] == Minute && ds["total"] == strconv.Itoa(n)
	})
	choose(t, page, "5m")
	select {
	case <-taken:
	case <-time.After(waitLimit):
		t.Fatal("the page did not ask for the 5m chart")
	}
	late := candle(10, 111, true)
	s.Add("TEST", "5m", late)
	page.WaitDataset(t, "chart", "the page to get the update", waitLimit, func(ds map[string]string) bool { return ds["updates"] == "1" })
	close(release)
	page.WaitDataset(t, "chart", "the held answer with the update on it", waitLimit, func(ds map[string]string) bool {
		return ds["interval"] == "5m" && ds["total"] == "3" && ds["lastTime"] == late.T
	})

	again := candle(10, 112, true) // the same final candle re-published (a correction)
	s.Add("TEST", "5m", again)
	s.Add("TEST", "5m", candle(10, 113, false)) // a partial version resent after it: the store leaves it out
	s.Add("AAA", "1h", candle(0, 50, true))     // a new symbol and a new interval, longest first
	s.Add("TEST", "15m", candle(0, 120, true))
	page.WaitDataset(t, "chart", "the re-published candle", waitLimit, func(ds map[string]string) bool {
		return ds["updates"] == "4" && ds["total"] == "3" && ds["lastClose"] == "112"
	})
	for sel, want := range map[string][]string{"symbol": {"AAA", "TEST"}, "interval": {Minute, "5m", "15m", "1h"}} {
		if got := browsertest.Eval[[]string](t, page, `[...document.getElementById('`+sel+`').options].map((o) => o.value)`); !slices.Equal(got, want) {
			t.Errorf("the %s picker offers %v, want %v", sel, got, want)
		}
	}
	if st := s.Stats(); st.Stale != 1 {
		t.Errorf("stats %+v, want the partial resent after its final candle counted stale", st)
	}
	if p := page.Problems(); len(p) > 0 {
		t.Errorf("console errors and exceptions:\n%s", strings.Join(p, "\n"))
	}
}

// choose picks iv in the page's interval picker, as a person would.
func choose(t *testing.T, page *browsertest.Page, iv string) {
	t.Helper()
	browsertest.Eval[bool](t, page, `(() => { const s = document.getElementById('interval'); s.value = '`+iv+`';
		return s.dispatchEvent(new Event('change')); })()`)
}
