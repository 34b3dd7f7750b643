package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// ismPolicies serves OpenSearch's Index State Management policy API (PUT and GET
// _plugins/_ism/policies/<id>), which Zinc lacks, so `feed opensearch setup` runs end to end against this server.
// Policies are kept in memory (a restarted server has none) and never run: Zinc deletes nothing. The write
// semantics are OpenSearch's: PUT without if_seq_no and if_primary_term creates and answers 409 when the policy
// exists; with both it replaces only the version they name (409 otherwise); GET answers 404 for an unknown id.
type ismPolicies struct {
	mu       sync.Mutex
	seqNo    int64 // of the config index, across policies
	policies map[string]*ismPolicy
}

type ismPolicy struct {
	doc     map[string]any
	seqNo   int64
	version int64
}

func newISMPolicies() *ismPolicies { return &ismPolicies{policies: map[string]*ismPolicy{}} }

// ismError answers in OpenSearch's error shape.
func ismError(c *gin.Context, status int, typ, reason string) {
	c.JSON(status, gin.H{"error": gin.H{"root_cause": []gin.H{{"type": typ, "reason": reason}}, "type": typ, "reason": reason}, "status": status})
}

func (p *ismPolicies) get(c *gin.Context) {
	id := c.Param("id")
	p.mu.Lock()
	defer p.mu.Unlock()
	pol, ok := p.policies[id]
	if !ok {
		ismError(c, http.StatusNotFound, "status_exception", "Policy not found")
		return
	}
	c.JSON(http.StatusOK, gin.H{"_id": id, "_version": pol.version, "_seq_no": pol.seqNo, "_primary_term": 1, "policy": pol.doc})
}

func (p *ismPolicies) put(c *gin.Context) {
	id := c.Param("id")
	var body map[string]json.RawMessage
	if err := json.NewDecoder(c.Request.Body).Decode(&body); err != nil || len(body) != 1 || body["policy"] == nil {
		ismError(c, http.StatusBadRequest, "parse_exception", `request body must be {"policy": {...}}`)
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(body["policy"], &doc); err != nil {
		ismError(c, http.StatusBadRequest, "parse_exception", "policy is not an object")
		return
	}
	if reason := checkPolicy(doc); reason != "" {
		ismError(c, http.StatusBadRequest, "illegal_argument_exception", reason)
		return
	}
	seqNo, seqErr := strconv.ParseInt(c.Query("if_seq_no"), 10, 64)
	term, termErr := strconv.ParseInt(c.Query("if_primary_term"), 10, 64)
	create := seqErr != nil || termErr != nil

	p.mu.Lock()
	defer p.mu.Unlock()
	cur, exists := p.policies[id]
	switch {
	case create && exists:
		ismError(c, http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", id, cur.version))
		return
	case !create && !exists:
		ismError(c, http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d] but no document was found", id, seqNo, term))
		return
	case !create && (cur.seqNo != seqNo || term != 1):
		ismError(c, http.StatusConflict, "version_conflict_engine_exception",
			fmt.Sprintf("[%s]: version conflict, required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [1]", id, seqNo, term, cur.seqNo))
		return
	}
	status, version := http.StatusCreated, int64(1)
	if exists {
		status, version = http.StatusOK, cur.version+1
	}
	p.seqNo++
	doc["policy_id"] = id
	doc["last_updated_time"] = time.Now().UnixMilli()
	doc["schema_version"] = 21
	doc["error_notification"] = nil
	if t, ok := doc["ism_template"].(map[string]any); ok { // one template may be sent as an object; GET shows a list
		doc["ism_template"] = []any{t}
	}
	p.policies[id] = &ismPolicy{doc: doc, seqNo: p.seqNo, version: version}
	c.JSON(status, gin.H{"_id": id, "_version": version, "_primary_term": 1, "_seq_no": p.seqNo, "policy": gin.H{"policy": doc}})
}

// checkPolicy applies the checks of ISM's Policy model that matter to a client: known fields, a description,
// states with unique names, a default state among them, transitions to existing states.
func checkPolicy(doc map[string]any) string {
	for field := range doc {
		switch field {
		case "policy_id", "description", "last_updated_time", "schema_version", "error_notification", "default_state",
			"states", "ism_template", "user":
		default:
			return fmt.Sprintf("Invalid field: [%s] found in Policy.", field)
		}
	}
	if _, ok := doc["description"].(string); !ok {
		return "description is null"
	}
	def, ok := doc["default_state"].(string)
	if !ok {
		return "default_state is null"
	}
	states, _ := doc["states"].([]any)
	if len(states) == 0 {
		return "Policy must contain at least one State"
	}
	names := map[string]bool{}
	for _, s := range states {
		m, _ := s.(map[string]any)
		name, _ := m["name"].(string)
		if name == "" || names[name] {
			return "Policy cannot have duplicate or empty state names"
		}
		names[name] = true
	}
	if !names[def] {
		return "Policy must have a valid default state"
	}
	for _, s := range states {
		transitions, _ := s.(map[string]any)["transitions"].([]any)
		for _, tr := range transitions {
			m, _ := tr.(map[string]any)
			if target, _ := m["state_name"].(string); !names[target] {
				return fmt.Sprintf("Policy contains a transition pointing to a nonexistent state=%v", m["state_name"])
			}
		}
	}
	return ""
}
