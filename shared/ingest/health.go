package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Health is what /healthz and /readyz report: the process is alive while it serves; it is ready while the stream
// is connected and authenticated and Kafka accepts what is produced.
type Health struct {
	mu        sync.Mutex
	connected bool
	reason    string // why not connected
	producing func() error
}

func (h *Health) setConnected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connected, h.reason = true, ""
}

func (h *Health) setDisconnected(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connected, h.reason = false, reason
}

// Ready is nil when the ingester is connected, authenticated and producing, or says why not.
func (h *Health) Ready() error {
	h.mu.Lock()
	connected, reason, producing := h.connected, h.reason, h.producing
	h.mu.Unlock()
	if !connected {
		if reason == "" {
			reason = "connecting"
		}
		return fmt.Errorf("stream not connected: %s", reason)
	}
	if producing != nil {
		if err := producing(); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves GET /healthz (200 while the process runs) and GET /readyz (200 ready, 503 with the reason).
func (h *Health) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := h.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// ServeHealth serves h on ln until ctx ends.
func ServeHealth(ctx context.Context, ln net.Listener, h *Health) error {
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("health server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("health server shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health server: %w", err)
	}
	return nil
}

// Probe GETs path ("/healthz" or "/readyz") from the health server at addr and wants 200: the container health
// check, for images with no curl.
func Probe(ctx context.Context, addr, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s%s: status %d", addr, path, resp.StatusCode)
	}
	return nil
}
