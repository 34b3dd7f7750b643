package jsonbench

import (
	"errors"
	"fmt"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/enrich"
)

// Enrich is the enrich hot path with codec c: for each raw record decode it, look its previous close up in
// closes (as enrich.Enricher.Resolve answered them), apply rules and encode the enriched record, appending the
// records to out one per line. Records bar would dead-letter are counted in rejected; any other error stops.
func Enrich(c Codec, rules enrich.Rules, closes map[enrich.Lookup]float64, records [][]byte, out []byte) (_ []byte, rejected int, _ error) {
	for i, rec := range records {
		raw, err := c.DecodeRaw(rec)
		if err != nil {
			if errors.Is(err, bar.ErrInvalid) {
				rejected++
				continue
			}
			return out, rejected, fmt.Errorf("%s: record %d: %w", c.Name(), i, err)
		}
		td := bar.TradingDate(raw.Time)
		pc, ok := closes[enrich.Lookup{Symbol: raw.Symbol, Before: td}]
		e, err := rules.Checked(&raw, td, pc, ok)
		if err != nil {
			if errors.Is(err, bar.ErrInvalid) {
				rejected++
				continue
			}
			return out, rejected, fmt.Errorf("%s: record %d: %w", c.Name(), i, err)
		}
		if out, err = c.AppendEnriched(out, &e); err != nil {
			return out, rejected, fmt.Errorf("%s: record %d: %w", c.Name(), i, err)
		}
		out = append(out, '\n')
	}
	return out, rejected, nil
}
