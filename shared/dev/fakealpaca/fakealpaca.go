// Package fakealpaca is a local Alpaca for tests and offline runs, on 127.0.0.1: the market data bar stream in the
// real wire protocol (MessagePack in binary websocket frames), the REST bars endpoint (JSON, paginated, split
// adjustment) and the trading API's asset list.
package fakealpaca

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/finfeed/finfeed/shared/bar"
)

// Split is a stock split taking effect (ex-date) on Date: one old share becomes Ratio new ones (10 for 10:1).
type Split struct {
	Symbol string
	Date   bar.Date
	Ratio  float64
}

// DailyBar is one unadjusted daily close.
type DailyBar struct {
	Symbol string
	Date   bar.Date
	Close  float64
	Volume float64
}

// Server is a fake Alpaca. Its zero value is not usable: call New.
type Server struct {
	// StreamURL is the base to give the stream client (ws://127.0.0.1:P/v2); DataURL the market data REST base;
	// APIURL the trading API base (the asset list).
	StreamURL string
	DataURL   string
	APIURL    string

	http *httptest.Server

	mu          sync.Mutex
	keys        map[string]string
	reject      []int // codes for the next auth attempts, in order
	conns       map[*conn]struct{}
	subscribes  int
	auths       int
	minute      map[string]map[time.Time]bar.Raw
	daily       map[string]map[bar.Date]DailyBar
	splits      []Split
	today       func() bar.Date
	restCalls   int
	pageSize    int
	subChanged  chan struct{}
	closed      bool
	rejectCodes []int // every refusal sent, for tests

	minuteSource  func(symbol string, from, to time.Time) []bar.Raw
	maxSymbols    int // bars requests naming more symbols are refused; 0: no limit
	barsStats     BarsStats
	assets        []Asset
	assetFailures []int // status codes for the next asset-list requests, in order
	assetCalls    int
}

// New starts a server on a free loopback port that accepts the key/secret pair.
func New(key, secret string) (*Server, error) {
	s := &Server{
		keys:       map[string]string{key: secret},
		conns:      map[*conn]struct{}{},
		minute:     map[string]map[time.Time]bar.Raw{},
		daily:      map[string]map[bar.Date]DailyBar{},
		today:      func() bar.Date { return bar.TradingDate(time.Now()) },
		subChanged: make(chan struct{}),
		barsStats:  BarsStats{Symbols: map[string]int{}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/stocks/bars", s.serveBars)
	mux.HandleFunc("GET /v2/assets", s.serveAssets)
	mux.HandleFunc("GET /v2/{feed}", s.serveStream)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake alpaca listen: %w", err)
	}
	s.http = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	s.http.Start()
	s.StreamURL = "ws://" + ln.Addr().String() + "/v2"
	s.DataURL = "http://" + ln.Addr().String()
	s.APIURL = s.DataURL
	return s, nil
}

// Close drops every connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.DropAll()
	s.http.CloseClientConnections()
	s.http.Close()
}

// SetToday sets the date the server lives on: splits with an ex-date after it are not yet applied to REST bars.
func (s *Server) SetToday(d bar.Date) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.today = func() bar.Date { return d }
}

// SetPageSize caps how many bars one REST page holds, whatever limit the client names (by default a page holds
// the client's limit, up to Alpaca's 10000, or 1000 when it names none).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// RejectNext makes the next auth attempts fail with these codes, one each (e.g. 406, 406).
func (s *Server) RejectNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = append(s.reject, codes...)
}

// Rejections are the error codes sent so far in answer to auth.
func (s *Server) Rejections() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.rejectCodes...)
}

// Subscribes is how many connections have completed auth and subscribe so far.
func (s *Server) Subscribes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribes
}

// Auths is how many auth messages arrived so far (accepted or not).
func (s *Server) Auths() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

// RESTCalls is how many REST requests arrived so far.
func (s *Server) RESTCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restCalls
}

// WaitSubscribes blocks until at least n subscriptions happened, or ctx ends.
func (s *Server) WaitSubscribes(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, ch := s.subscribes, s.subChanged
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d subscriptions (have %d): %w", n, got, ctx.Err())
		}
	}
}

