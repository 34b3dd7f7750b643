package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
)

// PolicyID is the id of finfeed's Index State Management policy, the retention of the monthly bar indexes.
const PolicyID = "finfeed-bars-retention"

// CandlesPolicyID is the id of the retention policy of the monthly candle indexes.
const CandlesPolicyID = "finfeed-candles-retention"

// policyID is the id of c's retention policy.
func (c Config) policyID() string {
	if c.candles {
		return CandlesPolicyID
	}
	return PolicyID
}

// PolicyChange is what applying the retention policy did.
type PolicyChange string

// What Setup can do to the policy.
const (
	PolicyCreated   PolicyChange = "created"
	PolicyUpdated   PolicyChange = "updated"
	PolicyUnchanged PolicyChange = "unchanged"
)

// policyAttempts bounds how often Setup looks again after another writer (a concurrent cold start) changed the
// policy between its read and its write.
const policyAttempts = 3

// RetentionDays is the age, in days since its creation, at which the policy deletes a monthly index:
// (RetentionMonths+1)×31. A month's index is created by its first bar, never before the month starts, and
// holds bars of at most 31 days, so every bar is kept at least RetentionMonths×31 days. ISM counts age from the
// index's creation date and knows no calendar months, hence whole days.
func (c Config) RetentionDays() int { return (c.RetentionMonths + 1) * 31 }

// Policy is the ISM policy document (the body of PUT _plugins/_ism/policies/PolicyID): an index starts in state
// hot and moves to delete, whose action deletes it, once RetentionDays old; its ism_template attaches it to
// every new index of the monthly pattern. There is no rollover: the index a bar goes to is a function of the
// bar alone (its month), which is what keeps a retried or corrected bar in one document.
func (c Config) Policy() map[string]any {
	what := "bar"
	if c.candles {
		what = "candle"
	}
	return map[string]any{"policy": map[string]any{
		"description": fmt.Sprintf("finfeed: delete the monthly %s indexes %s %d days after their creation, so every %s is kept at least %d months",
			what, c.IndexPatterns()[0], c.RetentionDays(), what, c.RetentionMonths),
		"default_state": "hot",
		"states": []any{
			map[string]any{
				"name":    "hot",
				"actions": []any{},
				"transitions": []any{map[string]any{
					"state_name": "delete",
					"conditions": map[string]any{"min_index_age": strconv.Itoa(c.RetentionDays()) + "d"},
				}},
			},
			map[string]any{
				"name":        "delete",
				"actions":     []any{map[string]any{"delete": map[string]any{}}},
				"transitions": []any{},
			},
		},
		"ism_template": []any{map[string]any{"index_patterns": c.IndexPatterns(), "priority": c.templatePriority()}},
	}}
}

// applyPolicy makes the stored policy equal Policy: created when missing, left alone when it already says the
// same, otherwise replaced with the if_seq_no/if_primary_term of the version read, as the ISM API requires.
// A 409 means another writer got there in between: read again.
func (c *Client) applyPolicy(ctx context.Context) (PolicyChange, error) {
	want := c.cfg.Policy()
	body, err := json.Marshal(want)
	if err != nil {
		return "", fmt.Errorf("encode ism policy: %w", err)
	}
	wantShape, err := policyShapeOf(body, true)
	if err != nil {
		return "", fmt.Errorf("encode ism policy: %w", err)
	}
	id := c.cfg.policyID()
	path := "/_plugins/_ism/policies/" + id
	var conflict error
	for range policyAttempts {
		status, data, err := c.do(ctx, http.MethodGet, path, nil, nil, "")
		if err != nil {
			return "", fmt.Errorf("get ism policy %s: %w", id, err)
		}
		var query url.Values
		change := PolicyCreated
		switch status {
		case http.StatusNotFound:
		case http.StatusOK:
			var got struct {
				SeqNo       *int64          `json:"_seq_no"`
				PrimaryTerm *int64          `json:"_primary_term"`
				Policy      json.RawMessage `json:"policy"`
			}
			if err := json.Unmarshal(data, &got); err != nil || got.SeqNo == nil || got.PrimaryTerm == nil {
				return "", fmt.Errorf("get ism policy %s: %w: no _seq_no, _primary_term and policy: %s", id, ErrBadResponse, short(data))
			}
			gotShape, err := policyShapeOf(got.Policy, false)
			if err != nil {
				return "", fmt.Errorf("get ism policy %s: %w: %w", id, ErrBadResponse, err)
			}
			if bytes.Equal(gotShape, wantShape) {
				return PolicyUnchanged, nil
			}
			query = url.Values{
				"if_seq_no":       {strconv.FormatInt(*got.SeqNo, 10)},
				"if_primary_term": {strconv.FormatInt(*got.PrimaryTerm, 10)},
			}
			change = PolicyUpdated
		default:
			return "", fmt.Errorf("get ism policy %s: %w", id, &StatusError{Method: http.MethodGet, Path: path, Status: status, Body: short(data)})
		}
		status, data, err = c.do(ctx, http.MethodPut, path, query, body, "application/json")
		if err != nil {
			return "", fmt.Errorf("put ism policy %s: %w", id, err)
		}
		se := &StatusError{Method: http.MethodPut, Path: path, Status: status, Body: short(data)}
		switch {
		case status == http.StatusConflict:
			conflict = se
			continue
		case status < 200 || status > 299:
			return "", fmt.Errorf("put ism policy %s: %w", id, se)
		}
		return change, nil
	}
	return "", fmt.Errorf("put ism policy %s: changed by another writer %d times in a row: %w", id, policyAttempts, conflict)
}

