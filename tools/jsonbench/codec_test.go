package jsonbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

var rules = enrich.Rules{Threshold: enrich.DefaultThreshold}

// jpm is the JPM fixture (870 real minute bars over two days) and its previous closes as the enrich function
// resolves them: the first day has none (Unknown), the second has one.
func jpm(t testing.TB) ([][]byte, map[enrich.Lookup]float64) {
	t.Helper()
	recs := bytes.Split(bytes.TrimSpace(fixtures.Read(t, fixtures.JPMRaw)), []byte("\n"))
	store, err := prevclose.LoadCSVFile(fixtures.Path(t, fixtures.JPMPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[enrich.Lookup]bool{}
	var lookups []enrich.Lookup
	for _, rec := range recs {
		r, err := bar.DecodeRaw(rec)
		if err != nil {
			t.Fatalf("fixture record %s: %v", rec, err)
		}
		if l := enrich.LookupOf(&r); !seen[l] {
			seen[l] = true
			lookups = append(lookups, l)
		}
	}
	closes, err := (&enrich.Enricher{Rules: rules, Store: store}).Resolve(context.Background(), lookups)
	if err != nil {
		t.Fatal(err)
	}
	if len(closes) != 1 {
		t.Fatalf("JPM fixture: %d previous closes resolved, want 1 (2024-10-31's)", len(closes))
	}
	return recs, closes
}

// TestCodecsAgreeOnRecords: on the JPM fixture and the synthetic 10k batch every codec yields exactly bar's
// output, byte for byte, and rejects the same records.
func TestCodecsAgreeOnRecords(t *testing.T) {
	jpmRecs, jpmCloses := jpm(t)
	synRecs, synCloses := Synthetic(10_000)
	for _, set := range []struct {
		name         string
		recs         [][]byte
		closes       map[enrich.Lookup]float64
		wantRejected int
	}{{"jpm", jpmRecs, jpmCloses, 0}, {"synthetic10k", synRecs, synCloses, 100}} {
		want, rejected, err := Enrich(Bar{}, rules, set.closes, set.recs, nil)
		if err != nil || rejected != set.wantRejected {
			t.Fatalf("%s: bar: rejected %d, err %v; want %d rejected", set.name, rejected, err, set.wantRejected)
		}
		for _, c := range Codecs()[1:] {
			got, rejected, err := Enrich(c, rules, set.closes, set.recs, nil)
			if err != nil || rejected != set.wantRejected {
				t.Errorf("%s: %s: rejected %d, err %v; want %d rejected", set.name, c.Name(), rejected, err, set.wantRejected)
				continue
			}
			if !bytes.Equal(got, want) {
				gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range min(len(gl), len(wl)) {
					if !bytes.Equal(gl[i], wl[i]) {
						t.Errorf("%s: %s: line %d:\n got %s\nwant %s", set.name, c.Name(), i, gl[i], wl[i])
						break
					}
				}
			}
		}
	}
}

// TestCodecsEncodeFloatsAlike: bar writes floats as encoding/json does; each library must write the same digits
// for prices, volumes and %changes across their whole range.
func TestCodecsEncodeFloatsAlike(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ts := time.Date(2024, 7, 11, 19, 49, 0, 0, time.UTC)
	for _, c := range Codecs()[1:] {
		diffs := 0
		for i := range 20_000 {
			f := math.Pow(10, rng.Float64()*30-12) * (rng.Float64() + 0.5)
			if i%2 == 0 {
				f = math.Round(f*10000) / 10000
			}
			e := bar.Enriched{Symbol: "A&B<C>", Close: f, Open: f, Low: f, High: f, Volume: math.Round(f), Time: ts,
				Change: -f, Indicator: bar.Bearish, PrevClose: f, HasPrev: true, TradingDate: bar.TradingDate(ts)}
			if i%3 != 0 { // the indicators' floats too, and each crossover
				e.Indicators = bar.Indicators{SMA20: f, SMA50: f * 1.01, EMA12: f / 3, EMA26: f, RSI14: math.Mod(f, 100), VWAPSession: f,
					HasSMA20: true, HasSMA50: true, HasEMA12: true, HasEMA26: i%2 == 0, HasRSI14: true, HasVWAPSession: true,
					VolumeAlert: i%5 == 0, MACross: [...]string{"", bar.CrossBullish, bar.CrossBearish}[i%3]}
			}
			want := bar.AppendEnriched(nil, &e)
			got, err := c.AppendEnriched(nil, &e)
			if err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
			if !bytes.Equal(got, want) {
				if diffs++; diffs <= 3 {
					t.Errorf("%s: float %v:\n got %s\nwant %s", c.Name(), f, got, want)
				}
			}
		}
		if diffs > 0 {
			t.Errorf("%s: %d of 20000 records differ", c.Name(), diffs)
		}
	}
}

// strictCases are records bar rejects, with the field its reason names ("" for a whole-record reason) and the
// codecs known to answer differently: they either accept the record or name another field (or none). The test
// fails both when a codec differs unexpectedly and when a listed gap has closed.
var strictCases = []struct {
	name, rec, field string
	gaps             []string
}{
	{"not an object", `[1,2]`, "", nil},
	{"truncated", `{"open": 1.0, "high"`, "", []string{"jsonv2"}}, // jsonv2 names the field it was reading
	{"trailing data", `{"open":1,"high":1,"low":1,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"} x`, "", nil},
	{"NaN text", `{"open":1,"high":1,"low":1,"close":NaN,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "close", []string{"goccy", "sonic", "jsonv1"}},
	{"Infinity text", `{"open":1,"high":Infinity,"low":1,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "high", []string{"goccy", "sonic", "jsonv1"}},
	{"-Infinity text", `{"open":1,"high":1,"low":-Infinity,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "low", []string{"goccy", "sonic", "jsonv1"}},
	{"number too large", `{"open":1,"high":1,"low":1,"close":1e999,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "close", []string{"sonic"}},
	{"close a string", `{"open":1,"high":1,"low":1,"close":"1.0","volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "close", []string{"sonic"}},
	{"symbol a number", `{"open":1,"high":1,"low":1,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":7}`, "symbol", []string{"sonic"}},
	{"close null", `{"open":1,"high":1,"low":1,"close":null,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "close", nil},
	{"volume missing", `{"open":1,"high":1,"low":1,"close":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "volume", nil},
	{"symbol empty", `{"open":1,"high":1,"low":1,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":""}`, "symbol", nil},
	{"key of another case", `{"open":1,"high":1,"low":1,"CLOSE":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "close", []string{"goccy", "jsonv1"}},
	{"duplicate key, last bad", `{"open":1,"high":1,"low":1,"close":1,"close":-1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "close", nil},
	{"negative volume", `{"open":1,"high":1,"low":1,"close":1,"volume":-1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "volume", nil},
	{"high below low", `{"open":1,"high":0.5,"low":1,"close":1,"volume":1,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "high 0.5 is below low 1", nil},
	{"bad timestamp", `{"open":1,"high":1,"low":1,"close":1,"volume":1,"timestamp":"yesterday","symbol":"A"}`, "timestamp", nil},
	{"trade_count fractional", `{"open":1,"high":1,"low":1,"close":1,"volume":1,"trade_count":1.5,"timestamp":"2024-07-11 19:49:00","symbol":"A"}`, "trade_count", nil},
	{"invalid UTF-8 in symbol", "{\"open\":1,\"high\":1,\"low\":1,\"close\":1,\"volume\":1,\"timestamp\":\"2024-07-11 19:49:00\",\"symbol\":\"A\xff\"}", "", []string{"jsonv2", "goccy", "sonic", "jsonv1"}},
	{"invalid UTF-8 in an unknown field", "{\"open\":1,\"high\":1,\"low\":1,\"close\":1,\"volume\":1,\"note\":\"\xff\",\"timestamp\":\"2024-07-11 19:49:00\",\"symbol\":\"A\"}", "", []string{"goccy", "sonic", "jsonv1"}},
}

// reasonField is the field a reason names: the text before the first colon, or the whole reason for rules that
// name no single field ("high 0.5 is below low 1"), or "" for a malformed or non-object document.
func reasonField(err error) string {
	var ie *bar.InvalidError
	if !errors.As(err, &ie) {
		return fmt.Sprintf("<not an InvalidError: %v>", err)
	}
	r := ie.Reason
	if strings.HasPrefix(r, "malformed JSON") || strings.HasPrefix(r, "not a JSON object") {
		return ""
	}
	if i := strings.IndexByte(r, ':'); i >= 0 {
		return r[:i]
	}
	return r
}

// TestCodecsRejectAlike: every wrapper rejects what bar rejects with a reason naming the same field, except for
// the gaps listed in strictCases, which are what a library cannot be made to do.
func TestCodecsRejectAlike(t *testing.T) {
	for _, tc := range strictCases {
		if _, err := bar.DecodeRaw([]byte(tc.rec)); reasonField(err) != tc.field {
			t.Fatalf("%s: bar: got %v, want a reason naming %q", tc.name, err, tc.field)
		}
		for _, c := range Codecs()[1:] {
			r, err := c.DecodeRaw([]byte(tc.rec))
			agrees := err != nil && errors.Is(err, bar.ErrInvalid) && reasonField(err) == tc.field
			gap := false
			for _, g := range tc.gaps {
				gap = gap || g == c.Name()
			}
			switch {
			case !agrees && !gap:
				t.Errorf("%s: %s: got %+v, %v; want a reason naming %q", tc.name, c.Name(), r, err, tc.field)
			case agrees && gap:
				t.Errorf("%s: %s: listed as a gap but now agrees with bar (%v): remove it from strictCases", tc.name, c.Name(), err)
			case gap:
				t.Logf("%s: %s (known gap): %v", tc.name, c.Name(), err)
			}
		}
	}
}
