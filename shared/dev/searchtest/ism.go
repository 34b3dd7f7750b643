package searchtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Index State Management policy API as OpenSearch documents it (ISM API: create, update, get policy) and
// its index-management plugin implements it: PUT without if_seq_no/if_primary_term creates (409 when the policy
// exists), PUT with both replaces only the version they name (409 otherwise), GET returns the stored policy with
// its _seq_no and _primary_term. Bodies are parsed as the plugin's Policy, State, Transition, Conditions and
// ISMTemplate models do: unknown fields, missing required fields, transitions to unknown states, conditions
// other than exactly one, and ISM templates that collide with another policy's are refused with 400.

// storedPolicy is one policy document in the fake's config index.
type storedPolicy struct {
	doc         map[string]any // the policy object, as GET returns it
	seqNo       int64
	primaryTerm int64
	version     int64
}

// Policy returns a stored ISM policy as GET would show it (nil if none) and its version (1 after creation,
// +1 per update).
func (s *Server) Policy(id string) (map[string]any, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[id]
	if !ok {
		return nil, 0
	}
	return maps.Clone(p.doc), p.version
}

// RacePolicyWrites makes the next n ISM policy writes lose a race: just before each is handled, another writer
// stores the same policy (creating it, or as a new version), as a concurrent cold start would.
func (s *Server) RacePolicyWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.races = n
}

// ManagedBy is the ISM policy an index was attached to when it was created (through a policy's ism_template),
// or "" when none matched.
func (s *Server) ManagedBy(index string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.managed[index]
}

// attachPolicy runs when an index is created: the matching ism_template with the highest priority attaches its
// policy, as ISM does for new indexes. s.mu is held.
func (s *Server) attachPolicy(index string) {
	best, bestPrio := "", -1
	for _, id := range slices.Sorted(maps.Keys(s.policies)) {
		for _, t := range templatesOf(s.policies[id].doc) {
			if t.priority > bestPrio && slices.ContainsFunc(t.patterns, func(p string) bool { return matches(p, index) }) {
				best, bestPrio = id, t.priority
			}
		}
	}
	if best != "" {
		s.managed[index] = best
	}
}

func matches(pattern, index string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(index, prefix)
	}
	return pattern == index
}

func (s *Server) getPolicy(w http.ResponseWriter, id string) {
	s.mu.Lock()
	p, ok := s.policies[id]
	var body map[string]any
	if ok {
		body = map[string]any{"_id": id, "_version": p.version, "_seq_no": p.seqNo, "_primary_term": p.primaryTerm, "policy": p.doc}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "status_exception", "Policy not found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	if id == "" || strings.Contains(id, "/") {
		s.t.Errorf("searchtest: ism policy id %q", id)
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", "Missing policy ID")
		return
	}
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal(body, &wrapper); err != nil || len(wrapper) != 1 || wrapper["policy"] == nil {
		s.t.Errorf("searchtest: ism policy body is not {\"policy\": {...}}: %s", body)
		writeError(w, http.StatusBadRequest, "parse_exception", "request body must be {\"policy\": {...}}")
		return
	}
	var raw map[string]any
	if err := json.Unmarshal(wrapper["policy"], &raw); err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", "policy is not an object")
		return
	}
	doc, reason := parsePolicy(id, raw)
	if reason != "" {
		s.t.Errorf("searchtest: ism policy %s: %s", id, reason)
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", reason)
		return
	}
	// if_seq_no and if_primary_term only count together, as in the plugin: with either missing, PUT creates
	seqNo, seqErr := strconv.ParseInt(r.URL.Query().Get("if_seq_no"), 10, 64)
	term, termErr := strconv.ParseInt(r.URL.Query().Get("if_primary_term"), 10, 64)
	create := seqErr != nil || termErr != nil

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.races > 0 {
		s.races--
		s.concurrentPolicyWrite(id, doc)
	}
	for other, p := range s.policies {
		if other == id {
			continue
		}
		if reason := templateConflict(id, templatesOf(doc), templatesOf(p.doc)); reason != "" {
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", reason)
			return
		}
	}
	cur, exists := s.policies[id]
	switch {
	case create && exists:
		writeError(w, http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", id, cur.version))
		return
	case !create && !exists:
		writeError(w, http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d] but no document was found", id, seqNo, term))
		return
	case !create && (cur.seqNo != seqNo || cur.primaryTerm != term):
		writeError(w, http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [%d]",
				id, seqNo, term, cur.seqNo, cur.primaryTerm))
		return
	}
	status, version := http.StatusCreated, int64(1)
	if exists {
		status, version = http.StatusOK, cur.version+1
	}
	p := s.storePolicy(id, doc, version)
	writeJSON(w, status, map[string]any{"_id": id, "_version": p.version, "_primary_term": p.primaryTerm, "_seq_no": p.seqNo,
		"policy": map[string]any{"policy": p.doc}})
}

