package main

import (
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/esm"
)

// statusRecord is an enhanced record as the enrich handler writes it, with the given indicator fields.
func statusRecord(symbol string, minute int, in bar.Indicators) []byte {
	at := time.Date(2025, 6, 12, 13, minute, 0, 0, time.UTC)
	e := bar.Enriched{Symbol: symbol, Close: 100 + float64(minute), Open: 100, Low: 99, High: 101 + float64(minute),
		Volume: float64(1000 * (minute + 1)), Time: at, Indicator: bar.Unknown, TradingDate: bar.TradingDate(at), Indicators: in}
	return bar.AppendEnriched(nil, &e)
}

// The status line and the live block show the latest maCross and volumeAlert seen on enhanced, with how many,
// and the log mode reports the first of each once.
func TestLocalStatusShowsCrossAndAlert(t *testing.T) {
	st := &localStats{start: time.Now()}
	st.seen(statusRecord("AAPL", 1, bar.Indicators{}))
	if l := st.line(esm.Stats{}); !strings.Contains(l, "| maCross 0 (none yet) | volumeAlert 0 (none yet) |") {
		t.Errorf("before any: got %q", l)
	}
	st.seen(statusRecord("AAPL", 2, bar.Indicators{MACross: bar.CrossBullish, EMA12: 101.25, EMA26: 101.2, HasEMA12: true, HasEMA26: true}))
	st.seen(statusRecord("NVDA", 3, bar.Indicators{VolumeAlert: true}))
	st.seen(statusRecord("TSLA", 4, bar.Indicators{MACross: bar.CrossBearish, VolumeAlert: true, EMA12: 99.5, EMA26: 99.75, HasEMA12: true, HasEMA26: true}))
	st.seen(statusRecord("JPM", 5, bar.Indicators{OutOfSequence: true}))

	want := "| maCross 2 (latest TSLA 2025-06-12 13:04:00 bearish) | volumeAlert 2 (latest TSLA 2025-06-12 13:04:00 volume 5000) |"
	if l := st.line(esm.Stats{}); !strings.Contains(l, want) {
		t.Errorf("status line:\n got %q\nwant it to contain %q", l, want)
	}
	block := strings.Join(st.block(esm.Stats{}), "\n")
	for _, w := range []string{
		"  maCross        2   latest TSLA   2025-06-12 13:04:00  close     104.00  bearish: ema12 99.50, ema26 99.75",
		"  volumeAlert    2   latest TSLA   2025-06-12 13:04:00  close     104.00  volume 5000",
	} {
		if !strings.Contains(block, w) {
			t.Errorf("block:\n%s\nwant a line %q", block, w)
		}
	}

	var firsts []string
	for _, f := range st.newFirsts() {
		firsts = append(firsts, f[0]+" "+mustDecode(t, f[1]).Symbol)
	}
	if got := strings.Join(firsts, ", "); got != "Unknown JPM, maCross TSLA, volumeAlert TSLA" {
		t.Errorf("first appearances: got %q, want Unknown, maCross and volumeAlert, each with its latest record", got)
	}
	if again := st.newFirsts(); len(again) != 0 {
		t.Errorf("first appearances reported twice: %v", again)
	}
}

func mustDecode(t *testing.T, v string) bar.Enriched {
	t.Helper()
	e, err := bar.DecodeEnriched([]byte(v))
	if err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	return e
}
