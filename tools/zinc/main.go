// Command zinc serves ZincSearch's Elasticsearch-compatible API at / so OpenSearch clients can talk to a real
// search server on this machine (tests and `feed local`); it adds the _count and _cluster/health endpoints and
// the Index State Management policy API (kept in memory, never run) that Zinc lacks. It is a test and development tool, not part of the product.
//
// Configuration is Zinc's own environment (ZINC_DATA_PATH, ZINC_FIRST_ADMIN_USER, ZINC_FIRST_ADMIN_PASSWORD,
// ZINC_TELEMETRY, ZINC_SENTRY, ...) plus -addr. Every request needs HTTP basic auth as a Zinc user. When the
// server is up it prints one line "zinc listening on http://HOST:PORT" to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/zincsearch/zincsearch/pkg/core"
	"github.com/zincsearch/zincsearch/pkg/metadata"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4080", "listen address (port 0 picks a free port)")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Printf("zinc: %v", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	gin.SetMode(gin.ReleaseMode)
	app := gin.New()
	app.Use(gin.Recovery())
	setRoutes(app)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("zinc listening on http://%s\n", ln.Addr())

	select {
	case err = <-served:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, closeStore())
}

// closeStore flushes and closes the indexes and Zinc's metadata store.
func closeStore() error {
	var errs []error
	if err := core.ZINC_INDEX_LIST.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close indexes: %w", err))
	}
	if err := metadata.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close metadata: %w", err))
	}
	return errors.Join(errs...)
}