// concurrentPolicyWrite is the injected race: another writer stores doc (creating the policy, or writing a new
// version of it) just before this request is handled. s.mu is held.
func (s *Server) concurrentPolicyWrite(id string, doc map[string]any) {
	version := int64(1)
	if cur, ok := s.policies[id]; ok {
		version = cur.version + 1
	}
	s.storePolicy(id, doc, version)
}

// storePolicy writes a policy with the next sequence number of the config index. s.mu is held.
func (s *Server) storePolicy(id string, doc map[string]any, version int64) *storedPolicy {
	s.seqNo++
	stored := maps.Clone(doc)
	stored["policy_id"] = id
	stored["last_updated_time"] = time.Now().UnixMilli()
	stored["schema_version"] = 21
	stored["error_notification"] = nil
	// like the plugin, GET shows every action with its retry settings, the default when none were given
	for _, st := range stored["states"].([]any) {
		actions, _ := st.(map[string]any)["actions"].([]any)
		for _, a := range actions {
			if am := a.(map[string]any); am["retry"] == nil {
				am["retry"] = map[string]any{"count": 3, "backoff": "exponential", "delay": "1m"}
			}
		}
	}
	p := &storedPolicy{doc: stored, seqNo: s.seqNo, primaryTerm: 1, version: version}
	s.policies[id] = p
	return p
}

type ismTemplate struct {
	patterns []string
	priority int
}

// templatesOf reads a parsed policy's ism_template list.
func templatesOf(doc map[string]any) []ismTemplate {
	list, _ := doc["ism_template"].([]any)
	var out []ismTemplate
	for _, t := range list {
		m, _ := t.(map[string]any)
		var it ismTemplate
		for _, p := range asList(m["index_patterns"]) {
			s, _ := p.(string)
			it.patterns = append(it.patterns, s)
		}
		prio, _ := m["priority"].(float64)
		it.priority = int(prio)
		out = append(out, it)
	}
	return out
}

// templateConflict mirrors the plugin's check: a new ISM template may not share a pattern and a priority with
// another policy's.
func templateConflict(id string, mine, theirs []ismTemplate) string {
	for _, a := range mine {
		for _, b := range theirs {
			if a.priority != b.priority {
				continue
			}
			for _, p := range a.patterns {
				if slices.Contains(b.patterns, p) {
					return fmt.Sprintf("New policy %s has an ISM template with index pattern %v matching existing policy templates, please use a different priority than %d",
						id, a.patterns, a.priority)
				}
			}
		}
	}
	return ""
}

// actionTypes are the ISM actions OpenSearch 2.x knows.
var actionTypes = map[string]bool{"rollover": true, "delete": true, "read_only": true, "read_write": true,
	"replica_count": true, "force_merge": true, "close": true, "open": true, "notification": true, "snapshot": true,
	"index_priority": true, "allocation": true, "rollup": true, "shrink": true, "transform": true,
	"convert_index_to_remote": true, "alias": true}

// timeValue is an OpenSearch TimeValue: a whole number and a unit.
var timeValue = regexp.MustCompile(`^[0-9]+(d|h|m|s|ms|micros|nanos)$`)

// parsePolicy checks a policy object as Policy.parse and Policy's init do, and returns it with ism_template
// normalized to a list (as GET shows it). reason is "" when the policy is valid.
func parsePolicy(id string, raw map[string]any) (map[string]any, string) {
	for field := range raw {
		switch field {
		case "policy_id", "description", "last_updated_time", "schema_version", "error_notification", "default_state",
			"states", "ism_template", "user":
		default:
			return nil, fmt.Sprintf("Invalid field: [%s] found in Policy.", field)
		}
	}
	if _, ok := raw["description"].(string); !ok {
		return nil, "description is null"
	}
	def, ok := raw["default_state"].(string)
	if !ok {
		return nil, "default_state is null"
	}
	states, _ := raw["states"].([]any)
	if len(states) == 0 {
		return nil, "Policy must contain at least one State"
	}
	names := map[string]bool{}
	for _, st := range states {
		m, ok := st.(map[string]any)
		if !ok {
			return nil, "a state is not an object"
		}
		name, _ := m["name"].(string)
		if name == "" {
			return nil, "State name is null"
		}
		if names[name] {
			return nil, "Policy cannot have duplicate state names"
		}
		names[name] = true
	}
	if !names[def] {
		return nil, "Policy must have a valid default state"
	}
	for _, st := range states {
		if reason := checkState(st.(map[string]any), names); reason != "" {
			return nil, reason
		}
	}
	doc := maps.Clone(raw)
	if t, ok := raw["ism_template"]; ok && t != nil {
		list := asList(t)
		for _, it := range list {
			if reason := checkISMTemplate(it); reason != "" {
				return nil, reason
			}
		}
		seen := map[string]bool{}
		for _, it := range templatesOf(map[string]any{"ism_template": list}) {
			for _, p := range it.patterns {
				key := p + "\x00" + strconv.Itoa(it.priority)
				if seen[key] {
					return nil, fmt.Sprintf("New policy %s has an ISM template with index pattern %s matching this policy's other ISM templates, please use different priority", id, p)
				}
				seen[key] = true
			}
		}
		doc["ism_template"] = list
	}
	return doc, ""
}

