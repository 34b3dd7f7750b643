package main

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

func contractSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	s, err := docs.Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkEnhancedContract validates every value read from enhanced against docs/schemas/enhanced.schema.json and
// returns how many had a previous close (%change non-null) and how many did not.
func checkEnhancedContract(t *testing.T, values []string) (known, unknown int) {
	t.Helper()
	s := contractSchema(t, docs.EnhancedSchema)
	for _, v := range values {
		if err := docs.ValidateJSON(s, []byte(v)); err != nil {
			t.Errorf("enhanced record not in the contract: %s: %v", v, err)
		}
		if strings.Contains(v, `"%change":null`) {
			unknown++
		} else {
			known++
		}
	}
	return known, unknown
}

// checkEnhancedHeaders validates the headers of records read from enhanced against
// docs/schemas/enhanced-headers.schema.json.
func checkEnhancedHeaders(t *testing.T, msgs []message) {
	t.Helper()
	s := contractSchema(t, docs.EnhancedHeadersSchema)
	for _, m := range msgs {
		if err := docs.ValidateHeaders(s, m.headers); err != nil {
			t.Errorf("enhanced record %s: headers %v not in the contract: %v", m.value, m.headers, err)
		}
	}
}

// checkDeadLetterContract validates the headers of dead letters against docs/schemas/dlq-headers.schema.json.
func checkDeadLetterContract(t *testing.T, msgs []message) {
	t.Helper()
	s := contractSchema(t, docs.DLQHeadersSchema)
	for _, m := range msgs {
		if err := docs.ValidateHeaders(s, m.headers); err != nil {
			t.Errorf("dead letter %q: headers %v not in the contract: %v", m.value, m.headers, err)
		}
	}
}

// `feed enrich` on the fixtures writes only records in the customer contract, with and without a previous close.
func TestEnrichOutputIsTheContract(t *testing.T) {
	var known, unknown int
	for _, f := range []struct{ raw, closes string }{
		{fixtures.SeedRaw, fixtures.SeedPrevCloses},
		{fixtures.JPMRaw, fixtures.JPMPrevCloses},
	} {
		code, out, errOut := runFeed(t, string(fixtures.Read(t, f.raw)), "enrich", "--prev-closes", fixtures.Path(t, f.closes))
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", f.raw, code, errOut)
		}
		lines := splitLines(out)
		if want := len(splitLines(string(fixtures.Read(t, f.raw)))); len(lines) != want {
			t.Fatalf("%s: %d output lines, want %d", f.raw, len(lines), want)
		}
		k, u := checkEnhancedContract(t, lines)
		known, unknown = known+k, unknown+u
	}
	if known == 0 || unknown == 0 {
		t.Errorf("checked %d records with a previous close and %d without, want both", known, unknown)
	}
}
