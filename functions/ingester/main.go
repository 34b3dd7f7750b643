// Command ingester is the Fargate task that streams Alpaca minute bars into the raw Kafka topic. `ingester probe
// [/healthz|/readyz]` is its container health check (the image has no curl).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/finfeed/finfeed/shared/ingest"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(probe(os.Args[2:]))
	}
	cfg, err := ingest.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	svc, err := ingest.New(ctx, cfg, log, os.Stdout)
	if err != nil {
		log.Error("start", "err", err, "config", cfg)
		os.Exit(1)
	}
	log.Info("starting", "config", cfg, "health", svc.HealthAddr())
	if err := svc.Run(ctx); err != nil {
		log.Error("stopped", "err", err)
		os.Exit(1)
	}
}

func probe(args []string) int {
	path := "/healthz"
	if len(args) > 0 {
		path = args[0]
	}
	addr := ingest.LoadHealthAddr(os.Getenv)
	if addr == "" {
		fmt.Fprintln(os.Stderr, "probe: the health server is off (HEALTH_ADDR=off)")
		return 1
	}
	if err := ingest.Probe(context.Background(), addr, path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
