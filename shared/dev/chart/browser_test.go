package chart

import (
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