// Record adds bars to the REST history without sending them: bars produced while a client was away.
func (s *Server) Record(bars ...bar.Raw) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bars {
		m := s.minute[b.Symbol]
		if m == nil {
			m = map[time.Time]bar.Raw{}
			s.minute[b.Symbol] = m
		}
		m[b.Time.UTC()] = b
	}
}

// Publish records bars and sends each to every connection subscribed to its symbol, as "b" messages.
func (s *Server) Publish(ctx context.Context, bars ...bar.Raw) error {
	s.Record(bars...)
	return s.send(ctx, "b", bars)
}

// PublishUpdated replaces bars in the history and sends them as corrections ("u" messages).
func (s *Server) PublishUpdated(ctx context.Context, bars ...bar.Raw) error {
	s.Record(bars...)
	return s.send(ctx, "u", bars)
}

// AddDaily adds unadjusted daily closes to the REST history.
func (s *Server) AddDaily(bars ...DailyBar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bars {
		m := s.daily[b.Symbol]
		if m == nil {
			m = map[bar.Date]DailyBar{}
			s.daily[b.Symbol] = m
		}
		m[b.Date] = b
	}
}

// AddSplit announces a split; REST applies it from its ex-date on (see SetToday).
func (s *Server) AddSplit(sp Split) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.splits = append(s.splits, sp)
}

// DropAll closes every stream connection abruptly, as a network failure would.
func (s *Server) DropAll() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}

// Connections is how many stream connections are open now.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) send(ctx context.Context, kind string, bars []bar.Raw) error {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var errs []error
	for _, c := range conns {
		var frame []wireBar
		for _, b := range bars {
			if c.wants(b.Symbol) {
				frame = append(frame, toWire(kind, b))
			}
		}
		if len(frame) == 0 {
			continue
		}
		if err := c.write(ctx, frame); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) adjustedDaily(symbol string, split bool) []DailyBar {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := s.today()
	var out []DailyBar
	for _, b := range s.daily[symbol] {
		if split {
			for _, sp := range s.splits {
				if sp.Symbol == symbol && b.Date.Before(sp.Date) && !today.Before(sp.Date) {
					b.Close /= sp.Ratio
					b.Volume *= sp.Ratio
				}
			}
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// minuteBars are symbol's bars, recorded and from the minute source for [from, to], in time order.
func (s *Server) minuteBars(symbol string, from, to time.Time) []bar.Raw {
	s.mu.Lock()
	out := make([]bar.Raw, 0, len(s.minute[symbol]))
	for _, b := range s.minute[symbol] {
		out = append(out, b)
	}
	source := s.minuteSource
	s.mu.Unlock()
	if source != nil {
		out = append(out, source(symbol, from, to)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// SetKeys makes key/secret the only pair accepted from now on, as regenerating keys at Alpaca revokes the old
// ones.
func (s *Server) SetKeys(key, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = map[string]string{key: secret}
}

func (s *Server) authorized(key, secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.keys[key]
	return ok && key != "" && want == secret
}

func splitSymbols(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SetMinuteSource makes REST serve, besides the recorded bars, the minute bars fn returns for a symbol and the
// inclusive range [from, to] of a request: a market too large to record bar by bar.
func (s *Server) SetMinuteSource(fn func(symbol string, from, to time.Time) []bar.Raw) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minuteSource = fn
}

// SetMaxSymbols makes REST refuse (400) a bars request naming more than n symbols; 0 lifts the limit.
func (s *Server) SetMaxSymbols(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxSymbols = n
}

// BarsStats sums up the REST bars requests (one per page) answered so far.
type BarsStats struct {
	Requests   int            // requests answered with bars (pages)
	Refused    int            // requests refused for naming too many symbols or asking too large a page
	MaxSymbols int            // most symbols one request named
	MaxPage    int            // most bars one page held
	Bars       int            // bars served, over all pages
	Symbols    map[string]int // how many requests named each symbol
}

// BarsStats returns the REST bars requests' statistics so far.
func (s *Server) BarsStats() BarsStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.barsStats
	st.Symbols = make(map[string]int, len(s.barsStats.Symbols))
	for k, v := range s.barsStats.Symbols {
		st.Symbols[k] = v
	}
	return st
}
