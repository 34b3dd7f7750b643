package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// updateMappings adds the fields of Mapping that an existing index under the alias lacks (an index created by an
// earlier version: new indexes get the template). Indexes are created with "dynamic": "strict", so without this
// every document carrying a newer field would be rejected until the next month's index. Fields an index already
// has are never sent (OpenSearch refuses a type change; a conflicting field stays as it is). One GET of the
// alias's mappings; a PUT only per group of indexes missing the same fields, so a steady-state cold start costs
// one request. It returns the indexes it changed.
func (c *Client) updateMappings(ctx context.Context) ([]string, error) {
	path := "/" + c.cfg.Alias + "/_mapping"
	status, data, err := c.do(ctx, http.MethodGet, path, nil, nil, "")
	if err != nil {
		return nil, fmt.Errorf("read mappings: %w", err)
	}
	if status == http.StatusNotFound {
		return nil, nil // no index yet
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("read mappings: %w", &StatusError{Method: http.MethodGet, Path: path, Status: status, Body: short(data)})
	}
	var current map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(data, &current); err != nil {
		return nil, fmt.Errorf("read mappings: not a mapping response: %w", err)
	}
	want, _ := c.cfg.mapping()["properties"].(map[string]any)
	groups := map[string][]string{} // missing fields, joined -> indexes
	for index, m := range current {
		var missing []string
		for field := range want {
			if _, ok := m.Mappings.Properties[field]; !ok {
				missing = append(missing, field)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			k := strings.Join(missing, ",")
			groups[k] = append(groups[k], index)
		}
	}
	var updated []string
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		props := map[string]any{}
		for _, f := range strings.Split(k, ",") {
			props[f] = want[f]
		}
		body, err := json.Marshal(map[string]any{"properties": props})
		if err != nil {
			return updated, fmt.Errorf("encode mapping update: %w", err)
		}
		indexes := groups[k]
		slices.Sort(indexes)
		for _, chunk := range chunks(indexes, 100) { // keep the URL short
			if _, err := c.expectOK(ctx, http.MethodPut, "/"+strings.Join(chunk, ",")+"/_mapping", body); err != nil {
				errs = append(errs, fmt.Errorf("add fields %s to %s: %w", k, strings.Join(chunk, ","), err))
				continue
			}
			updated = append(updated, chunk...)
		}
	}
	slices.Sort(updated)
	return updated, errors.Join(errs...)
}

// chunks splits s into slices of at most n.
func chunks(s []string, n int) [][]string {
	var out [][]string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}
