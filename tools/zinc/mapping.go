package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/zincsearch/zincsearch/pkg/core"
	"github.com/zincsearch/zincsearch/pkg/handlers/index"
)

// resolveTargets turns an OpenSearch target (an index, an alias, or a comma-separated list of them) into the
// existing indexes it names.
func resolveTargets(target string) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range strings.Split(target, ",") {
		names := []string{name}
		if idx, ok := core.ZINC_INDEX_ALIAS_LIST.GetIndexesForAlias(name); ok && len(idx) > 0 {
			names = idx
		}
		for _, n := range names {
			if _, ok := core.GetIndex(n); ok && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// perIndex runs one of Zinc's single-index handlers for index, with body, and returns its status and response.
func perIndex(c *gin.Context, handler gin.HandlerFunc, name string, body []byte) (int, []byte) {
	rec := httptest.NewRecorder()
	sub, _ := gin.CreateTestContext(rec)
	sub.Request = c.Request.Clone(c.Request.Context())
	sub.Request.Body = io.NopCloser(bytes.NewReader(body))
	sub.Request.ContentLength = int64(len(body))
	sub.Params = gin.Params{{Key: "target", Value: name}}
	handler(sub)
	return rec.Code, rec.Body.Bytes()
}

// notFound answers as OpenSearch does for a target that names no index.
func notFound(c *gin.Context, target string) {
	c.JSON(http.StatusNotFound, gin.H{"error": gin.H{"type": "index_not_found_exception", "reason": "no such index [" + target + "]"}, "status": http.StatusNotFound})
}

// esMappings answers GET /<target>/_mapping as OpenSearch does (Zinc takes one index name only): every index the
// target names, 404 when it names none.
func esMappings(c *gin.Context) {
	target := c.Param("target")
	names := resolveTargets(target)
	if len(names) == 0 {
		notFound(c, target)
		return
	}
	out := map[string]json.RawMessage{}
	for _, name := range names {
		status, body := perIndex(c, index.GetESMapping, name, nil)
		if status != http.StatusOK {
			c.Data(status, "application/json", body)
			return
		}
		var one map[string]json.RawMessage
		if err := json.Unmarshal(body, &one); err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"error": "mapping of " + name + ": " + err.Error()})
			return
		}
		for k, v := range one {
			out[k] = v
		}
	}
	c.JSON(http.StatusOK, out)
}

// esPutMapping answers PUT /<target>/_mapping as OpenSearch does: the fields are added to every index the target
// names (Zinc would create an index named after the target), 404 when it names none.
func esPutMapping(c *gin.Context) {
	target := c.Param("target")
	names := resolveTargets(target)
	if len(names) == 0 {
		notFound(c, target)
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "read body: " + err.Error()})
		return
	}
	for _, name := range names {
		if status, resp := perIndex(c, index.SetMapping, name, body); status != http.StatusOK {
			c.Data(status, "application/json", resp)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"acknowledged": true})
}
