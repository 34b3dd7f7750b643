package consumer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/consumer"
)

// TestTSVHeaderIsAdditive: the indicator columns come after the eleven columns customers already parse, which
// keep their positions.
func TestTSVHeaderIsAdditive(t *testing.T) {
	const before = "symbol\ttimestamp\ttradingDate\topen\thigh\tlow\tclose\tvolume\tprevClose\t%change\tindicator"
	cols := strings.Split(consumer.TSVHeader, "\t")
	if !strings.HasPrefix(consumer.TSVHeader, before+"\t") || len(cols) != 20 {
		t.Errorf("header %q: want %q, then the nine indicator columns", consumer.TSVHeader, before)
	}
	if got := strings.Join(cols[11:], " "); got != "sma20 sma50 ema12 ema26 rsi14 vwapSession volumeAlert maCross outOfSequence" {
		t.Errorf("indicator columns %q, want the record's order", got)
	}
}

// TestAppendTSV: every indicator set, every one null (the warm-up, without a previous close) and an
// out-of-sequence bar, each against its exact line.
func TestAppendTSV(t *testing.T) {
	at := time.Date(2024, 10, 31, 19, 22, 0, 0, time.UTC)
	base := bar.Enriched{Symbol: "JPM", Open: 222.94, High: 223.01, Low: 222.91, Close: 223, Volume: 6013, Time: at,
		TradingDate: bar.TradingDate(at)}
	all := base
	all.HasPrev, all.PrevClose, all.Change, all.Indicator = true, 224.41, -0.6283142462457094, bar.Neutral
	all.Indicators = bar.Indicators{SMA20: 222.93727999999996, SMA50: 222.888264, EMA12: 222.92885244720748,
		EMA26: 222.9263917066025, RSI14: 54.3397594897997, VWAPSession: 223.47599775794143,
		HasSMA20: true, HasSMA50: true, HasEMA12: true, HasEMA26: true, HasRSI14: true, HasVWAPSession: true,
		VolumeAlert: true, MACross: bar.CrossBullish}
	null := base
	null.Indicator = bar.Unknown
	late := all
	late.Indicators = bar.Indicators{OutOfSequence: true}
	bearish := all
	bearish.MACross, bearish.VolumeAlert = bar.CrossBearish, false
	reference := all // the reference's nine keys: a %change and no prevClose
	reference.PrevCloseAbsent, reference.Indicators = true, bar.Indicators{}
	tiny := null
	tiny.Volume, tiny.Indicators.VWAPSession, tiny.Indicators.HasVWAPSession = 0, 1e-7, true
	prefix := "JPM\t2024-10-31 19:22:00\t2024-10-31\t222.94\t223.01\t222.91\t223\t6013\t"
	for _, tt := range []struct {
		name string
		e    bar.Enriched
		want string
	}{
		{"every indicator", all, prefix + "224.41\t-0.6283142462457094\tNeutral\t" +
			"222.93727999999996\t222.888264\t222.92885244720748\t222.9263917066025\t54.3397594897997\t223.47599775794143\ttrue\tbullish\tfalse"},
		{"all null", null, prefix + "\t\tUnknown\t\t\t\t\t\t\tfalse\t\tfalse"},
		{"out of sequence", late, prefix + "224.41\t-0.6283142462457094\tNeutral\t\t\t\t\t\t\tfalse\t\ttrue"},
		{"bearish", bearish, prefix + "224.41\t-0.6283142462457094\tNeutral\t" +
			"222.93727999999996\t222.888264\t222.92885244720748\t222.9263917066025\t54.3397594897997\t223.47599775794143\tfalse\tbearish\tfalse"},
		{"reference form", reference, prefix + "\t-0.6283142462457094\tNeutral\t\t\t\t\t\t\tfalse\t\tfalse"},
		{"exponent form", tiny, "JPM\t2024-10-31 19:22:00\t2024-10-31\t222.94\t223.01\t222.91\t223\t0\t\t\tUnknown\t\t\t\t\t\t1e-7\tfalse\t\tfalse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := string(consumer.AppendTSV([]byte("x"), &tt.e))
			if got != "x"+tt.want {
				t.Errorf("got  %q\nwant %q", got, "x"+tt.want)
			}
			if n := strings.Count(got, "\t"); n != strings.Count(consumer.TSVHeader, "\t") {
				t.Errorf("%d tabs, want the header's %d", n, strings.Count(consumer.TSVHeader, "\t"))
			}
			// the line says what the JSON record says
			e, err := bar.DecodeEnriched(bar.AppendEnriched(nil, &tt.e))
			if err != nil {
				t.Fatal(err)
			}
			if back := string(consumer.AppendTSV(nil, &e)); back != tt.want {
				t.Errorf("through JSON: got %q, want %q", back, tt.want)
			}
		})
	}
}