func checkState(m map[string]any, names map[string]bool) string {
	for field := range m {
		if field != "name" && field != "actions" && field != "transitions" {
			return fmt.Sprintf("Invalid field: [%s] found in State.", field)
		}
	}
	actions, ok := m["actions"].([]any)
	if !ok && m["actions"] != nil {
		return "state actions is not a list"
	}
	for _, a := range actions {
		am, ok := a.(map[string]any)
		if !ok {
			return "an action is not an object"
		}
		types := 0
		for k := range am {
			switch {
			case k == "retry" || k == "timeout" || k == "custom":
			case actionTypes[k]:
				types++
			default:
				return fmt.Sprintf("Invalid field: [%s] found in Actions.", k)
			}
		}
		if types != 1 {
			return fmt.Sprintf("an action needs exactly one action type, got %d", types)
		}
	}
	transitions, ok := m["transitions"].([]any)
	if !ok && m["transitions"] != nil {
		return "state transitions is not a list"
	}
	for _, tr := range transitions {
		tm, ok := tr.(map[string]any)
		if !ok {
			return "a transition is not an object"
		}
		for field := range tm {
			if field != "state_name" && field != "conditions" {
				return fmt.Sprintf("Invalid field: [%s] found in Transition.", field)
			}
		}
		target, _ := tm["state_name"].(string)
		if target == "" {
			return "Transition state name is null"
		}
		if !names[target] {
			return fmt.Sprintf("Policy contains a transition in state=%v pointing to a nonexistent state=%s", m["name"], target)
		}
		if c, ok := tm["conditions"]; ok {
			if reason := checkConditions(c); reason != "" {
				return reason
			}
		}
	}
	return ""
}

func checkConditions(c any) string {
	cm, ok := c.(map[string]any)
	if !ok {
		return "transition conditions is not an object"
	}
	if len(cm) != 1 {
		return "Cannot provide more than one Transition condition"
	}
	for k, v := range cm {
		switch k {
		case "min_index_age", "min_rollover_age":
			if s, _ := v.(string); !timeValue.MatchString(s) {
				return fmt.Sprintf("failed to parse setting [%s] with value [%v] as a time value", k, v)
			}
		case "min_doc_count":
			if n, _ := v.(float64); n <= 0 {
				return "Transition doc count condition must be greater than 0"
			}
		case "min_size", "cron":
		default:
			return fmt.Sprintf("Invalid field: [%s] found in Conditions.", k)
		}
	}
	return ""
}

func checkISMTemplate(t any) string {
	m, ok := t.(map[string]any)
	if !ok {
		return "ism_template is not an object"
	}
	for field := range m {
		if field != "index_patterns" && field != "priority" && field != "last_updated_time" {
			return fmt.Sprintf("Invalid field: [%s] found in ISMTemplate.", field)
		}
	}
	patterns := asList(m["index_patterns"])
	if len(patterns) == 0 {
		return "ism_template index_patterns is required"
	}
	for _, p := range patterns {
		s, ok := p.(string)
		if !ok || s == "" || s != strings.ToLower(s) || strings.ContainsAny(s, ` "\<|,>/?#:`) || strings.HasPrefix(s, "_") || strings.HasPrefix(s, "-") {
			return fmt.Sprintf("index_pattern [%v] is not a valid index pattern", p)
		}
	}
	if prio, ok := m["priority"]; ok {
		n, isNum := prio.(float64)
		if !isNum || n < 0 || n != float64(int(n)) {
			return "Requires priority to be >= 0"
		}
	}
	return ""
}

// asList is v as a list: a list as is, a single value as a list of one.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}
