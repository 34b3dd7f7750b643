package indexfn

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/search"
)

// candleDocument is a candle as indexed: the candles record's fields in its order, with start as an RFC 3339
// date and a null trade_count or vwap left out.
type candleDocument struct {
	Symbol     string   `json:"symbol"`
	Interval   string   `json:"interval"`
	Start      string   `json:"start"`
	Open       float64  `json:"open"`
	High       float64  `json:"high"`
	Low        float64  `json:"low"`
	Close      float64  `json:"close"`
	Volume     float64  `json:"volume"`
	TradeCount *float64 `json:"trade_count,omitempty"`
	VWAP       *float64 `json:"vwap,omitempty"`
	Bars       int      `json:"bars"`
	Final      bool     `json:"final"`
}

// CandleDoc turns a candle into its document: id SYMBOL|interval|start (candles.Candle.Key), so a re-published
// candle (a correction, a late bar, the final version of a partial one) and a retried batch overwrite the same
// document, in the candle index of its start's UTC month (naming.Candles()) under the candles alias.
func CandleDoc(naming search.Config, c *candles.Candle) (search.Doc, error) {
	d := candleDocument{
		Symbol: c.Symbol, Interval: c.Interval, Start: c.Start.UTC().Format(time.RFC3339Nano),
		Open: c.Open, High: c.High, Low: c.Low, Close: c.Close, Volume: c.Volume, Bars: c.Bars, Final: c.Final,
		TradeCount: present(&c.TradeCount, c.HasTradeCount),
		VWAP:       present(&c.VWAP, c.HasVWAP),
	}
	src, err := json.Marshal(&d)
	if err != nil {
		return search.Doc{}, fmt.Errorf("encode candle document: %w", err)
	}
	cn := naming.Candles()
	return search.Doc{Index: cn.IndexName(c.Symbol, c.Start), ID: c.Key(), Source: src, Alias: cn.Alias}, nil
}
