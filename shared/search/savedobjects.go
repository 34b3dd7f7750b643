package search

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

type savedObject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
	References []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"references"`
}

// CandlesIndexPattern is the id of the saved objects' index pattern of the candles alias; every other index
// pattern is of the bars alias.
const CandlesIndexPattern = "finfeed-candles"

// ValidateSavedObjects checks an NDJSON export the way an import would use it: every line an object with type,
// id and attributes; ids unique; the bar index pattern titled alias and the candle one (CandlesIndexPattern)
// candlesAlias, each with a date field of its mapping as time field; every visualization's and saved search's
// fields checked against the mapping of the index pattern it references; every visualization's
// visState and search source parse, its index reference resolves and its aggregations use mapped fields of the
// right type; every saved search's source references the index pattern and its columns and sort fields are
// mapped; every dashboard panel references a visualization or a saved search in the file. All problems are
// reported.
func ValidateSavedObjects(data []byte, alias, candlesAlias string) error {
	var errs []error
	objs := map[string]savedObject{}
	var order []savedObject
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var o savedObject
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if o.Type == "" || o.ID == "" || o.Attributes == nil {
			errs = append(errs, fmt.Errorf("line %d: type, id and attributes are required", n))
			continue
		}
		key := o.Type + "/" + o.ID
		if _, dup := objs[key]; dup {
			errs = append(errs, fmt.Errorf("line %d: duplicate %s", n, key))
		}
		objs[key] = o
		order = append(order, o)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	barFields, candleFields := mappedTypes(Mapping()), mappedTypes(CandlesMapping())
	patternFields := func(id string) map[string]string {
		if id == CandlesIndexPattern {
			return candleFields
		}
		return barFields
	}
	counts := map[string]int{}
	for _, o := range order {
		counts[o.Type]++
		key := o.Type + "/" + o.ID
		refs := map[string]string{}
		fieldsOf := map[string]map[string]string{} // index pattern reference name -> its fields
		for _, r := range o.References {
			if _, ok := objs[r.Type+"/"+r.ID]; !ok {
				errs = append(errs, fmt.Errorf("%s: reference %s to %s/%s not in the file", key, r.Name, r.Type, r.ID))
			}
			refs[r.Name] = r.Type
			if r.Type == "index-pattern" {
				fieldsOf[r.Name] = patternFields(r.ID)
			}
		}
		switch o.Type {
		case "index-pattern":
			want := alias
			if o.ID == CandlesIndexPattern {
				want = candlesAlias
			}
			if o.Attributes["title"] != want {
				errs = append(errs, fmt.Errorf("%s: title %v, want the alias %q", key, o.Attributes["title"], want))
			}
			if f, _ := o.Attributes["timeFieldName"].(string); patternFields(o.ID)[f] != "date" {
				errs = append(errs, fmt.Errorf("%s: timeFieldName %q is not a date field of the mapping", key, f))
			}
		case "visualization":
			errs = append(errs, checkVisualization(key, o, refs, fieldsOf)...)
		case "search":
			errs = append(errs, checkSearch(key, o, refs, fieldsOf)...)
		case "dashboard":
			var panels []struct {
				PanelRefName string `json:"panelRefName"`
				GridData     struct {
					W, H int
				} `json:"gridData"`
			}
			s, _ := o.Attributes["panelsJSON"].(string)
			if err := json.Unmarshal([]byte(s), &panels); err != nil || len(panels) == 0 {
				errs = append(errs, fmt.Errorf("%s: panelsJSON is not a list of panels", key))
			}
			for _, p := range panels {
				if t := refs[p.PanelRefName]; t != "visualization" && t != "search" {
					errs = append(errs, fmt.Errorf("%s: panel %q does not reference a visualization or a saved search", key, p.PanelRefName))
				}
				if p.GridData.W <= 0 || p.GridData.H <= 0 {
					errs = append(errs, fmt.Errorf("%s: panel %q has no size", key, p.PanelRefName))
				}
			}
		default:
			errs = append(errs, fmt.Errorf("%s: unexpected type", key))
		}
	}
	for _, t := range []string{"index-pattern", "visualization", "dashboard"} {
		if counts[t] == 0 {
			errs = append(errs, fmt.Errorf("no %s", t))
		}
	}
	return errors.Join(errs...)
}

// checkSearchSource checks that an object's searchSourceJSON parses and references an index pattern, and returns
// that pattern's fields (fieldsOf: reference name -> fields).
func checkSearchSource(key string, o savedObject, refs map[string]string, fieldsOf map[string]map[string]string) (map[string]string, []error) {
	meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
	ss, _ := meta["searchSourceJSON"].(string)
	var source struct {
		IndexRefName string `json:"indexRefName"`
	}
	if err := json.Unmarshal([]byte(ss), &source); err != nil {
		return nil, []error{fmt.Errorf("%s: searchSourceJSON: %w", key, err)}
	}
	if refs[source.IndexRefName] != "index-pattern" {
		return nil, []error{fmt.Errorf("%s: searchSourceJSON does not reference the index pattern", key)}
	}
	return fieldsOf[source.IndexRefName], nil
}

// checkSearch checks a saved search (a Discover table): its source, and columns and sort fields in the mapping.
func checkSearch(key string, o savedObject, refs map[string]string, fieldsOf map[string]map[string]string) []error {
	fields, errs := checkSearchSource(key, o, refs, fieldsOf)
	columns, _ := o.Attributes["columns"].([]any)
	if len(columns) == 0 {
		errs = append(errs, fmt.Errorf("%s: no columns", key))
	}
	for _, c := range columns {
		if f, _ := c.(string); fields[f] == "" {
			errs = append(errs, fmt.Errorf("%s: column %v is not a mapped field", key, c))
		}
	}
	sort, _ := o.Attributes["sort"].([]any)
	for _, s := range sort {
		pair, _ := s.([]any)
		if len(pair) != 2 {
			errs = append(errs, fmt.Errorf("%s: sort %v is not [field, direction]", key, s))
			continue
		}
		if f, _ := pair[0].(string); fields[f] == "" {
			errs = append(errs, fmt.Errorf("%s: sort field %v is not a mapped field", key, pair[0]))
		}
		if d := pair[1]; d != "asc" && d != "desc" {
			errs = append(errs, fmt.Errorf("%s: sort direction %v, want asc or desc", key, d))
		}
	}
	return errs
}

func checkVisualization(key string, o savedObject, refs map[string]string, fieldsOf map[string]map[string]string) []error {
	fields, errs := checkSearchSource(key, o, refs, fieldsOf)
	vs, _ := o.Attributes["visState"].(string)
	var state struct {
		Type string `json:"type"`
		Aggs []struct {
			Type   string         `json:"type"`
			Schema string         `json:"schema"`
			Params map[string]any `json:"params"`
		} `json:"aggs"`
	}
	if err := json.Unmarshal([]byte(vs), &state); err != nil {
		return append(errs, fmt.Errorf("%s: visState: %w", key, err))
	}
	if state.Type == "" || len(state.Aggs) == 0 {
		errs = append(errs, fmt.Errorf("%s: visState has no type or aggregations", key))
	}
	want := map[string]string{"avg": "double", "max": "double", "min": "double", "sum": "double",
		"date_histogram": "date", "terms": "keyword"}
	for _, a := range state.Aggs {
		if a.Type == "count" {
			continue
		}
		f, _ := a.Params["field"].(string)
		typ, ok := want[a.Type]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: aggregation %s not expected", key, a.Type))
		case fields[f] != typ:
			errs = append(errs, fmt.Errorf("%s: %s on field %q: mapped as %q, want %s", key, a.Type, f, fields[f], typ))
		}
	}
	return errs
}

// mappedTypes is field name -> type from a mapping.
func mappedTypes(mapping map[string]any) map[string]string {
	out := map[string]string{}
	props, _ := mapping["properties"].(map[string]any)
	for name, p := range props {
		if m, ok := p.(map[string]any); ok {
			out[name], _ = m["type"].(string)
		}
	}
	return out
}
