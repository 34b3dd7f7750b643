package alpaca

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/finfeed/finfeed/shared/bar"
)

// This file is a small client of Alpaca's market data stream. The SDK's stream client (marketdata/stream) is not
// used for the connection itself: it reconnects on its own with linear, jitter-free delays, retries a 406 on the
// same socket for ~45 s before saying so, and drops messages silently when its buffer fills. The ingester needs
// to own all three (its backoff, its 406 hold, its backpressure), so it drives one connection at a time here.

// ServerError is an error message sent by the stream ({"T":"error","code":...,"msg":...}).
type ServerError struct {
	Code int
	Msg  string
}

func (e *ServerError) Error() string { return fmt.Sprintf("alpaca stream error %d: %s", e.Code, e.Msg) }

// Is matches server errors by code, so errors.Is(err, ErrConnectionLimit) works on what Dial returns.
func (e *ServerError) Is(target error) bool {
	t, ok := target.(*ServerError)
	return ok && t.Code == e.Code
}

// Permanent reports whether retrying cannot help: the credentials, plan or symbol list must change first.
func (e *ServerError) Permanent() bool {
	switch e.Code {
	case 402, 405, 409, 410, 411:
		return true
	}
	return false
}

// Stream errors the ingester tells apart (Alpaca's documented codes).
var (
	ErrAuthFailed      = &ServerError{Code: 402, Msg: "auth failed"}
	ErrSymbolLimit     = &ServerError{Code: 405, Msg: "symbol limit exceeded"}
	ErrConnectionLimit = &ServerError{Code: 406, Msg: "connection limit exceeded"}
	ErrSlowClient      = &ServerError{Code: 407, Msg: "slow client"}
	ErrInsufficientSub = &ServerError{Code: 409, Msg: "insufficient subscription"}
)

// ErrProtocol means the server said something the protocol does not allow at that point.
var ErrProtocol = errors.New("unexpected stream message")

// StreamOptions are one connection's settings.
type StreamOptions struct {
	URL     string // base URL; "/<Feed>" is appended
	Feed    string
	Key     string
	Secret  string
	Symbols []string // "*" for all
	// HandshakeTimeout bounds dialing, authenticating and subscribing (default 10 s).
	HandshakeTimeout time.Duration
	// PingInterval is how often the connection is pinged to notice a dead peer (default 10 s).
	PingInterval time.Duration
}

// Event is one bar from the stream; Updated marks a corrected bar (channel updatedBars).
type Event struct {
	Bar     bar.Raw
	Updated bool
}

// Session is one authenticated, subscribed stream connection.
type Session struct {
	conn    *websocket.Conn
	cancel  context.CancelFunc
	done    chan struct{}
	pingErr atomic.Value // error: why the pinger closed the connection
}

// Dial connects, authenticates and subscribes to bars and updatedBars of opts.Symbols. A refusal by the
// server is a *ServerError (errors.Is with ErrAuthFailed, ErrConnectionLimit, ...).
func Dial(ctx context.Context, opts StreamOptions) (*Session, error) {
	hs := opts.HandshakeTimeout
	if hs <= 0 {
		hs = 10 * time.Second
	}
	hctx, cancel := context.WithTimeout(ctx, hs)
	defer cancel()
	url := opts.URL + "/" + opts.Feed
	header := http.Header{}
	header.Set("Content-Type", "application/msgpack")
	conn, resp, err := websocket.Dial(hctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: http %d: %w", url, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	conn.SetReadLimit(64 << 20)
	fail := func(err error) (*Session, error) {
		if cerr := closeNow(conn); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	if err := expect(hctx, conn, "success", "connected"); err != nil {
		return fail(fmt.Errorf("stream %s: welcome: %w", url, err))
	}
	if err := write(hctx, conn, map[string]any{"action": "auth", "key": opts.Key, "secret": opts.Secret}); err != nil {
		return fail(fmt.Errorf("stream %s: send auth: %w", url, err))
	}
	if err := expect(hctx, conn, "success", "authenticated"); err != nil {
		return fail(fmt.Errorf("stream %s: auth: %w", url, err))
	}
	sub := map[string]any{"action": "subscribe", "bars": opts.Symbols, "updatedBars": opts.Symbols}
	if err := write(hctx, conn, sub); err != nil {
		return fail(fmt.Errorf("stream %s: send subscribe: %w", url, err))
	}
	if err := expect(hctx, conn, "subscription", ""); err != nil {
		return fail(fmt.Errorf("stream %s: subscribe: %w", url, err))
	}
	pctx, pcancel := context.WithCancel(context.Background())
	s := &Session{conn: conn, cancel: pcancel, done: make(chan struct{})}
	every := opts.PingInterval
	if every <= 0 {
		every = 10 * time.Second
	}
	go s.ping(pctx, every)
	return s, nil
}

// ping keeps the connection honest: a peer that stops answering pings gets the connection closed, so Read fails
// and the caller reconnects.
func (s *Session) ping(ctx context.Context, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, every)
			err := s.conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				// closing makes Read fail (and say why), and the caller reconnects
				s.pingErr.Store(errors.Join(fmt.Errorf("ping: %w", err), closeNow(s.conn)))
				return
			}
		}
	}
}

