package main

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/zincsearch/zincsearch/pkg/auth"
	"github.com/zincsearch/zincsearch/pkg/core"
	"github.com/zincsearch/zincsearch/pkg/handlers/document"
	"github.com/zincsearch/zincsearch/pkg/handlers/index"
	"github.com/zincsearch/zincsearch/pkg/handlers/search"
	"github.com/zincsearch/zincsearch/pkg/meta"
	"github.com/zincsearch/zincsearch/pkg/meta/elastic"
	"github.com/zincsearch/zincsearch/pkg/zutils"
)

// setRoutes mounts Zinc's Elasticsearch-compatible handlers (Zinc serves them under /es/) at the root, as an
// OpenSearch domain serves them.
func setRoutes(r *gin.Engine) {
	info := func(c *gin.Context) { zutils.GinRenderJSON(c, http.StatusOK, elastic.NewESInfo(c)) }
	r.GET("/", authorized("index.List"), esProduct, info)
	r.HEAD("/", authorized("index.List"), esProduct, info)
	r.GET("/_cluster/health", authorized("index.List"), esProduct, clusterHealth)

	r.GET("/_index_template", authorized("index.ListTemplate"), esProduct, index.ListTemplate)
	r.PUT("/_index_template/:target", authorized("index.CreateTemplate"), esProduct, javaDates, index.CreateTemplate)
	r.POST("/_index_template/:target", authorized("index.CreateTemplate"), esProduct, javaDates, index.CreateTemplate)
	r.GET("/_index_template/:target", authorized("index.GetTemplate"), esProduct, index.GetTemplate)
	r.HEAD("/_index_template/:target", authorized("index.GetTemplate"), esProduct, index.GetTemplate)
	r.DELETE("/_index_template/:target", authorized("index.DeleteTemplate"), esProduct, index.DeleteTemplate)

	ism := newISMPolicies()
	r.GET("/_plugins/_ism/policies/:id", authorized("index.GetTemplate"), esProduct, ism.get)
	r.PUT("/_plugins/_ism/policies/:id", authorized("index.CreateTemplate"), esProduct, ism.put)

	r.POST("/_aliases", authorized("index.AddOrRemoveESAlias"), esProduct, index.AddOrRemoveESAlias)
	r.GET("/_alias", authorized("index.GetESAliases"), esProduct, index.GetESAliases)
	r.GET("/_alias/:target_alias", authorized("index.GetESAliases"), esProduct, index.GetESAliases)

	r.POST("/_bulk", authorized("document.ESBulk"), esProduct, document.ESBulk)
	r.POST("/_search", authorized("search.SearchDSL"), esProduct, aliases, search.SearchDSL)
	r.POST("/_count", authorized("search.SearchDSL"), esProduct, aliases, count)
	r.GET("/_count", authorized("search.SearchDSL"), esProduct, aliases, count)

	r.PUT("/:target", authorized("index.CreateES"), esProduct, javaDates, index.CreateES)
	r.HEAD("/:target", authorized("index.Exists"), esProduct, index.Exists)
	r.DELETE("/:target", authorized("index.Delete"), esProduct, index.Delete)
	r.GET("/:target/_alias", authorized("index.GetESAliases"), esProduct, index.GetESAliases)
	r.GET("/:target/_mapping", authorized("index.GetESMapping"), esProduct, esMappings)
	r.PUT("/:target/_mapping", authorized("index.SetMapping"), esProduct, javaDates, esPutMapping)
	r.GET("/:target/_settings", authorized("index.GetSettings"), esProduct, index.GetSettings)
	r.PUT("/:target/_settings", authorized("index.SetSettings"), esProduct, index.SetSettings)
	r.POST("/:target/_refresh", authorized("index.Refresh"), esProduct, index.Refresh)
	r.POST("/:target/_bulk", authorized("document.ESBulk"), esProduct, document.ESBulk)
	r.PUT("/:target/_bulk", authorized("document.ESBulk"), esProduct, document.ESBulk)
	r.POST("/:target/_search", authorized("search.SearchDSL"), esProduct, aliases, search.SearchDSL)
	r.POST("/:target/_count", authorized("search.SearchDSL"), esProduct, aliases, count)
	r.GET("/:target/_count", authorized("search.SearchDSL"), esProduct, aliases, count)
	r.POST("/:target/_doc", authorized("document.CreateUpdate"), esProduct, document.CreateUpdate)
	r.PUT("/:target/_doc/:id", authorized("document.CreateUpdate"), esProduct, document.CreateUpdate)
	r.GET("/:target/_doc/:id", authorized("document.Get"), esProduct, document.Get)
	r.DELETE("/:target/_doc/:id", authorized("document.Delete"), esProduct, document.Delete)
}

