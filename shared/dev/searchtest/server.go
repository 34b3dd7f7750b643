// Package searchtest is a strict in-process OpenSearch for tests: it speaks the _bulk, _index_template,
// _aliases, _mapping (GET and PUT; an index keeps the mapping it was created with) and Index State Management
// policy protocols, validates every NDJSON pair and the documents against
// the template's mapping and every policy against ISM's model, attaches policies to new indexes through their
// ism_template, checks basic auth or the SigV4 signature, models the security plugin's fine-grained access
// control (roles, role mappings and their REST API; permissions of every request), and injects item-level and
// request-level faults.
package searchtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Fault decides the status of one bulk item (0: index it normally). attempt counts how many times this
// index/id pair has been sent, from 1.
type Fault func(index, id string, attempt int) int

// SigV4 is what a correctly signed request looks like.
type SigV4 struct {
	Region, Service string
	Credentials     aws.Credentials
}

// Options configure a Server.
type Options struct {
	// Username and Password, when set, are required as HTTP basic auth.
	Username, Password string
	// SigV4, when set, requires every request to carry a valid signature by these credentials.
	SigV4 *SigV4
	// ItemFault injects item-level statuses into bulk responses (error type injected_exception).
	ItemFault Fault
	// ItemError injects item-level errors with an OpenSearch error type (cluster_block_exception, ...); a 0 status
	// processes the item.
	ItemError func(index, id string, attempt int) (status int, errType string)
	// RequestFault returns a status for the whole nth bulk request (from 1), 0 to process it.
	RequestFault func(n int) int
	// DropItem, when true, answers bulk requests with one item fewer than asked (a broken server).
	DropItem bool
	// TLS serves HTTPS with a self-signed certificate (use Server.Client().Transport).
	TLS bool
	// Security, when set, models fine-grained access control: requests are signed by its principals (SigV4's
	// Region and Service apply when SigV4 is set; its Credentials are then not used) and checked against the
	// roles mapped to them.
	Security *Security
}

// Server is the fake. Its fields are read through its methods, which lock.
type Server struct {
	*httptest.Server
	t    testing.TB
	opts Options

	mu           sync.Mutex
	templates    map[string]map[string]any
	aliases      map[string]map[string]bool // alias -> indexes
	docs         map[string]map[string]json.RawMessage
	mappings     map[string]map[string]any // index -> its mappings, from its template when it was created
	attempts     map[string]int
	bulks        []Bulk
	policies     map[string]*storedPolicy
	managed      map[string]string // index -> ISM policy attached at creation
	seqNo        int64             // of the ISM config index
	races        int               // ISM policy writes still to lose a race (RacePolicyWrites)
	roles        map[string]json.RawMessage
	roleMappings map[string]json.RawMessage
}

// Bulk describes one bulk request the server received.
type Bulk struct {
	Bytes int
	Docs  int
}

// NewServer starts a fake on 127.0.0.1 and stops it when the test ends. Protocol violations fail the test.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: opts, templates: map[string]map[string]any{}, aliases: map[string]map[string]bool{},
		docs: map[string]map[string]json.RawMessage{}, mappings: map[string]map[string]any{}, attempts: map[string]int{},
		policies: map[string]*storedPolicy{}, managed: map[string]string{},
		roles: map[string]json.RawMessage{}, roleMappings: map[string]json.RawMessage{}}
	h := http.HandlerFunc(s.serve)
	if opts.TLS {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// Docs returns a copy of the documents of index, by id.
func (s *Server) Docs(index string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]json.RawMessage{}
	for id, d := range s.docs[index] {
		out[id] = d
	}
	return out
}

// Count is the number of documents in all indexes.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.docs {
		n += len(m)
	}
	return n
}

