package search

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TemplateName is the name of finfeed's index template of the bar indexes.
const TemplateName = "finfeed-bars"

// CandlesTemplateName is the name of the index template of the candle indexes.
const CandlesTemplateName = "finfeed-candles"

// templateName is the name of c's index template.
func (c Config) templateName() string {
	if c.candles {
		return CandlesTemplateName
	}
	return TemplateName
}

// templatePriority is above the bar template's for the candle template, so a candle index that the per-symbol
// layout's patterns (a*..z*) also match takes the candle template alone.
func (c Config) templatePriority() int {
	if c.candles {
		return 200
	}
	return 100
}

// mapping is the mapping of c's documents.
func (c Config) mapping() map[string]any {
	if c.candles {
		return CandlesMapping()
	}
	return Mapping()
}

// monthLayout is the month in a monthly index name: 2024.07.
const monthLayout = "2006.01"

// layout is c.Layout with the zero value resolved.
func (c Config) layout() Layout {
	if c.Layout == "" {
		return LayoutMonthly
	}
	return c.Layout
}

// monthlyBase is what every monthly index name starts with: <prefix><alias>-.
func (c Config) monthlyBase() string { return c.Prefix + c.Alias + "-" }

// IndexName is the index a bar of symbol starting at start goes to. Monthly: <prefix><alias>-YYYY.MM by the UTC
// month of start, so a retried, late or corrected bar always lands in the same index as the first copy and its
// id stays unique. Per symbol: the optional prefix and the lower-case symbol (amzn), as the reference named them.
func (c Config) IndexName(symbol string, start time.Time) string {
	if c.layout() == LayoutPerSymbol {
		return c.Prefix + strings.ToLower(symbol)
	}
	return c.monthlyBase() + start.UTC().Format(monthLayout)
}

// IndexPatterns are the index patterns the template (and the retention policy) apply to. Monthly:
// <prefix><alias>-*. Per symbol: prefix* with a prefix; without one, a*..z* so system indexes (which start
// with a dot) are never matched.
func (c Config) IndexPatterns() []string {
	if c.layout() == LayoutMonthly {
		return []string{c.monthlyBase() + "*"}
	}
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
			// the technical indicators (docs/feed.md); a null one is left out of the document
			"sma20":         double,
			"sma50":         double,
			"ema12":         double,
			"ema26":         double,
			"rsi14":         double,
			"vwapSession":   double,
			"volumeAlert":   map[string]any{"type": "boolean"},
			"maCross":       map[string]any{"type": "keyword"},
			"outOfSequence": map[string]any{"type": "boolean"},
		},
	}
}

// CandlesMapping is the explicit mapping of a candle document (the candles topic's record with start as a date),
// strict as Mapping is.
func CandlesMapping() map[string]any {
	double := map[string]any{"type": "double"}
	return map[string]any{
		"dynamic": "strict",
		"properties": map[string]any{
			"symbol":      map[string]any{"type": "keyword"},
			"interval":    map[string]any{"type": "keyword"},
			"start":       map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis"},
			"open":        double,
			"high":        double,
			"low":         double,
			"close":       double,
			"volume":      double,
			"trade_count": double,
			"vwap":        double,
			"bars":        map[string]any{"type": "integer"},
			"final":       map[string]any{"type": "boolean"},
		},
	}
}

// Template is the composable index template: settings, the mapping and the alias, for every index the
// patterns match.
func (c Config) Template() map[string]any {
	return map[string]any{
		"index_patterns": c.IndexPatterns(),
		"priority":       c.templatePriority(),
		"template": map[string]any{
			"settings": map[string]any{"number_of_shards": 1},
			"mappings": c.mapping(),
			"aliases":  map[string]any{c.Alias: map[string]any{}},
		},
	}
}

// Applied says what Setup did.
type Applied struct {
	// Template is the index template applied and Patterns the indexes it covers.
	Template string
	Patterns []string
	// Extended are existing indexes under the alias that were given the mapping's newer fields.
	Extended []string
	// Policy is the retention policy's id and what happened to it; both empty when retention is off.
	Policy       string
	PolicyChange PolicyChange
	// Candles is what was applied for the candle indexes (nil in Candles itself).
	Candles *Applied
}

// Setup applies setup (below) for the bar indexes, then for the candle indexes (Config.Candles).
func (c *Client) Setup(ctx context.Context) (Applied, error) {
	a, err := c.setup(ctx)
	if err != nil {
		return a, err
	}
	cc := *c
	cc.cfg = c.cfg.Candles()
	ca, err := cc.setup(ctx)
	a.Candles = &ca
	if err != nil {
		return a, fmt.Errorf("candle indexes: %w", err)
	}
	return a, nil
}

// setup applies the index template, adds the mapping's newer fields to existing indexes under the alias that
// lack them, and then, in the monthly layout with a retention, applies the Index State Management policy that
// deletes old months. Every step is idempotent, so Setup runs at every cold start (the policy exists before the
// first monthly index is created, so that index is managed from birth) and from `feed opensearch setup`.
func (c *Client) setup(ctx context.Context) (Applied, error) {
	a := Applied{Template: c.cfg.templateName(), Patterns: c.cfg.IndexPatterns()}
	body, err := json.Marshal(c.cfg.Template())
	if err != nil {
		return a, fmt.Errorf("encode index template: %w", err)
	}
	if _, err := c.expectOK(ctx, "PUT", "/_index_template/"+a.Template, body); err != nil {
		return a, fmt.Errorf("apply index template: %w", err)
	}
	if a.Extended, err = c.updateMappings(ctx); err != nil {
		return a, fmt.Errorf("extend existing indexes: %w", err)
	}
	if c.cfg.RetentionMonths == 0 || c.cfg.layout() != LayoutMonthly {
		return a, nil
	}
	a.Policy = c.cfg.policyID()
	a.PolicyChange, err = c.applyPolicy(ctx)
	return a, err
}

// AddAlias puts indexes under the configured alias. It is idempotent. The template already does this for
// indexes it creates; this also covers indexes that existed before it (and servers without template aliases).
func (c *Client) AddAlias(ctx context.Context, indexes []string) error {
	return c.addAlias(ctx, c.cfg.Alias, indexes)
}

// addAlias puts indexes under alias, idempotently.
func (c *Client) addAlias(ctx context.Context, alias string, indexes []string) error {
	if len(indexes) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string]any{
		"actions": []any{map[string]any{"add": map[string]any{"indices": indexes, "alias": alias}}},
	})
	if err != nil {
		return fmt.Errorf("encode alias actions: %w", err)
	}
	if _, err := c.expectOK(ctx, "POST", "/_aliases", body); err != nil {
		return fmt.Errorf("add indexes to alias %s: %w", alias, err)
	}
	return nil
}
