package search

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

//go:embed dashboards/finfeed.ndjson
var savedObjects []byte

// SavedObjects is the OpenSearch Dashboards export (NDJSON) of finfeed's index pattern (the alias, time field
// timestamp), its visualizations (close and %change over time by symbol, indicator counts) and the dashboard
// that shows them, and the candles' index pattern (time field start) with a panel of the 5m candles' close, high
// and low per symbol. The bar index pattern's title is set to alias, the candle one's (CandlesIndexPattern) to
// candlesAlias.
func SavedObjects(alias, candlesAlias string) ([]byte, error) {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(savedObjects))
	for sc.Scan() {
		line := sc.Bytes()
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("embedded saved objects: %w", err)
		}
		if obj["type"] == "index-pattern" {
			attrs, ok := obj["attributes"].(map[string]any)
			if !ok {
				return nil, errors.New("embedded saved objects: index pattern has no attributes")
			}
			attrs["title"] = alias
			if obj["id"] == CandlesIndexPattern {
				attrs["title"] = candlesAlias
			}
			var err error
			if line, err = json.Marshal(obj); err != nil {
				return nil, fmt.Errorf("embedded saved objects: %w", err)
			}
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("embedded saved objects: %w", err)
	}
	return out.Bytes(), nil
}

// ImportResult is what Dashboards says about an import.
type ImportResult struct {
	Success      bool              `json:"success"`
	SuccessCount int               `json:"successCount"`
	Errors       []json.RawMessage `json:"errors"`
}

// ImportDashboards uploads SavedObjects to OpenSearch Dashboards' saved objects import API, replacing objects
// with the same ids, and fails unless every object was imported.
func (c *Client) ImportDashboards(ctx context.Context) (ImportResult, error) {
	data, err := SavedObjects(c.cfg.Alias, c.cfg.Candles().Alias)
	if err != nil {
		return ImportResult{}, err
	}
	if err := ValidateSavedObjects(data, c.cfg.Alias, c.cfg.Candles().Alias); err != nil {
		return ImportResult{}, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", "finfeed.ndjson")
	if err != nil {
		return ImportResult{}, fmt.Errorf("build import request: %w", err)
	}
	if _, err := part.Write(data); err != nil {
		return ImportResult{}, fmt.Errorf("build import request: %w", err)
	}
	if err := mw.Close(); err != nil {
		return ImportResult{}, fmt.Errorf("build import request: %w", err)
	}
	url := c.cfg.DashboardsURL + "/api/saved_objects/_import?overwrite=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body.Bytes()))
	if err != nil {
		return ImportResult{}, fmt.Errorf("build import request: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("osd-xsrf", "true")
	if c.username != "" {
		req.SetBasicAuth(c.username, c.password)
	}
	if c.signDash != nil {
		if err := c.signDash(req); err != nil {
			return ImportResult{}, fmt.Errorf("sign import request: %w", err)
		}
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return ImportResult{}, fmt.Errorf("%w: import saved objects: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import saved objects: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return ImportResult{}, &StatusError{Method: http.MethodPost, Path: "/api/saved_objects/_import", Status: resp.StatusCode, Body: short(out)}
	}
	var res ImportResult
	if err := json.Unmarshal(out, &res); err != nil {
		return ImportResult{}, fmt.Errorf("import saved objects: not an import response: %w", err)
	}
	if !res.Success || len(res.Errors) > 0 {
		return res, fmt.Errorf("import saved objects: %d imported, %d errors: %s", res.SuccessCount, len(res.Errors), short(out))
	}
	return res, nil
}
