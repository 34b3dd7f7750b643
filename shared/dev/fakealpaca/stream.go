package fakealpaca

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/finfeed/finfeed/shared/bar"
)

// Wire messages are structs, not maps: Alpaca's clients expect "T" as the first key of every map.

type wireStatus struct {
	T   string `msgpack:"T"`
	Msg string `msgpack:"msg"`
}

type wireError struct {
	T    string `msgpack:"T"`
	Code int    `msgpack:"code"`
	Msg  string `msgpack:"msg"`
}

type wireSubscription struct {
	T           string   `msgpack:"T"`
	Trades      []string `msgpack:"trades"`
	Quotes      []string `msgpack:"quotes"`
	Bars        []string `msgpack:"bars"`
	UpdatedBars []string `msgpack:"updatedBars"`
	DailyBars   []string `msgpack:"dailyBars"`
}

type wireBar struct {
	T    string    `msgpack:"T"`
	S    string    `msgpack:"S"`
	O    float64   `msgpack:"o"`
	H    float64   `msgpack:"h"`
	L    float64   `msgpack:"l"`
	C    float64   `msgpack:"c"`
	V    uint64    `msgpack:"v"`
	Time time.Time `msgpack:"t"`
	N    uint64    `msgpack:"n"`
	VW   float64   `msgpack:"vw"`
}

func toWire(kind string, b bar.Raw) wireBar {
	return wireBar{T: kind, S: b.Symbol, O: b.Open, H: b.High, L: b.Low, C: b.Close, V: uint64(b.Volume),
		Time: b.Time.UTC(), N: uint64(b.TradeCount), VW: b.VWAP}
}

type clientMsg struct {
	Action      string   `msgpack:"action"`
	Key         string   `msgpack:"key"`
	Secret      string   `msgpack:"secret"`
	Bars        []string `msgpack:"bars"`
	UpdatedBars []string `msgpack:"updatedBars"`
}

var errorText = map[int]string{
	402: "auth failed", 404: "auth timeout", 405: "symbol limit exceeded", 406: "connection limit exceeded",
	407: "slow client", 409: "insufficient subscription",
}

// conn is one client connection.
type conn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex

	mu   sync.Mutex
	bars []string
}

func (c *conn) wants(symbol string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.bars, symbol) || slices.Contains(c.bars, "*")
}

func (c *conn) write(ctx context.Context, v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.ws.Write(wctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func (c *conn) read(ctx context.Context) (clientMsg, error) {
	var m clientMsg
	_, data, err := c.ws.Read(ctx)
	if err != nil {
		return m, err
	}
	if err := msgpack.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("decode client message: %w", err)
	}
	return m, nil
}

// drop ends the connection without a close handshake. The error is of no interest: the connection is being
// thrown away, possibly for the second time, and its handler notices the failed read and cleans up.
func (c *conn) drop() {
	c.ws.CloseNow() //nolint:errcheck // see above
}

func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	ws.SetReadLimit(1 << 20)
	c := &conn{ws: ws}
	ctx := r.Context()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.drop()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.drop()
	}()
	if err := c.write(ctx, []wireStatus{{T: "success", Msg: "connected"}}); err != nil {
		return
	}
	m, err := c.read(ctx)
	if err != nil || m.Action != "auth" {
		return
	}
	s.mu.Lock()
	s.auths++
	code := 0
	if len(s.reject) > 0 {
		code, s.reject = s.reject[0], s.reject[1:]
	}
	s.mu.Unlock()
	if code == 0 && !s.authorized(m.Key, m.Secret) {
		code = 402
	}
	if code != 0 {
		s.mu.Lock()
		s.rejectCodes = append(s.rejectCodes, code)
		s.mu.Unlock()
		if err := c.write(ctx, []wireError{{T: "error", Code: code, Msg: errorText[code]}}); err != nil {
			return
		}
		// Alpaca closes after refusing a login (the deferred drop); the client has the refusal already
		return
	}
	if err := c.write(ctx, []wireStatus{{T: "success", Msg: "authenticated"}}); err != nil {
		return
	}
	for first := true; ; first = false {
		m, err := c.read(ctx)
		if err != nil {
			return
		}
		if m.Action != "subscribe" && m.Action != "unsubscribe" {
			continue
		}
		c.mu.Lock()
		if m.Action == "subscribe" {
			for _, sym := range m.Bars {
				if !slices.Contains(c.bars, sym) {
					c.bars = append(c.bars, sym)
				}
			}
		} else {
			c.bars = slices.DeleteFunc(c.bars, func(s string) bool { return slices.Contains(m.Bars, s) })
		}
		bars := append([]string{}, c.bars...)
		c.mu.Unlock()
		sub := []wireSubscription{{T: "subscription", Trades: []string{}, Quotes: []string{}, Bars: bars,
			UpdatedBars: bars, DailyBars: []string{}}}
		if err := c.write(ctx, sub); err != nil {
			return
		}
		if first {
			s.mu.Lock()
			s.subscribes++
			close(s.subChanged)
			s.subChanged = make(chan struct{})
			s.mu.Unlock()
		}
	}
}