// TestAppendCandleTSV: a candle with every field and one with trade_count and vwap null.
func TestAppendCandleTSV(t *testing.T) {
	start := time.Date(2024, 10, 31, 13, 30, 0, 0, time.UTC)
	full := candles.Candle{Symbol: "BRK.B", Interval: "15m", Start: start, Open: 224.7, High: 225.69, Low: 223.51, Close: 224.71,
		Volume: 433665, TradeCount: 5021, HasTradeCount: true, VWAP: 224.22369676593692, HasVWAP: true, Bars: 15, Final: true}
	partial := candles.Candle{Symbol: "JPM", Interval: "1h", Start: start.Add(-30 * time.Minute), Open: 1, High: 1, Low: 1, Close: 1, Bars: 1}
	for _, tt := range []struct {
		name string
		c    candles.Candle
		want string
	}{
		{"every field", full, "BRK.B\t15m\t2024-10-31 13:30:00\t224.7\t225.69\t223.51\t224.71\t433665\t5021\t224.22369676593692\t15\ttrue"},
		{"nulls, partial", partial, "JPM\t1h\t2024-10-31 13:00:00\t1\t1\t1\t1\t0\t\t\t1\tfalse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := string(consumer.AppendCandleTSV(nil, &tt.c))
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if n, want := strings.Count(got, "\t"), strings.Count(consumer.CandleTSVHeader, "\t"); n != want {
				t.Errorf("%d tabs, want the header's %d", n, want)
			}
		})
	}
}

// TestKindOf: the candles topic's name reads candles, any other topic bars.
func TestKindOf(t *testing.T) {
	for topic, want := range map[string]consumer.Kind{"candles": consumer.KindCandle, "enhanced": consumer.KindBar, "enhanced.v2": consumer.KindBar, "my.candles": consumer.KindBar} {
		if got := consumer.KindOf(topic); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", topic, got, want)
		}
	}
}

// TestDeduperCandles: a candle's key is (symbol, interval, start): intervals sharing a start are different
// candles; a repeat is dropped, a correction or the final record after a partial one is printed; the window is
// measured per symbol and interval.
func TestDeduperCandles(t *testing.T) {
	d := consumer.NewDeduper(time.Hour)
	start := time.Date(2024, 10, 31, 13, 0, 0, 0, time.UTC)
	c := func(iv string, m int, close float64, final bool) (*candles.Candle, []byte) {
		c := candles.Candle{Symbol: "JPM", Interval: iv, Start: start.Add(time.Duration(m) * time.Minute), Open: 1, High: 9, Low: 1,
			Close: close, Volume: 10, Bars: 1, Final: final}
		return &c, candles.AppendCandle(nil, &c)
	}
	for i, step := range []struct {
		iv    string
		m     int
		close float64
		final bool
		keep  bool
	}{
		{"5m", 0, 2, false, true},  // a partial candle
		{"5m", 0, 2, false, false}, // its repeat
		{"5m", 0, 3, true, true},   // the final record replaces it
		{"15m", 0, 3, true, true},  // same start, other interval
		{"1h", 0, 3, true, true},
		{"5m", 0, 3, true, false}, // a retried batch
		{"15m", 0, 3, true, false},
		{"5m", 0, 4, true, true},       // a correction re-published
		{"5m", 5, 4, true, true},       // the next candle
		{"5m", 0, 4, true, false},      // the correction's repeat, after it
		{"5m", 24 * 60, 5, true, true}, // a day later: 5m's window moves on
		{"5m", 0, 4, true, true},       // too old for 5m: printed unchecked
		{"1h", 0, 3, true, false},      // 1h's window did not move
	} {
		if got := d.KeepCandle(c(step.iv, step.m, step.close, step.final)); got != step.keep {
			t.Errorf("step %d (%s +%dm close %v final %v): KeepCandle = %v, want %v", i+1, step.iv, step.m, step.close, step.final, got, step.keep)
		}
	}
	if got := d.Len(); got != 3 { // 5m of the next day, 15m and 1h of 13:00
		t.Errorf("remembered %d candles, want 3", got)
	}
}
