// Package reference checks finfeed's enriched records against the reference implementation's published lines
// (fixtures.SeedEnhanced): the reference's keys first, in its order, with its values, then finfeed's own keys.
package reference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Keys are the reference's keys, in its order: every enriched record starts with them.
var Keys = []string{"symbol", "close", "open", "low", "high", "volume", "timestamp", "%change", "indicator"}

// Extension are the keys finfeed writes after the reference's, in order (docs/feed.md).
var Extension = []string{"prevClose", "tradingDate", "sma20", "sma50", "ema12", "ema26", "rsi14", "vwapSession",
	"volumeAlert", "maCross", "outOfSequence"}

// CheckPrefix reports how got differs from the reference's line ref: got must start with ref's keys in ref's
// order with equal values (numbers compared as float64, so the reference's 255.0 equals 255), and continue with
// exactly the Extension keys in order. The extension's values are the caller's to check.
func CheckPrefix(got, ref []byte) error {
	gk, gv, err := members(got)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	rk, rv, err := members(ref)
	if err != nil {
		return fmt.Errorf("reference line: %w", err)
	}
	if !slices.Equal(rk, Keys) {
		return fmt.Errorf("reference line keys %v, want %v", rk, Keys)
	}
	if want := append(slices.Clone(Keys), Extension...); !slices.Equal(gk, want) {
		return fmt.Errorf("record keys %v, want %v", gk, want)
	}
	for i, k := range Keys {
		if !sameValue(gv[i], rv[i]) {
			return fmt.Errorf("%s: got %s, want the reference's %s", k, gv[i], rv[i])
		}
	}
	return nil
}

// members returns a JSON object's keys and raw values in order.
func members(b []byte) (keys []string, values []json.RawMessage, err error) {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object: %s", b)
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b, err)
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b, err)
		}
		keys = append(keys, tok.(string))
		values = append(values, v)
	}
	return keys, values, nil
}

// sameValue compares two JSON values: numbers by float64 value, anything else byte for byte.
func sameValue(a, b json.RawMessage) bool {
	var x, y float64
	if json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil {
		return x == y
	}
	return bytes.Equal(a, b)
}
