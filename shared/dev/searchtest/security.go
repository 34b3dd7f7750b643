package searchtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Security turns on a model of the security plugin's fine-grained access control (Amazon OpenSearch Service's
// "fine-grained access control" with an IAM master user): every request is signed with SigV4 by one of
// Principals, the master has every permission and the security REST API, and any other principal has only what
// the roles mapped to its ARN (a backend role) allow. Roles and role mappings are managed through
// /_plugins/_security/api/roles/<name> and /_plugins/_security/api/rolesmapping/<name> (PUT, GET), validated as
// the plugin does: known fields only, permissions that are action groups or actions, cluster actions under
// cluster_permissions and index actions under index_permissions, reserved roles refused, a mapping only for a
// role that exists.
type Security struct {
	// Master is the ARN of the master user (AdvancedSecurityOptions.MasterUserOptions.MasterUserARN).
	Master string
	// Principals sign requests; the access key id of a signature says which one.
	Principals []Principal
}

// Principal is an IAM role that signs requests.
type Principal struct {
	ARN         string
	Credentials aws.Credentials
}

// role is a stored role (the body of PUT roles/<name>).
type role struct {
	ClusterPermissions []string `json:"cluster_permissions"`
	IndexPermissions   []struct {
		IndexPatterns  []string `json:"index_patterns"`
		AllowedActions []string `json:"allowed_actions"`
	} `json:"index_permissions"`
}

// reservedRoles are the plugin's built-in roles, which the REST API refuses to change.
var reservedRoles = map[string]bool{"all_access": true, "security_manager": true, "kibana_server": true,
	"readall": true, "manage_snapshots": true, "logstash": true, "kibana_user": true}

// actionGroups are the static action groups of the plugin that a role may name, and the actions they stand for
// (the subset of action_groups.yml that matters to the requests this fake serves).
var actionGroups = map[string][]string{
	// index level
	"indices_all":    {"indices:*"},
	"write":          {"indices:data/write*", "indices:admin/mapping/put"},
	"index":          {"indices:data/write/index*", "indices:data/write/update*", "indices:admin/mapping/put", "indices:data/write/bulk*"},
	"create_index":   {"indices:admin/create", "indices:admin/mapping/put", "indices:admin/auto_create"},
	"crud":           {"indices:data/read*", "indices:data/write*", "indices:admin/mapping/put"},
	"manage_aliases": {"indices:admin/aliases*"},
	"read":           {"indices:data/read*", "indices:admin/mappings/fields/get*", "indices:admin/resolve/index"},
	// cluster level
	"cluster_all":                    {"cluster:*", "indices:admin/template/*", "indices:admin/index_template/*", "indices:data/write/bulk*", "indices:admin/aliases*"},
	"cluster_composite_ops":          {"indices:data/write/bulk*", "indices:admin/aliases*", "indices:data/read/mget*", "indices:data/read/msearch*", "indices:data/read/mtv*", "indices:data/read/scroll*", "indices:admin/resolve/index"},
	"cluster_composite_ops_ro":       {"indices:data/read/mget*", "indices:data/read/msearch*", "indices:data/read/mtv*", "indices:data/read/scroll*", "indices:admin/resolve/index"},
	"cluster_monitor":                {"cluster:monitor/*"},
	"cluster_manage_index_templates": {"indices:admin/index_template/*"},
}

var clusterGroups = map[string]bool{"cluster_all": true, "cluster_composite_ops": true, "cluster_composite_ops_ro": true,
	"cluster_monitor": true, "cluster_manage_index_templates": true}

// clusterLevelIndexActions are the indices:* actions the plugin checks at cluster level: requests over many
// indexes (bulk, aliases, multi-get and -search) and index templates.
var clusterLevelIndexActions = regexp.MustCompile(`^indices:(data/write/bulk|admin/aliases|data/read/(mget|msearch|mtv|scroll)|admin/(index_)?template/)`)

var actionName = regexp.MustCompile(`^(cluster|indices):[a-z_]+(/[a-z_*\[\]]+)*\*?$`)

