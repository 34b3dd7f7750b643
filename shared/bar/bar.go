package bar

import "time"

// Raw is a one-minute bar as the ingester writes it to the raw topic.
type Raw struct {
	Symbol string
	Open   float64
	High   float64
	Low    float64
	Close  float64
	Volume float64
	// TradeCount and VWAP are optional: Has* says whether the record carried a non-null value.
	TradeCount    float64
	HasTradeCount bool
	VWAP          float64
	HasVWAP       bool
	// Time is the bar's start, in UTC.
	Time time.Time
}

// Indicator is the enriched bar's direction against the previous close.
type Indicator string

// The indicator values customers see.
const (
	Bullish Indicator = "Bullish"
	Bearish Indicator = "Bearish"
	Neutral Indicator = "Neutral"
	Unknown Indicator = "Unknown" // no previous close: %change is null
)

// Enriched is a bar as published on the enhanced topic.
type Enriched struct {
	Symbol string
	Close  float64
	Open   float64
	Low    float64
	High   float64
	Volume float64
	Time   time.Time
	// Change is the percent change against PrevClose; both are meaningful only when HasPrev is true.
	Change    float64
	Indicator Indicator
	PrevClose float64
	HasPrev   bool
	// PrevCloseAbsent is set by DecodeEnriched for a record with a %change and no prevClose key (the reference's
	// nine-key form): PrevClose is then unknown, not 0, and AppendEnriched leaves the key out again.
	PrevCloseAbsent bool
	TradingDate     Date
	// Indicators are the fields that follow tradingDate (sma20 … outOfSequence).
	Indicators
}

// TimestampLayout is how bar start times are written: UTC, as the reference producer wrote them.
const TimestampLayout = "2006-01-02 15:04:05"

// timestampOutLayout keeps sub-second precision when a bar has any, and prints none otherwise.
const timestampOutLayout = "2006-01-02 15:04:05.999999999"
