package bar

// Indicators are the technical-indicator fields of an enriched bar (docs/feed.md), as package indicators computes
// them from the symbol's earlier bars. A number is null in the record when its Has* flag is false; the floats are
// always finite. The zero value is every indicator null, as for a symbol's first bar.
type Indicators struct {
	SMA20, SMA50, EMA12, EMA26, RSI14, VWAPSession                   float64
	HasSMA20, HasSMA50, HasEMA12, HasEMA26, HasRSI14, HasVWAPSession bool
	// VolumeAlert is true when the bar's volume is at least 3 × the mean volume of the symbol's previous 20 bars.
	VolumeAlert bool
	// MACross is CrossBullish, CrossBearish or "" (null: no crossover on this bar).
	MACross string
	// OutOfSequence marks a bar older than the latest bar seen for its symbol (late, backfilled, or a correction
	// of an older bar): every indicator is null and the symbol's series is unchanged.
	OutOfSequence bool
}

// The maCross values.
const (
	CrossBullish = "bullish" // ema12 − ema26 turned from ≤ 0 on the previous bar to > 0
	CrossBearish = "bearish" // ema12 − ema26 turned from > 0 on the previous bar to ≤ 0
)

// appendIndicators appends the indicator fields, each after a comma, in the contract's order.
func appendIndicators(b []byte, in *Indicators) []byte {
	b = appendOptional(b, `,"sma20":`, in.SMA20, in.HasSMA20)
	b = appendOptional(b, `,"sma50":`, in.SMA50, in.HasSMA50)
	b = appendOptional(b, `,"ema12":`, in.EMA12, in.HasEMA12)
	b = appendOptional(b, `,"ema26":`, in.EMA26, in.HasEMA26)
	b = appendOptional(b, `,"rsi14":`, in.RSI14, in.HasRSI14)
	b = appendOptional(b, `,"vwapSession":`, in.VWAPSession, in.HasVWAPSession)
	b = append(b, `,"volumeAlert":`...)
	b = appendBool(b, in.VolumeAlert)
	switch in.MACross {
	case CrossBullish:
		b = append(b, `,"maCross":"bullish"`...)
	case CrossBearish:
		b = append(b, `,"maCross":"bearish"`...)
	default:
		b = append(b, `,"maCross":null`...)
	}
	b = append(b, `,"outOfSequence":`...)
	return appendBool(b, in.OutOfSequence)
}

func appendOptional(b []byte, key string, v float64, has bool) []byte {
	b = append(b, key...)
	if !has {
		return append(b, "null"...)
	}
	return AppendFloat(b, v)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}