// Read blocks for the next frame and returns its bars (possibly none: control messages carry no bars). An error
// message from the server comes back as a *ServerError (e.g. ErrSlowClient); any error ends the session.
func (s *Session) Read(ctx context.Context, into []Event) ([]Event, error) {
	msgs, err := read(ctx, s.conn)
	if err != nil {
		if perr, ok := s.pingErr.Load().(error); ok {
			err = errors.Join(perr, err)
		}
		return into, err
	}
	for _, m := range msgs {
		switch m.T {
		case "b", "u":
			into = append(into, Event{Bar: m.raw(), Updated: m.T == "u"})
		case "error":
			return into, &ServerError{Code: m.Code, Msg: m.Msg}
		}
	}
	return into, nil
}

// Close ends the session.
func (s *Session) Close() error {
	s.cancel()
	<-s.done
	return closeNow(s.conn)
}

// closeNow closes conn without the close handshake (the peer may be gone); already closed is not an error.
func closeNow(conn *websocket.Conn) error {
	if err := conn.CloseNow(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close stream: %w", err)
	}
	return nil
}

// message is any stream message; only the fields of the kinds used here are decoded.
type message struct {
	T    string    `msgpack:"T"`
	Msg  string    `msgpack:"msg"`
	Code int       `msgpack:"code"`
	S    string    `msgpack:"S"`
	O    float64   `msgpack:"o"`
	H    float64   `msgpack:"h"`
	L    float64   `msgpack:"l"`
	C    float64   `msgpack:"c"`
	V    float64   `msgpack:"v"`
	Time time.Time `msgpack:"t"`
	N    float64   `msgpack:"n"`
	VW   float64   `msgpack:"vw"`
}

func (m *message) raw() bar.Raw {
	return Raw(m.S, m.O, m.H, m.L, m.C, m.V, m.N, m.VW, m.Time)
}

func read(ctx context.Context, conn *websocket.Conn) ([]message, error) {
	_, data, err := conn.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stream: %w", err)
	}
	var msgs []message
	if err := msgpack.Unmarshal(data, &msgs); err != nil {
		return nil, fmt.Errorf("decode stream frame: %w", err)
	}
	return msgs, nil
}

func write(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return conn.Write(ctx, websocket.MessageBinary, b)
}

// expect reads one frame and wants a single message of type t (and text msg when not empty).
func expect(ctx context.Context, conn *websocket.Conn, t, msg string) error {
	msgs, err := read(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.T == "error" {
			return &ServerError{Code: m.Code, Msg: m.Msg}
		}
	}
	if len(msgs) != 1 || msgs[0].T != t || (msg != "" && msgs[0].Msg != msg) {
		return fmt.Errorf("%w: want %s %s, got %+v", ErrProtocol, t, msg, msgs)
	}
	return nil
}
