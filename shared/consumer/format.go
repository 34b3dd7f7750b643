package consumer

import (
	"strconv"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

// Format is how records are printed.
type Format string

// The formats.
const (
	// FormatJSON prints each record's value as is, one per line.
	FormatJSON Format = "json"
	// FormatTSV prints a header line (TSVHeader or CandleTSVHeader, by Kind), then one tab-separated line per
	// record (see AppendTSV and AppendCandleTSV).
	FormatTSV Format = "tsv"
)

// TSVHeader names the TSV columns of enriched bars: the record's fields in contract order. The indicator columns
// (sma20 … outOfSequence) came after the first eleven, which keep their positions.
const TSVHeader = "symbol\ttimestamp\ttradingDate\topen\thigh\tlow\tclose\tvolume\tprevClose\t%change\tindicator" +
	"\tsma20\tsma50\tema12\tema26\trsi14\tvwapSession\tvolumeAlert\tmaCross\toutOfSequence"

// CandleTSVHeader names the TSV columns of candles: the candles record's fields in its order.
const CandleTSVHeader = "symbol\tinterval\tstart\topen\thigh\tlow\tclose\tvolume\ttrade_count\tvwap\tbars\tfinal"

// timestampLayout is the record's timestamp as the feed writes it (UTC; sub-second digits only when present).
const timestampLayout = "2006-01-02 15:04:05.999999999"

// AppendTSV appends e as one TSV line without the newline, columns as TSVHeader: numbers in Go's shortest
// round-trip form as the JSON record writes them, booleans as true or false, a null (prevClose and %change
// without a previous close, an indicator in warm-up or out of sequence, maCross without a crossover) empty.
func AppendTSV(b []byte, e *bar.Enriched) []byte {
	b = append(b, e.Symbol...)
	b = append(b, '\t')
	b = e.Time.UTC().AppendFormat(b, timestampLayout)
	b = append(b, '\t')
	b = e.TradingDate.AppendFormat(b)
	for _, v := range [...]float64{e.Open, e.High, e.Low, e.Close, e.Volume} {
		b = append(b, '\t')
		b = bar.AppendFloat(b, v)
	}
	b = appendOptional(b, e.PrevClose, e.HasPrev && !e.PrevCloseAbsent)
	b = appendOptional(b, e.Change, e.HasPrev)
	b = append(b, '\t')
	b = append(b, e.Indicator...)
	in := &e.Indicators
	b = appendOptional(b, in.SMA20, in.HasSMA20)
	b = appendOptional(b, in.SMA50, in.HasSMA50)
	b = appendOptional(b, in.EMA12, in.HasEMA12)
	b = appendOptional(b, in.EMA26, in.HasEMA26)
	b = appendOptional(b, in.RSI14, in.HasRSI14)
	b = appendOptional(b, in.VWAPSession, in.HasVWAPSession)
	b = append(b, '\t')
	b = strconv.AppendBool(b, in.VolumeAlert)
	b = append(b, '\t')
	b = append(b, in.MACross...) // "" when null
	b = append(b, '\t')
	return strconv.AppendBool(b, in.OutOfSequence)
}

// AppendCandleTSV appends c as one TSV line without the newline, columns as CandleTSVHeader: numbers as the
// JSON record writes them, trade_count and vwap empty when null, final as true or false.
func AppendCandleTSV(b []byte, c *candles.Candle) []byte {
	b = append(b, c.Symbol...)
	b = append(b, '\t')
	b = append(b, c.Interval...)
	b = append(b, '\t')
	b = c.Start.UTC().AppendFormat(b, bar.TimestampLayout)
	for _, v := range [...]float64{c.Open, c.High, c.Low, c.Close, c.Volume} {
		b = append(b, '\t')
		b = bar.AppendFloat(b, v)
	}
	b = appendOptional(b, c.TradeCount, c.HasTradeCount)
	b = appendOptional(b, c.VWAP, c.HasVWAP)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(c.Bars), 10)
	b = append(b, '\t')
	return strconv.AppendBool(b, c.Final)
}

// appendOptional appends a tab, then v when has (empty for null).
func appendOptional(b []byte, v float64, has bool) []byte {
	b = append(b, '\t')
	if has {
		b = bar.AppendFloat(b, v)
	}
	return b
}
