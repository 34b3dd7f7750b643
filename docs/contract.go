// Package docs embeds the customer contract (asyncapi.yaml and the JSON Schemas in schemas/) so that tests in any
// package can check the records the code writes against it.
package docs

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed asyncapi.yaml schemas/*.json
var files embed.FS

// Names of the contract files, as FS holds them.
const (
	AsyncAPI              = "asyncapi.yaml"
	EnhancedSchema        = "schemas/enhanced.schema.json"         // value of a record on enhanced
	EnhancedHeadersSchema = "schemas/enhanced-headers.schema.json" // headers of a record on enhanced
	RawSchema             = "schemas/raw.schema.json"              // value of a record on raw
	DLQHeadersSchema      = "schemas/dlq-headers.schema.json"      // headers of a record on raw.dlq or enhanced.dlq
	CandleSchema          = "schemas/candle.schema.json"           // value of a record on candles
)

// FS holds the contract files under the names above.
func FS() fs.FS { return files }

// Schema compiles one of the schema files (JSON Schema draft 2020-12, annotations such as examples extracted).
// Nothing is loaded from outside FS: a reference to another URL is an error.
func Schema(name string) (*jsonschema.Schema, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("contract schema %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.ExtractAnnotations = true
	c.LoadURL = func(url string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("contract schema %s: refers to %s, which is not embedded", name, url)
	}
	if err := c.AddResource(name, bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("contract schema %s: %w", name, err)
	}
	s, err := c.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("contract schema %s: %w", name, err)
	}
	return s, nil
}

// ValidateJSON checks one JSON document (a record's value) against s. Numbers are compared exactly as written.
func ValidateJSON(s *jsonschema.Schema, data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber() // what the validator expects: a number keeps its exact written value
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("contract %s: not JSON: %w", s.Location, err)
	}
	if d.More() {
		return fmt.Errorf("contract %s: not one JSON document: data after the first", s.Location)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("contract %s: %w", s.Location, err)
	}
	return nil
}

// ValidateHeaders checks a record's headers, as name to value, against a header schema. Kafka allows a name
// twice; pass the last value, which is what the schemas describe (a dead letter's own error and source come last).
func ValidateHeaders(s *jsonschema.Schema, headers map[string]string) error {
	v := make(map[string]any, len(headers))
	for k, h := range headers {
		v[k] = h
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("contract %s: %w", s.Location, err)
	}
	return nil
}