// Indexes lists the indexes holding documents, sorted.
func (s *Server) Indexes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.docs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Alias lists the indexes under alias, sorted.
func (s *Server) Alias(alias string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.aliases[alias] {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Template returns a stored index template (nil if none).
func (s *Server) Template(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.templates[name]
}

// Bulks lists the bulk requests received.
func (s *Server) Bulks() []Bulk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bulks)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", "read body: "+err.Error())
		return
	}
	principal := ""
	if s.opts.Security != nil {
		p, err := s.principalOf(r, body)
		if err != nil {
			writeError(w, http.StatusForbidden, "security_exception", "signature: "+err.Error())
			return
		}
		principal = p
	} else if !s.authorized(w, r, body) {
		return
	}
	cluster := func(action string) bool {
		s.mu.Lock()
		ok := s.allowedCluster(principal, action)
		s.mu.Unlock()
		if !ok {
			forbidden(w, principal, action)
		}
		return ok
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/_plugins/_security/api/") && s.opts.Security != nil:
		s.securityAPI(w, r, principal, body)
	case r.URL.Path == "/_bulk" && r.Method == http.MethodPost:
		if cluster("indices:data/write/bulk") {
			s.bulk(w, r, body, principal)
		}
	case strings.HasPrefix(r.URL.Path, "/_index_template/") && r.Method == http.MethodPut:
		if cluster("indices:admin/index_template/put") {
			s.putTemplate(w, strings.TrimPrefix(r.URL.Path, "/_index_template/"), body)
		}
	case strings.HasSuffix(r.URL.Path, "/_mapping") && r.Method == http.MethodGet:
		target := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/_mapping")
		if s.indexAllowed(w, principal, "indices:admin/mappings/get", target) {
			s.getMapping(w, target)
		}
	case strings.HasSuffix(r.URL.Path, "/_mapping") && r.Method == http.MethodPut:
		target := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/_mapping")
		if s.indexAllowed(w, principal, "indices:admin/mapping/put", target) {
			s.putMapping(w, target, body)
		}
	case r.URL.Path == "/_aliases" && r.Method == http.MethodPost:
		if cluster("indices:admin/aliases") {
			s.postAliases(w, body, principal)
		}
	case strings.HasPrefix(r.URL.Path, "/_plugins/_ism/policies/") && r.Method == http.MethodGet:
		if cluster("cluster:admin/opendistro/ism/policy/get") {
			s.getPolicy(w, strings.TrimPrefix(r.URL.Path, "/_plugins/_ism/policies/"))
		}
	case strings.HasPrefix(r.URL.Path, "/_plugins/_ism/policies/") && r.Method == http.MethodPut:
		if cluster("cluster:admin/opendistro/ism/policy/write") {
			s.putPolicy(w, r, strings.TrimPrefix(r.URL.Path, "/_plugins/_ism/policies/"), body)
		}
	default:
		s.t.Errorf("searchtest: unexpected request %s %s", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, "no_handler", r.Method+" "+r.URL.Path)
	}
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if s.opts.Username != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != s.opts.Username || p != s.opts.Password {
			writeError(w, http.StatusUnauthorized, "security_exception", "missing or wrong credentials")
			return false
		}
	}
	if s.opts.SigV4 != nil {
		if err := s.checkSignature(r, body); err != nil {
			writeError(w, http.StatusForbidden, "security_exception", "signature: "+err.Error())
			return false
		}
	}
	return true
}

// checkSignature re-signs the request's signed headers with the expected credentials and compares.
func (s *Server) checkSignature(r *http.Request, body []byte) error {
	return s.checkSignatureWith(r, body, *s.opts.SigV4)
}

// checkSignatureWith re-signs the request's signed headers with c and compares.
func (s *Server) checkSignatureWith(r *http.Request, body []byte, c SigV4) error {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return fmt.Errorf("authorization header is not SigV4")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != hash {
		return fmt.Errorf("content hash %q, want %q", got, hash)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("x-amz-date: %w", err)
	}
	clone, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	clone.Host = r.Host
	clone.ContentLength = r.ContentLength
	for _, name := range strings.Split(fields["SignedHeaders"], ";") {
		if name == "host" || name == "content-length" {
			continue
		}
		clone.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
	}
	if err := v4.NewSigner().SignHTTP(r.Context(), c.Credentials, clone, hash, c.Service, c.Region, when); err != nil {
		return err
	}
	if want := clone.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("got %q, want %q", auth, want)
	}
	return nil
}

