// Package search writes enriched bars to OpenSearch: client construction (SigV4, basic auth, HTTPS), the index
// template and alias, bounded bulk requests with item-level result checking, and the Dashboards saved objects.
package search
