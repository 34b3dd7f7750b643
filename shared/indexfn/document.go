package indexfn

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/search"
)

// document is an enriched bar as indexed: the enhanced record's fields in its order, with timestamp as an RFC
// 3339 date and a null (an unknown %change or prevClose, an indicator still warming up, no crossover) left out
// rather than written as null.
type document struct {
	Symbol      string   `json:"symbol"`
	Close       float64  `json:"close"`
	Open        float64  `json:"open"`
	Low         float64  `json:"low"`
	High        float64  `json:"high"`
	Volume      float64  `json:"volume"`
	Timestamp   string   `json:"timestamp"`
	Change      *float64 `json:"%change,omitempty"`
	Indicator   string   `json:"indicator"`
	PrevClose   *float64 `json:"prevClose,omitempty"`
	TradingDate string   `json:"tradingDate"`
	// the technical indicators
	SMA20         *float64 `json:"sma20,omitempty"`
	SMA50         *float64 `json:"sma50,omitempty"`
	EMA12         *float64 `json:"ema12,omitempty"`
	EMA26         *float64 `json:"ema26,omitempty"`
	RSI14         *float64 `json:"rsi14,omitempty"`
	VWAPSession   *float64 `json:"vwapSession,omitempty"`
	VolumeAlert   bool     `json:"volumeAlert"`
	MACross       string   `json:"maCross,omitempty"`
	OutOfSequence bool     `json:"outOfSequence"`
}

// present is &v when has, nil (left out of the document) otherwise.
func present(v *float64, has bool) *float64 {
	if has {
		return v
	}
	return nil
}

// idLayout is the bar start time in the deterministic id: the reference's timestamp form, with sub-second digits
// only when a bar has them.
const idLayout = "2006-01-02 15:04:05.999999999"

// DocID is a bar's document id, "SYMBOL|YYYY-MM-DD HH:MM:SS": a corrected bar and a retried batch overwrite the
// same document.
func DocID(e *bar.Enriched) string { return e.Symbol + "|" + e.Time.UTC().Format(idLayout) }

// Doc turns an enriched bar into its document, addressed to the index naming gives it (its month's, or its
// symbol's in the per-symbol layout).
func Doc(naming search.Config, e *bar.Enriched) (search.Doc, error) {
	d := document{
		Symbol:      e.Symbol,
		Close:       e.Close,
		Open:        e.Open,
		Low:         e.Low,
		High:        e.High,
		Volume:      e.Volume,
		Timestamp:   e.Time.UTC().Format(time.RFC3339Nano),
		Indicator:   string(e.Indicator),
		TradingDate: e.TradingDate.String(),

		SMA20:         present(&e.SMA20, e.HasSMA20),
		SMA50:         present(&e.SMA50, e.HasSMA50),
		EMA12:         present(&e.EMA12, e.HasEMA12),
		EMA26:         present(&e.EMA26, e.HasEMA26),
		RSI14:         present(&e.RSI14, e.HasRSI14),
		VWAPSession:   present(&e.VWAPSession, e.HasVWAPSession),
		VolumeAlert:   e.VolumeAlert,
		MACross:       e.MACross,
		OutOfSequence: e.OutOfSequence,
	}
	if e.HasPrev {
		d.Change = &e.Change
	}
	if e.HasPrev && !e.PrevCloseAbsent { // records in the reference's nine-key form carry no prevClose
		d.PrevClose = &e.PrevClose
	}
	src, err := json.Marshal(&d)
	if err != nil {
		return search.Doc{}, fmt.Errorf("encode document: %w", err)
	}
	return search.Doc{Index: naming.IndexName(e.Symbol, e.Time), ID: DocID(e), Source: src}, nil
}
