package candles_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

func mbar(sym, hhmm string, close, volume float64) bar.Raw {
	t, err := time.Parse("2006-01-02 15:04", "2024-10-30 "+hhmm)
	if err != nil {
		panic(err)
	}
	return bar.Raw{Symbol: sym, Open: close, High: close, Low: close, Close: close, Volume: volume, Time: t}
}

// run applies bars and returns each published record as "interval start-time symbol close bars final".
func run(p *candles.Partition, bars ...bar.Raw) []string {
	var out []string
	for i := range bars {
		for _, c := range p.Apply(&bars[i]) {
			out = append(out, brief(&c))
		}
	}
	return out
}

func brief(c *candles.Candle) string {
	final := "open"
	if c.Final {
		final = "final"
	}
	return strings.Join([]string{c.Interval, c.Start.Format("15:04"), c.Symbol,
		strconv.FormatFloat(c.Close, 'g', -1, 64), strconv.Itoa(c.Bars), final}, " ")
}

func TestRules(t *testing.T) {
	cfg := candles.Config{Intervals: []candles.Interval{candles.Minutes5, candles.Minutes15}, Grace: time.Minute, Horizon: 10 * time.Minute}
	for _, tc := range []struct {
		name    string
		cfg     candles.Config
		bars    []bar.Raw
		want    []string
		tooLate uint64
	}{
		{
			name: "final when the watermark reaches end + grace, for a symbol that stopped trading too",
			cfg:  cfg,
			bars: []bar.Raw{mbar("A", "10:01", 10, 1), mbar("Q", "10:03", 20, 1), mbar("A", "10:05", 11, 1), mbar("A", "10:06", 12, 1)},
			want: []string{"5m 10:00 A 10 1 final", "5m 10:00 Q 20 1 final"},
		},
		{
			name: "grace zero: the next interval's first bar closes",
			cfg:  candles.Config{Intervals: []candles.Interval{candles.Minutes5}},
			bars: []bar.Raw{mbar("A", "10:04", 10, 1), mbar("A", "10:05", 11, 1)},
			want: []string{"5m 10:00 A 10 1 final"},
		},
		{
			name: "a correction of a final candle re-publishes it; an identical repeat does not",
			cfg:  cfg,
			bars: []bar.Raw{mbar("A", "10:04", 10, 1), mbar("A", "10:06", 11, 1), mbar("A", "10:04", 9, 1), mbar("A", "10:04", 9, 1)},
			want: []string{"5m 10:00 A 10 1 final", "5m 10:00 A 9 1 final"},
		},
		{
			name: "a late bar adds to a final candle, and makes a new one",
			cfg:  cfg,
			bars: []bar.Raw{mbar("A", "10:04", 10, 1), mbar("B", "10:12", 11, 1), mbar("A", "10:03", 9, 1), mbar("C", "10:05", 7, 1)},
			want: []string{"5m 10:00 A 10 1 final", "5m 10:00 A 10 2 final", "5m 10:05 C 7 1 final"},
		},
		{
			name: "beyond the horizon a candle is frozen: the bar counts only in longer candles, and as too late",
			cfg:  cfg,
			// 5m 10:00 freezes at 10:16 (end 10:05 + 1m + 10m); 15m 10:00 at 10:26
			bars:    []bar.Raw{mbar("A", "10:04", 10, 1), mbar("A", "10:16", 11, 1), mbar("A", "10:02", 9, 1)},
			want:    []string{"5m 10:00 A 10 1 final", "15m 10:00 A 10 1 final", "15m 10:00 A 10 2 final"},
			tooLate: 1,
		},
		{
			name:    "beyond every horizon a bar is in no candle",
			cfg:     cfg,
			bars:    []bar.Raw{mbar("A", "10:04", 10, 1), mbar("A", "11:00", 11, 1), mbar("A", "10:02", 9, 1)},
			want:    []string{"5m 10:00 A 10 1 final", "15m 10:00 A 10 1 final"},
			tooLate: 1,
		},
		{
			name: "partial: the running candle on every bar of an open interval",
			cfg:  candles.Config{Intervals: []candles.Interval{candles.Minutes5}, Grace: time.Minute, Partial: true},
			bars: []bar.Raw{mbar("A", "10:03", 10, 1), mbar("A", "10:04", 12, 1), mbar("A", "10:06", 13, 1)},
			want: []string{"5m 10:00 A 10 1 open", "5m 10:00 A 12 2 open", "5m 10:00 A 12 2 final", "5m 10:05 A 13 1 open"},
		},
		{
			name: "ordered by interval, start, symbol when the watermark jumps",
			cfg:  cfg,
			bars: []bar.Raw{mbar("B", "10:01", 1, 1), mbar("A", "10:02", 2, 1), mbar("A", "10:07", 3, 1), mbar("C", "12:00", 4, 1)},
			want: []string{"5m 10:00 A 2 1 final", "5m 10:00 B 1 1 final", "5m 10:05 A 3 1 final",
				"15m 10:00 A 3 2 final", "15m 10:00 B 1 1 final"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := candles.NewPartition(tc.cfg)
			got := run(p, tc.bars...)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if p.TooLate() != tc.tooLate {
				t.Errorf("TooLate = %d, want %d", p.TooLate(), tc.tooLate)
			}
		})
	}
}

