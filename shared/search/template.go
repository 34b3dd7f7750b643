package search

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// TemplateName is the name of finfeed's index template.
const TemplateName = "finfeed-bars"

// IndexName is the index a symbol's bars go to: the optional prefix and the lower-case symbol (amzn), as the
// reference named them.
func (c Config) IndexName(symbol string) string { return c.Prefix + strings.ToLower(symbol) }

// IndexPatterns are the index patterns the template applies to: prefix* with a prefix; without one, a*..z* so
// system indexes (which start with a dot) are never matched.
func (c Config) IndexPatterns() []string {
	if c.Prefix != "" {
		return []string{c.Prefix + "*"}
	}
	p := make([]string, 0, 26)
	for ch := 'a'; ch <= 'z'; ch++ {
		p = append(p, string(ch)+"*")
	}
	return p
}

// Mapping is the explicit mapping of an enriched bar document. Dynamic fields are refused ("strict") so a
// malformed document fails loudly instead of growing the mapping.
func Mapping() map[string]any {
	double := map[string]any{"type": "double"}
	return map[string]any{
		"dynamic": "strict",
		"properties": map[string]any{
			"symbol":      map[string]any{"type": "keyword"},
			"open":        double,
			"high":        double,
			"low":         double,
			"close":       double,
			"volume":      double,
			"%change":     double,
			"prevClose":   double,
			"indicator":   map[string]any{"type": "keyword"},
			"timestamp":   map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis"},
			"tradingDate": map[string]any{"type": "date", "format": "strict_date"},
		},
	}
}

// Template is the composable index template: settings, the mapping and the alias, for every index the
// patterns match.
func (c Config) Template() map[string]any {
	return map[string]any{
		"index_patterns": c.IndexPatterns(),
		"priority":       100,
		"template": map[string]any{
			"settings": map[string]any{"number_of_shards": 1},
			"mappings": Mapping(),
			"aliases":  map[string]any{c.Alias: map[string]any{}},
		},
	}
}

// Setup applies the index template. It is idempotent (PUT replaces the template with the same content), so it
// runs at every cold start and from `feed opensearch setup`.
func (c *Client) Setup(ctx context.Context) error {
	body, err := json.Marshal(c.cfg.Template())
	if err != nil {
		return fmt.Errorf("encode index template: %w", err)
	}
	if _, err := c.expectOK(ctx, "PUT", "/_index_template/"+TemplateName, body); err != nil {
		return fmt.Errorf("apply index template: %w", err)
	}
	return nil
}

// AddAlias puts indexes under the configured alias. It is idempotent. The template already does this for
// indexes it creates; this also covers indexes that existed before it (and servers without template aliases).
func (c *Client) AddAlias(ctx context.Context, indexes []string) error {
	if len(indexes) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string]any{
		"actions": []any{map[string]any{"add": map[string]any{"indices": indexes, "alias": c.cfg.Alias}}},
	})
	if err != nil {
		return fmt.Errorf("encode alias actions: %w", err)
	}
	if _, err := c.expectOK(ctx, "POST", "/_aliases", body); err != nil {
		return fmt.Errorf("add indexes to alias %s: %w", c.cfg.Alias, err)
	}
	return nil
}
