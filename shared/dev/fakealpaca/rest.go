package fakealpaca

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

type restBar struct {
	T  string  `json:"t"`
	O  float64 `json:"o"`
	H  float64 `json:"h"`
	L  float64 `json:"l"`
	C  float64 `json:"c"`
	V  uint64  `json:"v"`
	N  uint64  `json:"n"`
	VW float64 `json:"vw"`
}

type restBars struct {
	Bars          map[string][]restBar `json:"bars"`
	NextPageToken *string              `json:"next_page_token"`
}

type keyedBar struct {
	symbol string
	bar    restBar
}

// serveBars is GET /v2/stocks/bars: symbols, timeframe (1Min or 1Day), start, end (RFC 3339, inclusive),
// adjustment, limit (at most 10000) and page_token, answering bars grouped by symbol as Alpaca does.
func (s *Server) serveBars(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.restCalls++
	s.mu.Unlock()
	if !s.authorized(r.Header.Get("APCA-API-KEY-ID"), r.Header.Get("APCA-API-SECRET-KEY")) {
		writeJSON(w, http.StatusForbidden, map[string]any{"code": 40310000, "message": "forbidden"})
		return
	}
	q := r.URL.Query()
	start, err1 := parseTime(q.Get("start"))
	end, err2 := parseTime(q.Get("end"))
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "invalid start or end"})
		return
	}
	if end.IsZero() {
		end = time.Now()
	}
	symbols := splitSymbols(q.Get("symbols"))
	s.mu.Lock()
	maxSymbols := s.maxSymbols
	s.mu.Unlock()
	if maxSymbols > 0 && len(symbols) > maxSymbols {
		s.refused()
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": fmt.Sprintf("too many symbols: %d > %d", len(symbols), maxSymbols)})
		return
	}
	var all []keyedBar
	for _, sym := range symbols {
		switch q.Get("timeframe") {
		case "1Min", "1T":
			for _, b := range s.minuteBars(sym, start, end) {
				if !b.Time.Before(start) && !b.Time.After(end) {
					all = append(all, keyedBar{sym, restBar{T: b.Time.UTC().Format(time.RFC3339), O: b.Open, H: b.High,
						L: b.Low, C: b.Close, V: uint64(b.Volume), N: uint64(b.TradeCount), VW: b.VWAP}})
				}
			}
		case "1Day", "1D":
			adj := q.Get("adjustment")
			for _, d := range s.adjustedDaily(sym, adj == "split" || adj == "all") {
				t := time.Date(d.Date.Year, d.Date.Month, d.Date.Day, 0, 0, 0, 0, bar.NewYork)
				if !d.Date.Before(bar.TradingDate(start)) && !bar.TradingDate(end).Before(d.Date) {
					all = append(all, keyedBar{sym, restBar{T: t.UTC().Format(time.RFC3339), O: d.Close, H: d.Close,
						L: d.Close, C: d.Close, V: uint64(d.Volume), N: 1, VW: d.Close}})
				}
			}
		default:
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "unsupported timeframe"})
			return
		}
	}
	offset := 0
	if tok := q.Get("page_token"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(all) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "invalid page_token"})
			return
		}
		offset = n
	}
	limit := 1000
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > maxLimit {
			s.refused()
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "invalid limit"})
			return
		}
		limit = n
	}
	s.mu.Lock()
	if s.pageSize > 0 {
		limit = min(limit, s.pageSize)
	}
	s.mu.Unlock()
	resp := restBars{Bars: map[string][]restBar{}}
	stop := min(offset+limit, len(all))
	for _, kb := range all[offset:stop] {
		resp.Bars[kb.symbol] = append(resp.Bars[kb.symbol], kb.bar)
	}
	s.mu.Lock()
	st := &s.barsStats
	st.Requests++
	st.MaxSymbols = max(st.MaxSymbols, len(symbols))
	st.MaxPage = max(st.MaxPage, stop-offset)
	st.Bars += stop - offset
	for _, sym := range symbols {
		st.Symbols[sym]++
	}
	s.mu.Unlock()
	if stop < len(all) {
		tok := strconv.Itoa(stop)
		resp.NextPageToken = &tok
	}
	writeJSON(w, http.StatusOK, resp)
}

// maxLimit is the largest page Alpaca serves.
const maxLimit = 10000

func (s *Server) refused() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.barsStats.Refused++
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", v, err)
	}
	return t, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return // the client went away; nothing left to tell it
	}
}
