package alpaca

import (
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Raw builds the raw-topic bar from Alpaca's fields. Stream and REST bars both come through here, so a bar
// backfilled from REST encodes to the same bytes as the same bar received live.
func Raw(symbol string, open, high, low, close, volume, tradeCount, vwap float64, start time.Time) bar.Raw {
	return bar.Raw{
		Symbol: symbol, Open: open, High: high, Low: low, Close: close, Volume: volume,
		TradeCount: tradeCount, HasTradeCount: true,
		VWAP: vwap, HasVWAP: true,
		Time: start.UTC(),
	}
}