// validateRole reports why the plugin would refuse a role body ("" if it would not).
func validateRole(body []byte) (role, string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return role{}, "body is not a JSON object: " + err.Error()
	}
	for k := range raw {
		switch k {
		case "description", "cluster_permissions", "index_permissions", "tenant_permissions":
		default:
			return role{}, fmt.Sprintf("invalid key %q", k)
		}
	}
	var full struct {
		ClusterPermissions []string         `json:"cluster_permissions"`
		IndexPermissions   []map[string]any `json:"index_permissions"`
	}
	if err := json.Unmarshal(body, &full); err != nil {
		return role{}, "wrong datatypes: " + err.Error()
	}
	for _, ip := range full.IndexPermissions {
		for k := range ip {
			switch k {
			case "index_patterns", "allowed_actions", "dls", "fls", "masked_fields":
			default:
				return role{}, fmt.Sprintf("index_permissions: invalid key %q", k)
			}
		}
	}
	var r role
	if err := json.Unmarshal(body, &r); err != nil {
		return role{}, "wrong datatypes: " + err.Error()
	}
	for _, p := range r.ClusterPermissions {
		switch {
		case clusterGroups[p]:
		case actionGroups[p] != nil:
			return role{}, fmt.Sprintf("cluster_permissions: %q is an index-level action group", p)
		case !actionName.MatchString(p):
			return role{}, fmt.Sprintf("cluster_permissions: %q is neither an action group nor an action", p)
		case strings.HasPrefix(p, "indices:") && !clusterLevelIndexActions.MatchString(p):
			return role{}, fmt.Sprintf("cluster_permissions: %q is an index-level action", p)
		}
	}
	for i, ip := range r.IndexPermissions {
		if len(ip.IndexPatterns) == 0 || len(ip.AllowedActions) == 0 {
			return role{}, fmt.Sprintf("index_permissions[%d]: index_patterns and allowed_actions are required", i)
		}
		for _, p := range ip.AllowedActions {
			switch {
			case clusterGroups[p]:
				return role{}, fmt.Sprintf("index_permissions[%d]: %q is a cluster-level action group", i, p)
			case actionGroups[p] != nil:
			case !actionName.MatchString(p):
				return role{}, fmt.Sprintf("index_permissions[%d]: %q is neither an action group nor an action", i, p)
			case strings.HasPrefix(p, "cluster:"):
				return role{}, fmt.Sprintf("index_permissions[%d]: %q is a cluster-level action", i, p)
			}
		}
	}
	return r, ""
}

// securityAPI serves /_plugins/_security/api/roles/<name> and .../rolesmapping/<name>; only the master may.
func (s *Server) securityAPI(w http.ResponseWriter, r *http.Request, principal string, body []byte) {
	if principal != s.opts.Security.Master {
		writeError(w, http.StatusForbidden, "security_exception", "no permissions for the security REST API: "+principal)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/_plugins/_security/api/")
	kind, name, _ := strings.Cut(rest, "/")
	if name == "" || strings.Contains(name, "/") || (kind != "roles" && kind != "rolesmapping") {
		s.t.Errorf("searchtest: unexpected security API request %s %s", r.Method, r.URL.Path)
		writeError(w, http.StatusNotFound, "no_handler", r.Method+" "+r.URL.Path)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	store := s.roles
	if kind == "rolesmapping" {
		store = s.roleMappings
	}
	switch r.Method {
	case http.MethodGet:
		v, ok := store[name]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"status": "NOT_FOUND", "message": fmt.Sprintf("Resource '%s' not found.", name)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]json.RawMessage{name: v})
		return
	case http.MethodPut:
	default:
		s.t.Errorf("searchtest: unexpected security API method %s %s", r.Method, r.URL.Path)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method)
		return
	}
	if reservedRoles[name] {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": "FORBIDDEN", "message": fmt.Sprintf("Resource '%s' is reserved.", name)})
		return
	}
	if kind == "roles" {
		if _, reason := validateRole(body); reason != "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "reason": reason})
			return
		}
	} else {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "reason": "body is not a JSON object"})
			return
		}
		for k := range m {
			switch k {
			case "backend_roles", "and_backend_roles", "hosts", "users", "description":
			default:
				writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "reason": fmt.Sprintf("invalid key %q", k)})
				return
			}
		}
		var typed struct {
			BackendRoles []string `json:"backend_roles"`
			Hosts        []string `json:"hosts"`
			Users        []string `json:"users"`
		}
		if err := json.Unmarshal(body, &typed); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "reason": "wrong datatypes: " + err.Error()})
			return
		}
		if _, ok := s.roles[name]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"status": "NOT_FOUND", "message": fmt.Sprintf("The role '%s' does not exist.", name)})
			return
		}
	}
	_, existed := store[name]
	store[name] = slices.Clone(body)
	if existed {
		writeJSON(w, http.StatusOK, map[string]any{"status": "OK", "message": fmt.Sprintf("'%s' updated.", name)})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"status": "CREATED", "message": fmt.Sprintf("'%s' created.", name)})
}