func TestClose(t *testing.T) {
	p := candles.NewPartition(candles.DefaultConfig())
	run(p, mbar("A", "10:59", 10, 1), mbar("B", "10:58", 5, 0))
	var got []string
	for _, c := range p.Close() {
		got = append(got, brief(&c))
	}
	want := []string{"5m 10:55 A 10 1 final", "5m 10:55 B 5 1 final", "15m 10:45 A 10 1 final", "15m 10:45 B 5 1 final",
		"1h 10:00 A 10 1 final", "1h 10:00 B 5 1 final"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if w, _ := p.Watermark(); w.Format("15:04") != "11:01" {
		t.Errorf("watermark after Close = %v, want 11:01 (the last end + grace)", w)
	}
	if len(p.Close()) != 0 {
		t.Error("a second Close published again")
	}
}

func TestAppendCandle(t *testing.T) {
	c := candles.Candle{Symbol: "BRK.B", Interval: "15m", Start: time.Date(2024, 10, 30, 13, 45, 0, 0, time.UTC),
		Open: 1.5, High: 2, Low: 1e-7, Close: 1.75, Volume: 300, TradeCount: 12, HasTradeCount: true, VWAP: 1.6, HasVWAP: true, Bars: 3, Final: true}
	want := `{"symbol":"BRK.B","interval":"15m","start":"2024-10-30 13:45:00","open":1.5,"high":2,"low":1e-7,"close":1.75,"volume":300,"trade_count":12,"vwap":1.6,"bars":3,"final":true}`
	if got := string(candles.AppendCandle(nil, &c)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	c.HasTradeCount, c.HasVWAP, c.Final = false, false, false
	want = `{"symbol":"BRK.B","interval":"15m","start":"2024-10-30 13:45:00","open":1.5,"high":2,"low":1e-7,"close":1.75,"volume":300,"trade_count":null,"vwap":null,"bars":3,"final":false}`
	if got := string(candles.AppendCandle(nil, &c)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if k := c.Key(); k != "BRK.B|15m|2024-10-30 13:45:00" {
		t.Errorf("Key = %q", k)
	}
}

func TestConfig(t *testing.T) {
	ivs, err := candles.ParseIntervals("1h, 5m,15m,5m")
	if err != nil || len(ivs) != 3 || ivs[0] != candles.Minutes5 || ivs[2] != candles.Hour1 {
		t.Errorf("ParseIntervals = %v, %v; want [5m 15m 1h]", ivs, err)
	}
	if _, err := candles.ParseIntervals("5m,2m,1d"); !errors.Is(err, candles.ErrInterval) || !strings.Contains(err.Error(), `"2m"`) || !strings.Contains(err.Error(), `"1d"`) {
		t.Errorf("ParseIntervals(5m,2m,1d) = %v, want both bad intervals named", err)
	}
	err = candles.Config{Intervals: []candles.Interval{candles.Interval(time.Minute)}, Grace: -time.Second, Horizon: 48 * time.Hour}.Validate()
	for _, part := range []string{"unsupported candle interval", "grace -1s", "horizon 48h0m0s"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("Validate = %v, want it to mention %q", err, part)
		}
	}
	if err := (candles.Config{}).Validate(); err == nil {
		t.Error("Validate accepted no intervals")
	}
	if err := candles.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
}
