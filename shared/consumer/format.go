package consumer

import (
	"github.com/finfeed/finfeed/shared/bar"
)

// Format is how records are printed.
type Format string

// The formats.
const (
	// FormatJSON prints each record's value as is, one per line.
	FormatJSON Format = "json"
	// FormatTSV prints TSVHeader, then one tab-separated line per record (see AppendTSV).
	FormatTSV Format = "tsv"
)

// TSVHeader names the TSV columns: the enriched fields in contract order.
const TSVHeader = "symbol\ttimestamp\ttradingDate\topen\thigh\tlow\tclose\tvolume\tprevClose\t%change\tindicator"

// timestampLayout is the record's timestamp as the feed writes it (UTC; sub-second digits only when present).
const timestampLayout = "2006-01-02 15:04:05.999999999"

// AppendTSV appends e as one TSV line without the newline, columns as TSVHeader: numbers in Go's shortest
// round-trip form as the JSON record writes them, prevClose and %change empty when null.
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
	b = append(b, '\t')
	if e.HasPrev {
		b = bar.AppendFloat(b, e.PrevClose)
	}
	b = append(b, '\t')
	if e.HasPrev {
		b = bar.AppendFloat(b, e.Change)
	}
	b = append(b, '\t')
	return append(b, e.Indicator...)
}