// Role returns a stored role's body (nil if none).
func (s *Server) Role(name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roles[name]
}

// RoleMapping returns a stored role mapping's body (nil if none).
func (s *Server) RoleMapping(name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roleMappings[name]
}

// rolesOf are the roles mapped to principal (by backend role). The caller holds s.mu.
func (s *Server) rolesOf(principal string) []role {
	var out []role
	for name, m := range s.roleMappings {
		var mapping struct {
			BackendRoles []string `json:"backend_roles"`
		}
		if json.Unmarshal(m, &mapping) != nil || !slices.Contains(mapping.BackendRoles, principal) {
			continue
		}
		var r role
		if json.Unmarshal(s.roles[name], &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// grants reports whether a permission list allows action.
func grants(perms []string, action string) bool {
	for _, p := range perms {
		expanded := []string{p}
		if g, ok := actionGroups[p]; ok {
			expanded = g
		}
		for _, e := range expanded {
			if ok, _ := path.Match(strings.ReplaceAll(strings.ReplaceAll(e, "[", `\[`), "]", `\]`), action); ok || e == action {
				return true
			}
			if strings.HasSuffix(e, "*") && strings.HasPrefix(action, strings.TrimSuffix(e, "*")) {
				return true
			}
		}
	}
	return false
}

// allowedCluster reports whether principal may perform a cluster-level action. The caller holds s.mu.
func (s *Server) allowedCluster(principal, action string) bool {
	if s.opts.Security == nil || principal == s.opts.Security.Master {
		return true
	}
	for _, r := range s.rolesOf(principal) {
		if grants(r.ClusterPermissions, action) {
			return true
		}
	}
	return false
}

// allowedIndex reports whether principal may perform an index-level action on index (a name or an alias).
// The caller holds s.mu.
func (s *Server) allowedIndex(principal, action, index string) bool {
	if s.opts.Security == nil || principal == s.opts.Security.Master {
		return true
	}
	for _, r := range s.rolesOf(principal) {
		for _, ip := range r.IndexPermissions {
			for _, pat := range ip.IndexPatterns {
				if ok, _ := path.Match(pat, index); ok && grants(ip.AllowedActions, action) {
					return true
				}
			}
		}
	}
	return false
}

// forbidden answers a request the principal has no permission for, as the plugin does.
func forbidden(w http.ResponseWriter, principal, action string) {
	writeError(w, http.StatusForbidden, "security_exception",
		fmt.Sprintf("no permissions for [%s] and User [name=%s, backend_roles=[%s]]", action, principal, principal))
}

// principalOf finds who signed r (the access key id of its SigV4 Credential) and checks the signature.
func (s *Server) principalOf(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", fmt.Errorf("not signed")
	}
	akid, _, _ := strings.Cut(cred, "/")
	for _, p := range s.opts.Security.Principals {
		if p.Credentials.AccessKeyID == akid {
			region, service := "us-east-1", "es"
			if s.opts.SigV4 != nil {
				region, service = s.opts.SigV4.Region, s.opts.SigV4.Service
			}
			if err := s.checkSignatureWith(r, body, SigV4{Region: region, Service: service, Credentials: p.Credentials}); err != nil {
				return "", err
			}
			return p.ARN, nil
		}
	}
	return "", fmt.Errorf("unknown access key %q", akid)
}

// indexAllowed checks an index-level action on every name of a comma-separated target (indexes or aliases) and
// answers 403 when one is refused.
func (s *Server) indexAllowed(w http.ResponseWriter, principal, action, target string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range strings.Split(target, ",") {
		if !s.allowedIndex(principal, action, name) {
			forbidden(w, principal, action)
			return false
		}
	}
	return true
}
