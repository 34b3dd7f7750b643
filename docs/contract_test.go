package docs_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/bar"
)

func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	s, err := docs.Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaFiles are the embedded schemas/*.json.
func schemaFiles(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(docs.FS(), "schemas/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded schemas: %v %v", names, err)
	}
	return names
}

// rawJSON is a file's JSON as a generic map, for the annotations the compiled schema does not keep.
func rawJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := fs.ReadFile(docs.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// Every schema file compiles as draft 2020-12, says its version, annotates every field with the version that
// added it, and its own examples satisfy it.
func TestSchemaFiles(t *testing.T) {
	for _, name := range schemaFiles(t) {
		t.Run(name, func(t *testing.T) {
			s := schema(t, name)
			m := rawJSON(t, name)
			if got := m["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema: got %v, want draft 2020-12", got)
			}
			if got := m["x-schema-version"]; got != "1" {
				t.Errorf("x-schema-version: got %v, want \"1\"", got)
			}
			props, _ := m["properties"].(map[string]any)
			if len(props) == 0 {
				t.Fatal("no properties")
			}
			for p, v := range props {
				field, _ := v.(map[string]any)
				if since, ok := field["x-since"].(string); !ok || since == "" {
					t.Errorf("property %q: x-since: got %v, want the schema version that added it", p, field["x-since"])
				}
				if d, _ := field["description"].(string); d == "" {
					t.Errorf("property %q: no description", p)
				}
			}
			for i, ex := range s.Examples {
				if err := s.Validate(ex); err != nil {
					t.Errorf("example %d: %v", i, err)
				}
			}
		})
	}
}

// sampleEnriched covers every branch of the encoder: a previous close known (each indicator) and unknown; the
// technical indicators null, present, with each crossover and a volume alert, and out of sequence.
func sampleEnriched() []bar.Enriched {
	at := time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)
	known := func(ind bar.Indicator, change float64) bar.Enriched {
		return bar.Enriched{Symbol: "AMZN", Close: 194.64, Open: 194.58, Low: 194.58, High: 194.64, Volume: 255, Time: at,
			Change: change, Indicator: ind, PrevClose: 196.365, HasPrev: true, TradingDate: bar.TradingDate(at)}
	}
	warm := bar.Indicators{SMA20: 194.5815, SMA50: 194.7022, EMA12: 194.7012, EMA26: 194.6871, RSI14: 57.14, VWAPSession: 194.66,
		HasSMA20: true, HasSMA50: true, HasEMA12: true, HasEMA26: true, HasRSI14: true, HasVWAPSession: true}
	withIndicators := func(e bar.Enriched, in bar.Indicators) bar.Enriched {
		e.Indicators = in
		return e
	}
	bullish, bearish := warm, warm
	bullish.MACross, bullish.VolumeAlert = bar.CrossBullish, true
	bearish.MACross, bearish.EMA12, bearish.RSI14 = bar.CrossBearish, 194.6, 0
	early := bar.Indicators{EMA12: 223.1, HasEMA12: true, RSI14: 100, HasRSI14: true, VWAPSession: 223, HasVWAPSession: true}
	return []bar.Enriched{
		known(bar.Neutral, -0.8784661217630548),
		known(bar.Bullish, 5),
		known(bar.Bearish, -7.25),
		{Symbol: "JPM", Close: 223, Open: 223, Low: 223, High: 223, Volume: 284, Time: at, Indicator: bar.Unknown,
			TradingDate: bar.TradingDate(at)},
		withIndicators(known(bar.Neutral, 1), warm),
		withIndicators(known(bar.Neutral, 1), bullish),
		withIndicators(known(bar.Bearish, -6), bearish),
		withIndicators(known(bar.Neutral, 1), early),
		withIndicators(known(bar.Neutral, 1), bar.Indicators{OutOfSequence: true}),
	}
}

func keysOf(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// keyOrder is the order of b's top-level keys.
func keyOrder(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not an object (%v)", b, err)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return keys
}

// The schema is exactly the encoder's shape: every record the encoder writes carries the schema's required
// keys, in the required list's order, and no other, and the schema lists no key the encoder never writes.
func TestEnhancedSchemaIsTheEncoder(t *testing.T) {
	s := schema(t, docs.EnhancedSchema)
	props := slices.Sorted(maps.Keys(s.Properties))
	required := slices.Sorted(slices.Values(s.Required))
	if s.AdditionalProperties != false {
		t.Errorf("additionalProperties: got %v, want false (a field the schema lacks is a contract break)", s.AdditionalProperties)
	}
	written := map[string]bool{}
	for _, e := range sampleEnriched() {
		b := bar.AppendEnriched(nil, &e)
		if order := keyOrder(t, b); !slices.Equal(order, s.Required) {
			t.Errorf("%s (%s): keys in the order %v, want the schema's required list, which is the wire order: %v", e.Symbol, e.Indicator, order, s.Required)
		}
		keys := keysOf(t, b)
		if !slices.Equal(keys, required) {
			t.Errorf("%s (%s): keys %v, want the schema's required %v", e.Symbol, e.Indicator, keys, required)
		}
		for _, k := range keys {
			written[k] = true
			if _, ok := s.Properties[k]; !ok {
				t.Errorf("the encoder writes %q, which the schema does not list", k)
			}
		}
		if err := docs.ValidateJSON(s, b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	for _, p := range props {
		if !written[p] {
			t.Errorf("the schema lists %q, which the encoder never writes", p)
		}
	}
}

// The raw schema lists every key the ingester's encoder writes and requires only keys it always writes.
func TestRawSchemaIsTheEncoder(t *testing.T) {
	s := schema(t, docs.RawSchema)
	at := time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)
	written := map[string]bool{}
	for _, r := range []bar.Raw{
		{Symbol: "AMZN", Open: 194.58, High: 194.64, Low: 194.58, Close: 194.64, Volume: 255, TradeCount: 9, HasTradeCount: true, VWAP: 194.61, HasVWAP: true, Time: at},
		{Symbol: "BTC/USD", Open: 1, High: 3, Low: 0.5, Close: 2, Volume: 12.5, Time: at.Add(1500 * time.Millisecond)},
	} {
		b := bar.AppendRaw(nil, &r)
		for _, k := range keysOf(t, b) {
			written[k] = true
			if _, ok := s.Properties[k]; !ok {
				t.Errorf("the encoder writes %q, which the raw schema does not list", k)
			}
		}
		if err := docs.ValidateJSON(s, b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	for p := range s.Properties {
		if !written[p] {
			t.Errorf("the raw schema lists %q, which the encoder never writes", p)
		}
	}
	for _, p := range s.Required {
		if !written[p] {
			t.Errorf("the raw schema requires %q, which the encoder never writes", p)
		}
	}
}

// Values at the edges of what the encoder writes are in the contract; records that break it are not.
func TestEnhancedSchemaEdges(t *testing.T) {
	s := schema(t, docs.EnhancedSchema)
	base := sampleEnriched()[0]
	valid := map[string]func(e *bar.Enriched){
		"symbol with a dot":        func(e *bar.Enriched) { e.Symbol = "BRK.B" },
		"symbol with a slash":      func(e *bar.Enriched) { e.Symbol = "BTC/USD" },
		"symbol of odd printables": func(e *bar.Enriched) { e.Symbol = "!#[]~" },
		"symbol of 32 characters":  func(e *bar.Enriched) { e.Symbol = strings.Repeat("A", bar.MaxSymbolLen) },
		"sub-second timestamp":     func(e *bar.Enriched) { e.Time = e.Time.Add(6) },
		"half-second timestamp":    func(e *bar.Enriched) { e.Time = e.Time.Add(500 * time.Millisecond) },
		"last second of a day":     func(e *bar.Enriched) { e.Time = time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC) },
		"year 1900":                func(e *bar.Enriched) { e.Time = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) },
		"year 9998":                func(e *bar.Enriched) { e.Time = time.Date(9998, 12, 31, 23, 59, 0, 0, time.UTC) },
		"sub-penny prices": func(e *bar.Enriched) {
			e.Open, e.Low, e.High, e.Close, e.PrevClose = 0.0001, 0.0001, 0.0001, 0.0001, 0.0001
		},
		"largest prices":               func(e *bar.Enriched) { e.Open, e.Low, e.High, e.Close, e.PrevClose = 1e7, 1e7, 1e7, 1e7, 1e7 },
		"no volume":                    func(e *bar.Enriched) { e.Volume = 0 },
		"largest volume":               func(e *bar.Enriched) { e.Volume = 1e11 },
		"fractional volume":            func(e *bar.Enriched) { e.Volume = 0.25 },
		"tiny change in exponent form": func(e *bar.Enriched) { e.Change = 1e-9 },
		"zero change":                  func(e *bar.Enriched) { e.Change = 0 },
		"huge change":                  func(e *bar.Enriched) { e.Change = 1e13 },
	}
	for name, mutate := range valid {
		e := base
		mutate(&e)
		b := bar.AppendEnriched(nil, &e)
		if err := docs.ValidateJSON(s, b); err != nil {
			t.Errorf("%s: %s: %v", name, b, err)
		}
	}

	good := string(bar.AppendEnriched(nil, &base))
	unknown := sampleEnriched()[3]
	goodUnknown := string(bar.AppendEnriched(nil, &unknown))
	invalid := map[string]string{
		"a field the schema lacks":      strings.Replace(good, `"tradingDate"`, `"sma21":1,"tradingDate"`, 1),
		"tradingDate missing":           strings.Replace(good, `,"tradingDate":"2024-07-11"`, ``, 1),
		"prevClose missing":             strings.Replace(good, `,"prevClose":196.365`, ``, 1),
		"Unknown with a change":         strings.Replace(good, `"Neutral"`, `"Unknown"`, 1),
		"Unknown with a prevClose":      strings.Replace(goodUnknown, `"prevClose":null`, `"prevClose":1`, 1),
		"known with a null change":      strings.Replace(good, `-0.8784661217630548`, `null`, 1),
		"known with a null prevClose":   strings.Replace(good, `196.365`, `null`, 1),
		"indicator not in the enum":     strings.Replace(good, `"Neutral"`, `"Sideways"`, 1),
		"timestamp in RFC 3339":         strings.Replace(good, `2024-07-11 19:49:00`, `2024-07-11T19:49:00Z`, 1),
		"timestamp without seconds":     strings.Replace(good, `2024-07-11 19:49:00`, `2024-07-11 19:49`, 1),
		"timestamp with a zero tail":    strings.Replace(good, `2024-07-11 19:49:00`, `2024-07-11 19:49:00.50`, 1),
		"tradingDate with a time":       strings.Replace(good, `"tradingDate":"2024-07-11"`, `"tradingDate":"2024-07-11 00:00:00"`, 1),
		"symbol with a space":           strings.Replace(good, `"AMZN"`, `"AM ZN"`, 1),
		"symbol empty":                  strings.Replace(good, `"AMZN"`, `""`, 1),
		"symbol of 33 characters":       strings.Replace(good, `"AMZN"`, `"`+strings.Repeat("A", 33)+`"`, 1),
		"close of zero":                 strings.Replace(good, `"close":194.64`, `"close":0`, 1),
		"close below a tick":            strings.Replace(good, `"close":194.64`, `"close":0.00009`, 1),
		"open above ten million":        strings.Replace(good, `"open":194.58`, `"open":10000000.01`, 1),
		"negative volume":               strings.Replace(good, `"volume":255`, `"volume":-1`, 1),
		"volume above 100 billion":      strings.Replace(good, `"volume":255`, `"volume":100000000001`, 1),
		"volume as a string":            strings.Replace(good, `"volume":255`, `"volume":"255"`, 1),
		"change of -100 percent":        strings.Replace(good, `-0.8784661217630548`, `-100`, 1),
		"prevClose of zero":             strings.Replace(good, `196.365`, `0`, 1),
		"sma20 missing":                 strings.Replace(good, `"sma20":null,`, ``, 1),
		"volumeAlert null":              strings.Replace(good, `"volumeAlert":false`, `"volumeAlert":null`, 1),
		"outOfSequence missing":         strings.Replace(good, `,"outOfSequence":false`, ``, 1),
		"maCross not in the enum":       strings.Replace(good, `"maCross":null`, `"maCross":"sideways"`, 1),
		"maCross capitalised":           strings.Replace(good, `"maCross":null`, `"maCross":"Bullish"`, 1),
		"rsi14 above 100":               strings.Replace(good, `"rsi14":null`, `"rsi14":100.5`, 1),
		"negative sma50":                strings.Replace(good, `"sma50":null`, `"sma50":-1`, 1),
		"ema26 as a string":             strings.Replace(good, `"ema26":null`, `"ema26":"1"`, 1),
		"out of sequence with an sma":   strings.Replace(strings.Replace(good, `"outOfSequence":false`, `"outOfSequence":true`, 1), `"sma20":null`, `"sma20":1`, 1),
		"out of sequence with an alert": strings.Replace(strings.Replace(good, `"outOfSequence":false`, `"outOfSequence":true`, 1), `"volumeAlert":false`, `"volumeAlert":true`, 1),
		"out of sequence with a cross":  strings.Replace(strings.Replace(good, `"outOfSequence":false`, `"outOfSequence":true`, 1), `"maCross":null`, `"maCross":"bullish"`, 1),
		"not an object":                 `[` + good + `]`,
		"two documents on one record":   good + good,
	}
	for name, rec := range invalid {
		if rec == good || rec == goodUnknown {
			t.Fatalf("%s: the mutation did not change the record", name)
		}
		if err := docs.ValidateJSON(s, []byte(rec)); err == nil {
			t.Errorf("%s: %s: valid, want a contract violation", name, rec)
		}
	}
}

// The symbol pattern is bar.ValidateSymbol: for every single byte and at the length limits.
func TestSymbolPatternIsValidateSymbol(t *testing.T) {
	for _, name := range []string{docs.EnhancedSchema, docs.RawSchema} {
		sym := schema(t, name).Properties["symbol"]
		if sym == nil {
			t.Fatalf("%s: no symbol property", name)
		}
		var cases []string
		for c := range 256 {
			cases = append(cases, string([]byte{byte(c)}), "A"+string([]byte{byte(c)})+"B")
		}
		cases = append(cases, "", strings.Repeat("Z", bar.MaxSymbolLen), strings.Repeat("Z", bar.MaxSymbolLen+1), "BRK.B", "BTC/USD")
		for _, c := range cases {
			code := bar.ValidateSymbol(c) == nil
			contract := sym.Validate(c) == nil
			if code != contract {
				t.Errorf("%s: symbol %q: ValidateSymbol accepts: %v, schema accepts: %v", name, c, code, contract)
			}
		}
	}
}

// A timestamp the raw schema accepts is one the decoder parses; the ones it rejects, the decoder does too.
func TestRawTimestampIsParseTimestamp(t *testing.T) {
	ts := schema(t, docs.RawSchema).Properties["timestamp"]
	for _, c := range []struct {
		in    string
		valid bool
	}{
		{"2024-07-11 19:49:00", true},
		{"2024-07-11 19:49:00.5", true},
		{"2024-07-11 19:49:00.123456789", true},
		{"1900-01-01 00:00:00", true},
		{"2024-02-29 23:59:59", true},
		{"2024-07-11T19:49:00Z", true},
		{"2024-07-11T19:49:00.25Z", true},
		{"2024-07-11T15:49:00-04:00", true},
		{"2024-07-11T19:49:00+05:30", true},
		{"2024-07-11", false},
		{"2024-07-11T19:49:00", false},
		{"2024-07-11 19:49", false},
		{"2024-07-11 19:49:00Z", false},
		{"2024-7-11 19:49:00", false},
		{"2024-07-11 24:00:00", false},
		{"2024-13-01 00:00:00", false},
		{"2024-07-32T00:00:00Z", false},
		{"yesterday", false},
		{"", false},
	} {
		_, err := bar.ParseTimestamp([]byte(c.in))
		if got := ts.Validate(c.in) == nil; got != c.valid {
			t.Errorf("schema on %q: valid %v, want %v", c.in, got, c.valid)
		}
		if got := err == nil; got != c.valid {
			t.Errorf("ParseTimestamp(%q): ok %v (%v), want %v", c.in, got, err, c.valid)
		}
	}
}

// The raw schema and the decoder agree on every rule a schema can express, bounds included (high below low is not
// expressible in a schema: the decoder alone catches it).
func TestRawSchemaAgreesWithDecoder(t *testing.T) {
	s := schema(t, docs.RawSchema)
	const good = `{"open": 194.58, "high": 194.64, "low": 194.58, "close": 194.64, "volume": 255.0, "trade_count": 9.0, "vwap": 194.61, "timestamp": "2024-07-11 19:49:00", "symbol": "AMZN"}`
	for _, c := range []struct {
		name, rec string
		valid     bool
	}{
		{"the reference line", good, true},
		{"nulls for the optional fields", strings.NewReplacer(`9.0`, `null`, `194.61`, `null`).Replace(good), true},
		{"optional fields absent", `{"open":1,"high":1,"low":1,"close":1,"volume":0,"timestamp":"2024-07-11T19:49:00Z","symbol":"X"}`, true},
		{"unknown fields", strings.Replace(good, `"symbol"`, `"exchange":"V","symbol"`, 1), true},
		{"keys in another order", `{"symbol":"X","timestamp":"2024-07-11 19:49:00","volume":5,"close":2,"low":1,"high":3,"open":2}`, true},
		{"not JSON", `not json`, false},
		{"not an object", `[1]`, false},
		{"symbol missing", strings.Replace(good, `, "symbol": "AMZN"`, ``, 1), false},
		{"symbol empty", strings.Replace(good, `"AMZN"`, `""`, 1), false},
		{"symbol a number", strings.Replace(good, `"AMZN"`, `7`, 1), false},
		{"close missing", strings.Replace(good, `"close": 194.64, `, ``, 1), false},
		{"close of zero", strings.Replace(good, `"close": 194.64`, `"close": 0`, 1), false},
		{"volume negative", strings.Replace(good, `255.0`, `-1`, 1), false},
		{"volume a string", strings.Replace(good, `255.0`, `"255"`, 1), false},
		{"volume null", strings.Replace(good, `255.0`, `null`, 1), false},
		{"trade_count negative", strings.Replace(good, `9.0`, `-1`, 1), false},
		{"vwap negative", strings.Replace(good, `194.61`, `-1`, 1), false},
		{"open of zero", strings.Replace(good, `"open": 194.58`, `"open": 0`, 1), false},
		{"low below a tick", strings.Replace(good, `"low": 194.58`, `"low": 0.00009`, 1), false},
		{"smallest prices", strings.NewReplacer(`194.58`, `0.0001`, `194.64`, `0.0001`, `194.61`, `0.0001`).Replace(good), true},
		{"largest prices", strings.NewReplacer(`194.58`, `10000000`, `194.64`, `10000000`, `194.61`, `10000000`).Replace(good), true},
		{"high above ten million", strings.Replace(good, `"high": 194.64`, `"high": 10000000.5`, 1), false},
		{"volume at its bound", strings.Replace(good, `255.0`, `100000000000`, 1), true},
		{"volume above its bound", strings.Replace(good, `255.0`, `100000000001`, 1), false},
		{"trade_count at its bound", strings.Replace(good, `9.0`, `1000000000`, 1), true},
		{"trade_count above its bound", strings.Replace(good, `9.0`, `1000000001`, 1), false},
		{"trade_count fractional", strings.Replace(good, `9.0`, `9.5`, 1), false},
		{"vwap of zero", strings.Replace(good, `194.61`, `0`, 1), false},
		{"timestamp unparseable", strings.Replace(good, `2024-07-11 19:49:00`, `yesterday`, 1), false},
		{"timestamp missing", strings.Replace(good, `"timestamp": "2024-07-11 19:49:00", `, ``, 1), false},
	} {
		_, derr := bar.DecodeRaw([]byte(c.rec))
		serr := docs.ValidateJSON(s, []byte(c.rec))
		if (serr == nil) != c.valid {
			t.Errorf("%s: schema: %v, want valid %v", c.name, serr, c.valid)
		}
		if (derr == nil) != c.valid {
			t.Errorf("%s: DecodeRaw: %v, want valid %v", c.name, derr, c.valid)
		}
	}
}

// The header schemas: what deadletter.Record and the producer write, and what they must not.
func TestHeaderSchemas(t *testing.T) {
	dlq := schema(t, docs.DLQHeadersSchema)
	for _, c := range []struct {
		name    string
		headers map[string]string
		valid   bool
	}{
		{"error and source", map[string]string{"error": "invalid bar: not a JSON object", "source": "raw/3/1045"}, true},
		{"original headers kept", map[string]string{"trace": "abc", "error": "x", "source": "enhanced.dlq_x-1/0/0"}, true},
		{"error missing", map[string]string{"source": "raw/0/1"}, false},
		{"error empty", map[string]string{"error": "", "source": "raw/0/1"}, false},
		{"source missing", map[string]string{"error": "x"}, false},
		{"source without an offset", map[string]string{"error": "x", "source": "raw/0"}, false},
		{"source with a negative partition", map[string]string{"error": "x", "source": "raw/-1/0"}, false},
		{"source with a bad topic", map[string]string{"error": "x", "source": "r w/0/0"}, false},
	} {
		if err := docs.ValidateHeaders(dlq, c.headers); (err == nil) != c.valid {
			t.Errorf("dlq %s: %v, want valid %v", c.name, err, c.valid)
		}
	}
	enh := schema(t, docs.EnhancedHeadersSchema)
	for _, c := range []struct {
		name    string
		headers map[string]string
		valid   bool
	}{
		{"both", map[string]string{"content-type": "application/json", "schema-version": "1"}, true},
		{"no headers", map[string]string{}, false},
		{"another version", map[string]string{"content-type": "application/json", "schema-version": "2"}, false},
		{"another type", map[string]string{"content-type": "text/plain", "schema-version": "1"}, false},
	} {
		if err := docs.ValidateHeaders(enh, c.headers); (err == nil) != c.valid {
			t.Errorf("enhanced %s: %v, want valid %v", c.name, err, c.valid)
		}
	}
}

func TestValidateJSONRejectsNonJSON(t *testing.T) {
	s := schema(t, docs.EnhancedSchema)
	for _, in := range []string{``, `{`, `nope`} {
		if err := docs.ValidateJSON(s, []byte(in)); err == nil {
			t.Errorf("ValidateJSON(%q): no error", in)
		}
	}
}
