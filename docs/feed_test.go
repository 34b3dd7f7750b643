package docs_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/bar"
)

// feedRow is one row of feed.md's field table.
type feedRow struct {
	field, jsonType, null, since string
}

// feedTable reads the field table under "## A record" in feed.md: rows whose first cell is a `field`.
func feedTable(t *testing.T) []feedRow {
	t.Helper()
	b, err := os.ReadFile("feed.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## A record\n")
	if !ok {
		t.Fatal("feed.md: no section ## A record")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []feedRow
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 7 {
			t.Fatalf("feed.md: a field row with %d cells, want 7: %s", len(cells), line)
		}
		cell := func(i int) string { return strings.TrimSpace(cells[i]) }
		rows = append(rows, feedRow{field: strings.Trim(cell(0), "`"), jsonType: cell(1), null: cell(3), since: cell(len(cells) - 1)})
	}
	if len(rows) == 0 {
		t.Fatal("feed.md: no field table under ## A record")
	}
	return rows
}

// docs/feed.md, the schema and the encoder agree: the same fields in the order the encoder writes them, the same
// JSON types, the same nullability and the same version per field.
func TestFeedMarkdownIsTheSchema(t *testing.T) {
	s := schema(t, docs.EnhancedSchema)
	since := map[string]string{}
	for name, p := range rawJSON(t, docs.EnhancedSchema)["properties"].(map[string]any) {
		since[name], _ = p.(map[string]any)["x-since"].(string)
	}
	rows := feedTable(t)
	var fields []string
	for _, r := range rows {
		fields = append(fields, r.field)
		p := s.Properties[r.field]
		if p == nil {
			t.Errorf("feed.md documents %q, which the schema does not list", r.field)
			continue
		}
		nullable := slices.Contains(p.Types, "null")
		if got := slices.DeleteFunc(slices.Clone(p.Types), func(ty string) bool { return ty == "null" }); !slices.Equal(got, []string{r.jsonType}) {
			t.Errorf("%s: feed.md says JSON type %s, the schema %v", r.field, r.jsonType, p.Types)
		}
		if (r.null != "never") != nullable {
			t.Errorf("%s: feed.md says null %q, the schema's types are %v", r.field, r.null, p.Types)
		}
		if r.since != since[r.field] {
			t.Errorf("%s: feed.md says since %q, the schema's x-since is %q", r.field, r.since, since[r.field])
		}
	}
	e := sampleEnriched()[0]
	if order := keyOrder(t, bar.AppendEnriched(nil, &e)); !slices.Equal(fields, order) {
		t.Errorf("feed.md's fields %v, want the encoder's order %v", fields, order)
	}
}
