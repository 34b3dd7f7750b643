package chart

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
)

//go:embed web
var web embed.FS

// heartbeat is how often an idle event stream gets a comment line, so proxies and the browser keep it open.
const heartbeat = 15 * time.Second

// Handler serves the page (from the binary: no CDN, works offline) and its endpoints:
//
//	GET /                  the page
//	GET /api/meta          symbols, intervals and the store's counts
//	GET /api/bars?symbol=S&interval=I   the history of one chart, with the symbol's newest enriched bar
//	GET /api/events        Server-Sent Events: one "bar" event per bar that changed
func Handler(s *Store, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded directory is part of the package
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/meta", func(w http.ResponseWriter, r *http.Request) {
		intervals := s.Intervals()
		if len(intervals) == 0 || intervals[0] != Minute {
			intervals = append([]string{Minute}, intervals...)
		}
		writeJSON(w, log, struct {
			Symbols   []string `json:"symbols"`
			Intervals []string `json:"intervals"`
			Stats     Stats    `json:"stats"`
		}{s.Symbols(), intervals, s.Stats()})
	})
	mux.HandleFunc("GET /api/bars", func(w http.ResponseWriter, r *http.Request) {
		symbol, interval := r.URL.Query().Get("symbol"), r.URL.Query().Get("interval")
		if interval == "" {
			interval = Minute
		}
		if symbol == "" {
			http.Error(w, "symbol is required", http.StatusBadRequest)
			return
		}
		bars, latest, ok := s.Series(symbol, interval)
		resp := struct {
			Symbol   string `json:"symbol"`
			Interval string `json:"interval"`
			Bars     []Bar  `json:"bars"`
			Latest   *Bar   `json:"latest"`
		}{Symbol: symbol, Interval: interval, Bars: bars}
		if resp.Bars == nil {
			resp.Bars = []Bar{}
		}
		if ok {
			resp.Latest = &latest
		}
		writeJSON(w, log, resp)
	})
	mux.HandleFunc("GET /api/events", func(w http.ResponseWriter, r *http.Request) { events(w, r, s, log) })
	return mux
}

// events streams the store's updates to one page until it leaves or falls too far behind (then the browser's
// EventSource reconnects and the page reloads its chart).
func events(w http.ResponseWriter, r *http.Request, s *Store, log *slog.Logger) {
	rc := http.NewResponseController(w)
	updates, cancel := s.Subscribe()
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": finfeed chart\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		log.Warn("chart: event stream cannot flush", "err", err)
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
		case u, ok := <-updates:
			if !ok {
				return
			}
			var data []byte
			if data, err = json.Marshal(u); err == nil {
				_, err = fmt.Fprintf(w, "event: bar\ndata: %s\n\n", data)
			}
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return // the page went away
		}
	}
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		log.Error("chart: encode response", "err", err)
		http.Error(w, "cannot encode the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if _, err := w.Write(append(data, '\n')); err != nil {
		log.Debug("chart: write response", "err", err)
	}
}
