package samtemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// probe replaces a value to see whether the schema judges that place: no described property accepts it (it is no
// string, number, list or intrinsic function, and no object with such a property).
var probe = map[string]any{"ZzProbe": true}

// Undescribed lists the SAM properties of t (under Globals and the Properties of every AWS::Serverless:: resource,
// event sources included) that the schema does not describe, as JSON pointers: the places where replacing the
// value with a stranger one is no error there. That is a property the schema does not know (the error is then
// about its parent), one it declares without describing its contents, and anything inside those. Values of
// intrinsic functions are judged as a whole, not looked into.
func (s *Schema) Undescribed(t *Template) ([]string, error) {
	var doc any
	if err := json.Unmarshal(t.JSON, &doc); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	found := map[string]bool{}
	for _, d := range ifBranches(doc) {
		root, ok := d.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("template is not an object")
		}
		if _, ok := root["Globals"]; ok {
			s.probeAll(d, root, "Globals", "/Globals", found)
		}
		resources, _ := root["Resources"].(map[string]any)
		for _, id := range slices.Sorted(maps.Keys(resources)) {
			r, _ := resources[id].(map[string]any)
			typ, _ := r["Type"].(string)
			if !strings.HasPrefix(typ, "AWS::Serverless::") {
				continue
			}
			if _, ok := r["Properties"]; ok {
				s.probeAll(d, r, "Properties", "/Resources/"+pointerToken(id)+"/Properties", found)
			}
		}
	}
	return slices.Sorted(maps.Keys(found)), nil
}

// probeAll probes the value at parent[key] (parent a map or a list, key a string or an int), found at ptr, and
// then everything inside it.
func (s *Schema) probeAll(doc, parent any, key any, ptr string, found map[string]bool) {
	get, set := access(parent, key)
	v := get()
	set(probe)
	judged := false
	for _, l := range s.leaves(doc) {
		if l.InstanceLocation == ptr || strings.HasPrefix(l.InstanceLocation, ptr+"/") {
			judged = true
			break
		}
	}
	set(v)
	if !judged {
		found[ptr] = true
	}
	if _, _, ok := intrinsic(v); ok {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			s.probeAll(doc, x, k, ptr+"/"+pointerToken(k), found)
		}
	case []any:
		for i := range x {
			s.probeAll(doc, x, i, ptr+"/"+strconv.Itoa(i), found)
		}
	}
}

func access(parent, key any) (get func() any, set func(any)) {
	if l, ok := parent.([]any); ok {
		i := key.(int)
		return func() any { return l[i] }, func(v any) { l[i] = v }
	}
	m := parent.(map[string]any)
	k := key.(string)
	return func() any { return m[k] }, func(v any) { m[k] = v }
}

// pointerToken escapes a key for a JSON pointer (RFC 6901).
func pointerToken(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
