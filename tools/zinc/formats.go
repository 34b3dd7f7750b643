package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// javaDates rewrites the Java date formats OpenSearch mappings use into the Go layouts Zinc expects: Zinc
// passes a mapping's "format" to time.Parse as is, so "strict_date" would reject every date.
func javaDates(c *gin.Context) {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		c.Next()
		return
	}
	data, err := io.ReadAll(c.Request.Body)
	if err != nil {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": "read body: " + err.Error()})
		return
	}
	var doc any
	if json.Unmarshal(data, &doc) == nil {
		rewriteFormats(doc)
		if out, err := json.Marshal(doc); err == nil {
			data = out
		}
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(data))
	c.Request.ContentLength = int64(len(data))
	c.Next()
}

// rewriteFormats walks a JSON value and converts every "format" beside a date "type".
func rewriteFormats(v any) {
	switch v := v.(type) {
	case map[string]any:
		if t, _ := v["type"].(string); t == "date" {
			if f, ok := v["format"].(string); ok {
				if layout := goLayout(f); layout != "" {
					v["format"] = layout
				} else {
					delete(v, "format")
				}
			}
		}
		for _, child := range v {
			rewriteFormats(child)
		}
	case []any:
		for _, child := range v {
			rewriteFormats(child)
		}
	}
}

// goLayout maps the first alternative of a Java format to a Go layout; "" means Zinc's default (RFC 3339).
func goLayout(java string) string {
	first, _, _ := strings.Cut(java, "||")
	switch strings.TrimSpace(first) {
	case "strict_date", "date", "yyyy-MM-dd":
		return "2006-01-02"
	case "yyyy-MM-dd HH:mm:ss":
		return "2006-01-02 15:04:05"
	case "epoch_millis":
		return "epoch_millis"
	default:
		return ""
	}
}
