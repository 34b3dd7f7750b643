// Package jsonbench measures shared/bar's hand-written JSON codec against maintained JSON libraries
// (encoding/json/v2, goccy/go-json, bytedance/sonic, and encoding/json for reference) on the enrich hot path,
// each wrapped to be as strict as bar's. It is its own module so that the product's go.mod does not gain
// dependencies the product does not use; `make bench-json` runs it (GOEXPERIMENT=jsonv2 is required).
package jsonbench
