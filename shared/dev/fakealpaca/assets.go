package fakealpaca

import (
	"net/http"
	"strings"
)

// Asset is one entry of the trading API's asset list.
type Asset struct {
	Symbol   string
	Class    string // us_equity (default) or crypto
	Exchange string // default NASDAQ
	Status   string // active (default) or inactive
	Tradable bool
}

// wireAsset is an asset as GET /v2/assets answers it.
type wireAsset struct {
	ID           string   `json:"id"`
	Class        string   `json:"class"`
	Exchange     string   `json:"exchange"`
	Symbol       string   `json:"symbol"`
	Name         string   `json:"name"`
	Status       string   `json:"status"`
	Tradable     bool     `json:"tradable"`
	Marginable   bool     `json:"marginable"`
	Shortable    bool     `json:"shortable"`
	EasyToBorrow bool     `json:"easy_to_borrow"`
	Fractionable bool     `json:"fractionable"`
	Attributes   []string `json:"attributes"`
}

// AddAssets adds assets to the trading API's list, with defaults for the empty fields.
func (s *Server) AddAssets(assets ...Asset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range assets {
		if a.Class == "" {
			a.Class = "us_equity"
		}
		if a.Exchange == "" {
			a.Exchange = "NASDAQ"
		}
		if a.Status == "" {
			a.Status = "active"
		}
		s.assets = append(s.assets, a)
	}
}

// FailAssets makes the next n asset-list requests fail with HTTP status code (e.g. 500).
func (s *Server) FailAssets(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assetFailures = append(s.assetFailures, repeat(code, n)...)
}

// AssetCalls is how many asset-list requests arrived so far (answered or failed).
func (s *Server) AssetCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assetCalls
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// serveAssets is GET /v2/assets of the trading API: status, asset_class and exchange filter the list, as
// Alpaca does.
func (s *Server) serveAssets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.assetCalls++
	fail := 0
	if len(s.assetFailures) > 0 {
		fail, s.assetFailures = s.assetFailures[0], s.assetFailures[1:]
	}
	s.mu.Unlock()
	if !s.authorized(r.Header.Get("APCA-API-KEY-ID"), r.Header.Get("APCA-API-SECRET-KEY")) {
		writeJSON(w, http.StatusForbidden, map[string]any{"code": 40310000, "message": "forbidden"})
		return
	}
	if fail != 0 {
		writeJSON(w, fail, map[string]any{"code": 50010000, "message": "internal server error"})
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	if status == "" {
		status = "active" // Alpaca's default
	}
	s.mu.Lock()
	out := make([]wireAsset, 0, len(s.assets))
	for i, a := range s.assets {
		if (status != "all" && a.Status != status) || (q.Get("asset_class") != "" && a.Class != q.Get("asset_class")) ||
			(q.Get("exchange") != "" && !strings.EqualFold(a.Exchange, q.Get("exchange"))) {
			continue
		}
		out = append(out, wireAsset{ID: assetID(i), Class: a.Class, Exchange: a.Exchange, Symbol: a.Symbol,
			Name: a.Symbol + " Inc.", Status: a.Status, Tradable: a.Tradable, Attributes: []string{}})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// assetID is a stable UUID-shaped id for the i-th asset.
func assetID(i int) string {
	const hex = "0123456789abcdef"
	b := []byte("00000000-0000-4000-8000-000000000000")
	for j := len(b) - 1; i > 0 && j >= 0; j-- {
		if b[j] == '-' {
			continue
		}
		b[j] = hex[i%16]
		i /= 16
	}
	return string(b)
}