// authorized checks HTTP basic auth against Zinc's users and roles, as Zinc's own middleware does.
func authorized(permission string) gin.HandlerFunc {
	auth.AddPermission(permission)
	return func(c *gin.Context) {
		user, password, ok := c.Request.BasicAuth()
		if !ok {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "missing credentials"})
			return
		}
		u, ok := auth.VerifyCredentials(user, password)
		if !ok {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "invalid credentials"})
			return
		}
		if !auth.VerifyRoleHasPermission(u.Role, permission) {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "no permission: " + permission})
			return
		}
		c.Next()
	}
}

// esProduct is the header some Elasticsearch clients check before talking to a server.
func esProduct(c *gin.Context) { c.Header("X-Elastic-Product", "Elasticsearch") }

// aliases replaces an alias in :target with the indexes it points to.
func aliases(c *gin.Context) {
	for i, p := range c.Params {
		if p.Key != "target" {
			continue
		}
		var names []string
		for _, name := range strings.Split(p.Value, ",") {
			if idx, ok := core.ZINC_INDEX_ALIAS_LIST.GetIndexesForAlias(name); ok && len(idx) > 0 {
				names = append(names, idx...)
			} else {
				names = append(names, name)
			}
		}
		c.Params[i].Value = strings.Join(names, ",")
	}
	c.Next()
}

// count answers _count: the number of documents matching the (optional) query.
func count(c *gin.Context) {
	query := &meta.ZincQuery{}
	if c.Request.ContentLength != 0 && c.Request.Body != nil && c.Request.Body != http.NoBody {
		if err := zutils.GinBindJSON(c, query); err != nil && err.Error() != "EOF" {
			zutils.GinRenderJSON(c, http.StatusBadRequest, meta.HTTPResponseError{Error: err.Error()})
			return
		}
	}
	query.Size = 0
	query.TrackTotalHits = true
	names := strings.Split(c.Param("target"), ",")
	if c.Param("target") == "" {
		names = []string{"*"}
	}
	total := 0
	var err error
	var resp *meta.SearchResponse
	if len(names) == 1 && !strings.Contains(names[0], "*") {
		idx, ok := core.GetIndex(names[0])
		if !ok {
			zutils.GinRenderJSON(c, http.StatusNotFound, gin.H{"error": gin.H{"type": "index_not_found_exception", "reason": "no such index [" + names[0] + "]"}, "status": http.StatusNotFound})
			return
		}
		resp, err = idx.Search(query)
	} else {
		resp, err = core.MultiSearch(names, query)
	}
	if err != nil {
		zutils.GinRenderJSON(c, http.StatusBadRequest, meta.HTTPResponseError{Error: err.Error()})
		return
	}
	total = resp.Hits.Total.Value
	zutils.GinRenderJSON(c, http.StatusOK, gin.H{
		"count":   total,
		"_shards": gin.H{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
	})
}

// clusterHealth reports a single-node cluster that is always green.
func clusterHealth(c *gin.Context) {
	zutils.GinRenderJSON(c, http.StatusOK, gin.H{
		"cluster_name":          "zinc",
		"status":                "green",
		"timed_out":             false,
		"number_of_nodes":       1,
		"number_of_data_nodes":  1,
		"active_primary_shards": core.ZINC_INDEX_LIST.Len(),
		"active_shards":         core.ZINC_INDEX_LIST.Len(),
	})
}