// policyShapeOf reduces a policy to what finfeed decides, in a canonical encoding: description, default state,
// states with their actions and transitions, and the ISM templates' patterns and priority. What the server adds
// (policy_id, last_updated_time, schema_version, error_notification, the default retry of every action, the
// template's last_updated_time) is left out. wrapped means the document is {"policy": {...}} (the request
// body) rather than the policy itself (a GET's "policy").
func policyShapeOf(doc []byte, wrapped bool) ([]byte, error) {
	if wrapped {
		var w struct {
			Policy json.RawMessage `json:"policy"`
		}
		if err := json.Unmarshal(doc, &w); err != nil {
			return nil, fmt.Errorf("not a policy: %w", err)
		}
		doc = w.Policy
	}
	var p struct {
		Description  string `json:"description"`
		DefaultState string `json:"default_state"`
		States       []struct {
			Name        string           `json:"name"`
			Actions     []map[string]any `json:"actions"`
			Transitions []struct {
				StateName  string         `json:"state_name"`
				Conditions map[string]any `json:"conditions"`
			} `json:"transitions"`
		} `json:"states"`
		ISMTemplate json.RawMessage `json:"ism_template"`
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, fmt.Errorf("not a policy: %w", err)
	}
	if len(p.States) == 0 {
		return nil, errors.New("policy has no states")
	}
	type template struct {
		IndexPatterns []string `json:"index_patterns"`
		Priority      int      `json:"priority"`
	}
	var templates []template
	switch t := bytes.TrimSpace(p.ISMTemplate); {
	case len(t) == 0 || string(t) == "null":
	case t[0] == '{': // the API accepts one template as an object
		var one template
		if err := json.Unmarshal(t, &one); err != nil {
			return nil, fmt.Errorf("ism_template: %w", err)
		}
		templates = append(templates, one)
	default:
		if err := json.Unmarshal(t, &templates); err != nil {
			return nil, fmt.Errorf("ism_template: %w", err)
		}
	}
	states := make([]any, 0, len(p.States))
	for _, s := range p.States {
		actions := make([]any, 0, len(s.Actions))
		for _, a := range s.Actions {
			a := maps.Clone(a)
			delete(a, "retry")
			delete(a, "timeout")
			actions = append(actions, a)
		}
		transitions := make([]any, 0, len(s.Transitions))
		for _, tr := range s.Transitions {
			transitions = append(transitions, map[string]any{"state_name": tr.StateName, "conditions": tr.Conditions})
		}
		states = append(states, map[string]any{"name": s.Name, "actions": actions, "transitions": transitions})
	}
	return json.Marshal(map[string]any{
		"description":   p.Description,
		"default_state": p.DefaultState,
		"states":        states,
		"ism_template":  templates,
	})
}
