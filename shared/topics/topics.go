// Package topics names finfeed's Kafka topics and the consumer groups of the functions that read them: the one
// place these names are written (configuration may override them at run time).
package topics

// Topic names (overridden by RAW_TOPIC, ENHANCED_TOPIC, CANDLES_TOPIC, DLQ_TOPIC and the provisioner's properties).
const (
	// Raw holds the ingester's bars.
	Raw = "raw"
	// Enhanced holds the enriched bars customers read.
	Enhanced = "enhanced"
	// RawDLQ holds the raw records the enrich function can never process.
	RawDLQ = "raw.dlq"
	// EnhancedDLQ holds the enhanced records the index function can never index.
	EnhancedDLQ = "enhanced.dlq"
	// Candles holds the 5m/15m/1h candles customers read, written by the enrich function.
	Candles = "candles"
)

// Consumer groups of the event-source mappings.
const (
	// EnrichGroup is the group the enrich function reads Raw with.
	EnrichGroup = "finfeed-enrich"
	// IndexGroup is the group the index function reads Enhanced with.
	IndexGroup = "finfeed-index"
	// IndexCandlesGroup is the group the index function reads Candles with: a second MSK event source (one
	// topic each), and a Kafka event source's group must be its own.
	IndexCandlesGroup = "finfeed-index-candles"
)

// All lists the feed's topics: Raw, Enhanced, RawDLQ, EnhancedDLQ, Candles.
func All() []string { return []string{Raw, Enhanced, RawDLQ, EnhancedDLQ, Candles} }
