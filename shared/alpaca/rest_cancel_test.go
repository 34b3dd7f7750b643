package alpaca_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
)

// A REST request to an Alpaca that does not answer must end when the caller's context does (SIGTERM during a
// backfill), not when the HTTP timeout runs out.
func TestRESTRequestEndsWithTheContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select { // hangs until the client goes away or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}), ReadHeaderTimeout: 10 * time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	r := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: srv.URL, Key: "k", Secret: "s"}, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := r.MinuteBars(ctx, []string{"AAPL"}, time.Now().Add(-time.Hour), time.Now())
		errc <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not arrive")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("minute bars after cancel: got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("minute bars still waiting on the server 10s after its context ended")
	}
}
