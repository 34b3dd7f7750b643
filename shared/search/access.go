package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// WriterRole is the security plugin role of the index function: it may write bar and candle documents into the
// bar and candle indexes (creating a month's index on its first document) and put them under their aliases, and
// nothing else — no reads, no
// deletes, no templates, no ISM policies, no security API.
const WriterRole = "finfeed-index-writer"

// WriterRoleDefinition is the body of PUT _plugins/_security/api/roles/WriterRole. Bulk requests and alias
// changes span indexes, so the plugin checks them at cluster level first (indices:data/write/bulk,
// indices:admin/aliases, as in its cluster_composite_ops group); every item is then checked on its index:
// indices:data/write/index and the shard-level indices:data/write/bulk[s] (not the static group "index", which
// also allows updates and mapping changes: the template owns the mapping), indices:admin/create and
// indices:admin/auto_create (the action a bulk request's automatic index creation runs as, in releases that
// have it) for a month's first bar (the template gives it its mapping, alias and, through the ISM template, its
// retention) and indices:admin/aliases, on the layout's index patterns, the candle indexes' pattern and the two
// aliases only.
func (c Config) WriterRoleDefinition() map[string]any {
	cc := c.Candles()
	patterns := append(c.IndexPatterns(), c.Alias)
	patterns = append(patterns, cc.IndexPatterns()...)
	patterns = append(patterns, cc.Alias)
	return map[string]any{
		"description": fmt.Sprintf("finfeed index function: writes bars into %s (alias %s) and candles into %s (alias %s); no reads, deletes, templates, ISM or security",
			strings.Join(c.IndexPatterns(), ","), c.Alias, strings.Join(cc.IndexPatterns(), ","), cc.Alias),
		"cluster_permissions": []string{"indices:data/write/bulk", "indices:admin/aliases"},
		"index_permissions": []any{map[string]any{
			"index_patterns":  patterns,
			"allowed_actions": []string{"indices:data/write/index", "indices:data/write/bulk*", "indices:admin/create", "indices:admin/auto_create", "indices:admin/aliases"},
		}},
	}
}

// ErrNoWriters means GrantWriter was asked to map the writer role to nobody.
var ErrNoWriters = errors.New("opensearch writer role: no backend roles to map")

// GrantWriter creates or replaces the writer role and maps it to backendRoles (the IAM role ARNs of the index
// function): the fine-grained access control admin's step, done by `feed opensearch setup --writer-role-arn`
// and the stack's SearchSetup custom resource. Both PUTs replace what is stored, so running it again is
// harmless; a mapping added to this role by hand is replaced.
func (c *Client) GrantWriter(ctx context.Context, backendRoles []string) error {
	if len(backendRoles) == 0 {
		return ErrNoWriters
	}
	role, err := json.Marshal(c.cfg.WriterRoleDefinition())
	if err != nil {
		return fmt.Errorf("encode writer role: %w", err)
	}
	if err := c.putSecurity(ctx, "roles", role); err != nil {
		return err
	}
	mapping, err := json.Marshal(map[string]any{
		"description":   "finfeed index function (IAM role)",
		"backend_roles": backendRoles,
		"hosts":         []string{},
		"users":         []string{},
	})
	if err != nil {
		return fmt.Errorf("encode writer role mapping: %w", err)
	}
	return c.putSecurity(ctx, "rolesmapping", mapping)
}

// putSecurity PUTs body to the security REST API's kind (roles or rolesmapping) under WriterRole: 200
// (updated) and 201 (created) are success.
func (c *Client) putSecurity(ctx context.Context, kind string, body []byte) error {
	path := "/_plugins/_security/api/" + kind + "/" + WriterRole
	status, data, err := c.do(ctx, http.MethodPut, path, nil, body, "application/json")
	if err != nil {
		return fmt.Errorf("put %s %s: %w", kind, WriterRole, err)
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("put %s %s: %w", kind, WriterRole, &StatusError{Method: http.MethodPut, Path: path, Status: status, Body: short(data)})
	}
	return nil
}
