package chart

import (
	"errors"
	"testing"
)

// plain is an enriched bar as main publishes it before the indicator fields.
const plain = `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":-0.8784661217630548,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11"}`

// rich carries the indicator fields.
const rich = `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":null,"indicator":"Unknown","prevClose":null,"tradingDate":"2024-07-11","sma20":194.1,"sma50":null,"ema12":194.2,"ema26":194.3,"rsi14":55.5,"vwapSession":194.4,"volumeAlert":true,"maCross":"bearish","outOfSequence":false}`

func TestDecodeEnriched(t *testing.T) {
	sym, b, err := decodeEnriched([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if sym != "AMZN" || b.T != "2024-07-11 19:49:00" || b.Open != 194.58 || b.High != 194.64 || b.Low != 194.58 || b.Close != 194.64 || b.Volume != 255 {
		t.Errorf("got %s %+v, want AMZN's bar at 2024-07-11 19:49:00", sym, b)
	}
	if b.Change == nil || *b.Change != -0.8784661217630548 || b.PrevClose == nil || *b.PrevClose != 196.365 || b.Indicator != "Neutral" {
		t.Errorf("got change %v prevClose %v indicator %q, want the record's", b.Change, b.PrevClose, b.Indicator)
	}
	if b.SMA20 != nil || b.EMA12 != nil || b.RSI14 != nil || b.VolumeAlert || b.MACross != "" {
		t.Errorf("a record without indicator fields got some: %+v", b)
	}

	_, b, err = decodeEnriched([]byte(rich))
	if err != nil {
		t.Fatal(err)
	}
	if b.Change != nil || b.PrevClose != nil || b.SMA50 != nil {
		t.Errorf("nulls became values: change %v prevClose %v sma50 %v", b.Change, b.PrevClose, b.SMA50)
	}
	for name, p := range map[string]*float64{"sma20": b.SMA20, "ema12": b.EMA12, "ema26": b.EMA26, "rsi14": b.RSI14, "vwapSession": b.VWAPSession} {
		if p == nil {
			t.Errorf("%s missing", name)
		}
	}
	if *b.RSI14 != 55.5 || !b.VolumeAlert || b.MACross != "bearish" || b.OutOfSequence {
		t.Errorf("got rsi14 %v volumeAlert %v maCross %q outOfSequence %v, want 55.5 true bearish false", *b.RSI14, b.VolumeAlert, b.MACross, b.OutOfSequence)
	}
}

func TestDecodeEnrichedMalformed(t *testing.T) {
	for name, rec := range map[string]string{
		"not json":          `not json`,
		"array":             `[1,2]`,
		"no symbol":         `{"close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
		"close missing":     `{"symbol":"A","open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
		"close a string":    `{"symbol":"A","close":"1","open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
		"volume null":       `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":null,"timestamp":"2024-07-11 19:49:00"}`,
		"bad timestamp":     `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"yesterday"}`,
		"high below low":    `{"symbol":"A","close":1,"open":1,"low":2,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
		"negative volume":   `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":-5,"timestamp":"2024-07-11 19:49:00"}`,
		"negative low":      `{"symbol":"A","close":1,"open":1,"low":-1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
		"close zero":        `{"symbol":"A","close":0,"open":0,"low":0,"high":0,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
		"null":              `null`,
		"unknown maCross":   `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00","maCross":"sideways"}`,
		"sma20 a string":    `{"symbol":"A","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00","sma20":"x"}`,
		"symbol with quote": `{"symbol":"A\"B","close":1,"open":1,"low":1,"high":1,"volume":1,"timestamp":"2024-07-11 19:49:00"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, b, err := decodeEnriched([]byte(rec))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("got %+v, %v; want ErrMalformed", b, err)
			}
		})
	}
}

func TestDecodeCandle(t *testing.T) {
	sym, iv, b, err := decodeCandle([]byte(`{"symbol":"JPM","interval":"15m","start":"2024-10-30 13:30:00","open":1,"high":3,"low":0.5,"close":2,"volume":100,"trade_count":7,"vwap":1.9,"bars":15,"final":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if sym != "JPM" || iv != "15m" || b.T != "2024-10-30 13:30:00" || b.High != 3 || b.Low != 0.5 || b.Bars != 15 || b.VWAP == nil || *b.VWAP != 1.9 || b.Final == nil || !*b.Final {
		t.Errorf("got %s %s %+v", sym, iv, b)
	}
	for name, rec := range map[string]string{
		"no interval":   `{"symbol":"JPM","start":"2024-10-30 13:30:00","open":1,"high":3,"low":0.5,"close":2,"volume":100}`,
		"minute":        `{"symbol":"JPM","interval":"1m","start":"2024-10-30 13:30:00","open":1,"high":3,"low":0.5,"close":2,"volume":100}`,
		"no start":      `{"symbol":"JPM","interval":"5m","open":1,"high":3,"low":0.5,"close":2,"volume":100}`,
		"high missing":  `{"symbol":"JPM","interval":"5m","start":"2024-10-30 13:30:00","open":1,"low":0.5,"close":2,"volume":100}`,
		"not an object": `"candle"`,
	} {
		if _, _, b, err := decodeCandle([]byte(rec)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %+v, %v; want ErrMalformed", name, b, err)
		}
	}
}