func (s *Server) putTemplate(w http.ResponseWriter, name string, body []byte) {
	var tpl map[string]any
	if err := json.Unmarshal(body, &tpl); err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	patterns, _ := tpl["index_patterns"].([]any)
	inner, _ := tpl["template"].(map[string]any)
	if len(patterns) == 0 || inner == nil {
		writeError(w, http.StatusBadRequest, "action_request_validation_exception", "index_patterns and template are required")
		return
	}
	if _, ok := inner["mappings"].(map[string]any)["properties"].(map[string]any); !ok {
		writeError(w, http.StatusBadRequest, "mapper_parsing_exception", "template has no mappings.properties")
		return
	}
	s.mu.Lock()
	s.templates[name] = tpl
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

func (s *Server) postAliases(w http.ResponseWriter, body []byte, principal string) {
	var req struct {
		Actions []map[string]struct {
			Index   string   `json:"index"`
			Indices []string `json:"indices"`
			Alias   string   `json:"alias"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Actions) == 0 {
		writeError(w, http.StatusBadRequest, "parse_exception", "actions required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range req.Actions {
		add, ok := a["add"]
		if !ok || len(a) != 1 || add.Alias == "" {
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "only add actions with an alias are expected")
			return
		}
		indexes := add.Indices
		if add.Index != "" {
			indexes = append(indexes, add.Index)
		}
		for _, name := range append(slices.Clone(indexes), add.Alias) {
			if !s.allowedIndex(principal, "indices:admin/aliases", name) {
				forbidden(w, principal, "indices:admin/aliases")
				return
			}
		}
		for _, name := range indexes {
			if _, ok := s.docs[name]; !ok {
				writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+name+"]")
				return
			}
		}
		if s.aliases[add.Alias] == nil {
			s.aliases[add.Alias] = map[string]bool{}
		}
		for _, name := range indexes {
			s.aliases[add.Alias][name] = true
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

type item struct {
	Index  string `json:"_index"`
	ID     string `json:"_id"`
	Status int    `json:"status"`
	Result string `json:"result,omitempty"`
	Error  any    `json:"error,omitempty"`
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, body []byte, principal string) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/json") {
		s.t.Errorf("searchtest: bulk content type %q", ct)
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		s.t.Errorf("searchtest: bulk body does not end with a newline")
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
		return
	}
	s.mu.Lock()
	n := len(s.bulks) + 1
	s.mu.Unlock()
	if s.opts.RequestFault != nil {
		if st := s.opts.RequestFault(n); st != 0 {
			s.mu.Lock()
			s.bulks = append(s.bulks, Bulk{Bytes: len(body)})
			s.mu.Unlock()
			writeError(w, st, "injected", fmt.Sprintf("injected status %d", st))
			return
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
	}
	if len(lines)%2 != 0 {
		s.t.Errorf("searchtest: bulk body has %d lines, not action/source pairs", len(lines))
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", "odd number of lines")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulks = append(s.bulks, Bulk{Bytes: len(body), Docs: len(lines) / 2})
	var items []map[string]item
	errs := false
	for i := 0; i < len(lines); i += 2 {
		var action map[string]struct {
			Index *string `json:"_index"`
			ID    *string `json:"_id"`
		}
		if err := json.Unmarshal(lines[i], &action); err != nil || len(action) != 1 {
			s.t.Errorf("searchtest: line %d is not an action: %s", i+1, lines[i])
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "malformed action line")
			return
		}
		meta, ok := action["index"]
		if !ok || meta.Index == nil || *meta.Index == "" || meta.ID == nil || *meta.ID == "" {
			s.t.Errorf("searchtest: line %d: want an index action with _index and _id: %s", i+1, lines[i])
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "want index action with _index and _id")
			return
		}
		var src map[string]any
		if err := json.Unmarshal(lines[i+1], &src); err != nil {
			s.t.Errorf("searchtest: line %d is not a JSON object: %s", i+2, lines[i+1])
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "malformed source line")
			return
		}
		idx, id := *meta.Index, *meta.ID
		key := idx + "\x00" + id
		s.attempts[key]++
		it := item{Index: idx, ID: id}
		st, typ := 0, "injected_exception"
		if s.opts.ItemFault != nil {
			st = s.opts.ItemFault(idx, id, s.attempts[key])
		}
		if st == 0 && s.opts.ItemError != nil {
			st, typ = s.opts.ItemError(idx, id, s.attempts[key])
		}
		denied := ""
		switch {
		case !s.allowedIndex(principal, "indices:data/write/bulk[s]", idx):
			denied = "indices:data/write/bulk[s]"
		case !s.allowedIndex(principal, "indices:data/write/index", idx):
			denied = "indices:data/write/index"
		case s.docs[idx] == nil && !s.allowedIndex(principal, "indices:admin/create", idx):
			denied = "indices:admin/create"
		}
		switch {
		case denied != "":
			it.Status = http.StatusForbidden
			it.Error = map[string]any{"type": "security_exception", "reason": fmt.Sprintf("no permissions for [%s] and User [name=%s]", denied, principal)}
		case st != 0:
			it.Status = st
			it.Error = map[string]any{"type": typ, "reason": fmt.Sprintf("injected status %d", st)}
		default:
			if typ, reason := s.checkMapping(idx, src); typ != "" {
				it.Status = http.StatusBadRequest
				it.Error = map[string]any{"type": typ, "reason": reason}
				break
			}
			if s.docs[idx] == nil {
				s.docs[idx] = map[string]json.RawMessage{}
				if tpl := s.matchingTemplate(idx); tpl != nil {
					m, _ := tpl["template"].(map[string]any)["mappings"].(map[string]any)
					s.mappings[idx] = deepCopy(m)
				}
				s.applyTemplateAliases(idx)
				s.attachPolicy(idx)
			}
			if _, exists := s.docs[idx][id]; exists {
				it.Status, it.Result = http.StatusOK, "updated"
			} else {
				it.Status, it.Result = http.StatusCreated, "created"
			}
			s.docs[idx][id] = lines[i+1]
		}
		if it.Status > 299 {
			errs = true
		}
		items = append(items, map[string]item{"index": it})
	}
	if s.opts.DropItem && len(items) > 0 {
		items = items[:len(items)-1]
	}
	writeJSON(w, http.StatusOK, map[string]any{"took": 1, "errors": errs, "items": items})
}

// matchingTemplate is the template of the highest priority whose patterns match index (nil if none), as
// OpenSearch picks one composable template.
func (s *Server) matchingTemplate(index string) map[string]any {
	var best map[string]any
	bestPriority := -1.0
	for _, tpl := range s.templates {
		pats, _ := tpl["index_patterns"].([]any)
		priority, _ := tpl["priority"].(float64)
		for _, p := range pats {
			ps, _ := p.(string)
			if prefix, ok := strings.CutSuffix(ps, "*"); ok && strings.HasPrefix(index, prefix) || ps == index {
				if priority > bestPriority {
					best, bestPriority = tpl, priority
				}
				break
			}
		}
	}
	return best
}

func (s *Server) applyTemplateAliases(index string) {
	tpl := s.matchingTemplate(index)
	if tpl == nil {
		return
	}
	aliases, _ := tpl["template"].(map[string]any)["aliases"].(map[string]any)
	for a := range aliases {
		if s.aliases[a] == nil {
			s.aliases[a] = map[string]bool{}
		}
		s.aliases[a][index] = true
	}
}

// checkMapping validates a source against the matching template's mapping, as OpenSearch would: unknown fields
// under "dynamic": "strict", and values of the wrong type.
func (s *Server) checkMapping(index string, src map[string]any) (typ, reason string) {
	mappings, exists := s.mappings[index]
	if !exists { // a new index: the template's
		tpl := s.matchingTemplate(index)
		if tpl == nil {
			return "", ""
		}
		mappings, _ = tpl["template"].(map[string]any)["mappings"].(map[string]any)
	}
	props, _ := mappings["properties"].(map[string]any)
	strict := mappings["dynamic"] == "strict"
	for field, v := range src {
		p, ok := props[field].(map[string]any)
		if !ok {
			if strict {
				return "strict_dynamic_mapping_exception", fmt.Sprintf("mapping set to strict, dynamic introduction of [%s] within [_doc] is not allowed", field)
			}
			continue
		}
		if v == nil {
			continue
		}
		switch p["type"] {
		case "double", "long", "float", "integer":
			if _, ok := v.(float64); !ok {
				return "mapper_parsing_exception", fmt.Sprintf("failed to parse field [%s] of type [%s]", field, p["type"])
			}
		case "boolean":
			if _, ok := v.(bool); !ok {
				return "mapper_parsing_exception", fmt.Sprintf("failed to parse field [%s] of type [boolean]", field)
			}
		case "keyword":
			if _, ok := v.(string); !ok {
				return "mapper_parsing_exception", fmt.Sprintf("failed to parse field [%s] of type [keyword]", field)
			}
		case "date":
			str, ok := v.(string)
			layout := time.RFC3339Nano
			if p["format"] == "strict_date" {
				layout = time.DateOnly
			}
			if !ok {
				return "mapper_parsing_exception", fmt.Sprintf("failed to parse field [%s] of type [date]", field)
			}
			if _, err := time.Parse(layout, str); err != nil {
				return "mapper_parsing_exception", fmt.Sprintf("failed to parse field [%s] of type [date]: %q", field, str)
			}
		}
	}
	return "", ""
}

func writeError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"type": typ, "reason": reason}, "status": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("searchtest: encode response: %v", err))
	}
}

// CreateIndex creates an empty index with mappings under aliases, as an earlier version of a program (or an
// operator) could have: later template changes do not change it.
func (s *Server) CreateIndex(index string, mappings map[string]any, aliases ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[index] = map[string]json.RawMessage{}
	s.mappings[index] = deepCopy(mappings)
	for _, a := range aliases {
		if s.aliases[a] == nil {
			s.aliases[a] = map[string]bool{}
		}
		s.aliases[a][index] = true
	}
}

// Mapping returns a copy of an index's mappings (nil if it does not exist).
func (s *Server) Mapping(index string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deepCopy(s.mappings[index])
}

// resolve names the indexes target means: an index, an alias, or a comma-separated list of them (callers hold mu).
func (s *Server) resolve(target string) []string {
	var out []string
	for _, name := range strings.Split(target, ",") {
		if _, ok := s.docs[name]; ok {
			out = append(out, name)
		}
		for idx := range s.aliases[name] {
			out = append(out, idx)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// getMapping answers GET /<target>/_mapping: {"index": {"mappings": ...}} for each index, 404 when none.
func (s *Server) getMapping(w http.ResponseWriter, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	indexes := s.resolve(target)
	if len(indexes) == 0 {
		writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+target+"]")
		return
	}
	out := map[string]any{}
	for _, idx := range indexes {
		m := s.mappings[idx]
		if m == nil {
			m = map[string]any{}
		}
		out[idx] = map[string]any{"mappings": m}
	}
	writeJSON(w, http.StatusOK, out)
}

// putMapping answers PUT /<target>/_mapping: adds properties to every index named; a field whose type would
// change is refused for all of them, as OpenSearch does.
func (s *Server) putMapping(w http.ResponseWriter, target string, body []byte) {
	var req struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Properties) == 0 {
		s.t.Errorf("searchtest: mapping update is not {\"properties\": {...}}: %s", body)
		writeError(w, http.StatusBadRequest, "mapper_parsing_exception", "malformed mapping")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	indexes := s.resolve(target)
	if len(indexes) < len(strings.Split(target, ",")) {
		writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+target+"]")
		return
	}
	for _, idx := range indexes {
		props, _ := s.mappings[idx]["properties"].(map[string]any)
		for f, p := range req.Properties {
			if old, ok := props[f].(map[string]any); ok && old["type"] != p["type"] {
				writeError(w, http.StatusBadRequest, "illegal_argument_exception",
					fmt.Sprintf("mapper [%s] cannot be changed from type [%v] to [%v]", f, old["type"], p["type"]))
				return
			}
		}
	}
	for _, idx := range indexes {
		if s.mappings[idx] == nil {
			s.mappings[idx] = map[string]any{}
		}
		props, _ := s.mappings[idx]["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			s.mappings[idx]["properties"] = props
		}
		for f, p := range req.Properties {
			props[f] = deepCopy(p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

// deepCopy copies a JSON-shaped map.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("searchtest: copy mapping: %v", err))
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("searchtest: copy mapping: %v", err))
	}
	return out
}
