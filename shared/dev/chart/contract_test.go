package chart

import (
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

// TestReadsWhatTheFeedWrites: the chart reads the records as the product's own encoders write them, the
// enriched bar with and without indicator values and the candle.
func TestReadsWhatTheFeedWrites(t *testing.T) {
	at := time.Date(2024, 10, 30, 14, 31, 0, 0, time.UTC)
	e := bar.Enriched{Symbol: "JPM", Open: 221.5, High: 222, Low: 221.25, Close: 221.75, Volume: 12345, Time: at,
		Change: 0.25, Indicator: bar.Neutral, PrevClose: 221.2, HasPrev: true, TradingDate: bar.TradingDate(at),
		Indicators: bar.Indicators{SMA20: 221.6, HasSMA20: true, EMA12: 221.7, HasEMA12: true, EMA26: 221.65, HasEMA26: true,
			RSI14: 61.5, HasRSI14: true, VWAPSession: 221.4, HasVWAPSession: true, VolumeAlert: true, MACross: bar.CrossBullish}}
	sym, b, err := decodeEnriched(bar.AppendEnriched(nil, &e))
	if err != nil {
		t.Fatal(err)
	}
	if sym != "JPM" || b.Time != at || b.Open != e.Open || b.High != e.High || b.Low != e.Low || b.Close != e.Close || b.Volume != e.Volume ||
		b.Change == nil || *b.Change != e.Change || b.PrevClose == nil || *b.PrevClose != e.PrevClose || b.Indicator != "Neutral" {
		t.Errorf("got %s %+v, want %+v", sym, b, e)
	}
	if b.SMA20 == nil || *b.SMA20 != 221.6 || b.SMA50 != nil || b.EMA12 == nil || b.EMA26 == nil || b.RSI14 == nil || *b.RSI14 != 61.5 ||
		b.VWAPSession == nil || !b.VolumeAlert || b.MACross != "bullish" || b.OutOfSequence {
		t.Errorf("indicators: got %+v, want %+v", b, e.Indicators)
	}

	e.HasPrev, e.Indicator, e.Indicators = false, bar.Unknown, bar.Indicators{OutOfSequence: true}
	_, b, err = decodeEnriched(bar.AppendEnriched(nil, &e))
	if err != nil {
		t.Fatal(err)
	}
	if b.Change != nil || b.PrevClose != nil || b.SMA20 != nil || b.MACross != "" || b.VolumeAlert || !b.OutOfSequence || b.Indicator != "Unknown" {
		t.Errorf("a late bar without a previous close: got %+v", b)
	}

	c := candles.Candle{Symbol: "JPM", Interval: "15m", Start: at.Truncate(15 * time.Minute), Open: 221, High: 222.5, Low: 220.75,
		Close: 222, Volume: 99000, HasVWAP: true, VWAP: 221.9, Bars: 15, Final: true}
	sym, iv, b, err := decodeCandle(candles.AppendCandle(nil, &c))
	if err != nil {
		t.Fatal(err)
	}
	if sym != "JPM" || iv != "15m" || b.Time != c.Start || b.Open != c.Open || b.High != c.High || b.Low != c.Low || b.Close != c.Close ||
		b.Volume != c.Volume || b.VWAP == nil || *b.VWAP != c.VWAP || b.Bars != 15 || b.Final == nil || !*b.Final {
		t.Errorf("candle: got %s %s %+v, want %+v", sym, iv, b, c)
	}
}
