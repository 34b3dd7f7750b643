package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/finfeed/finfeed/shared/loadtest"
)

func init() {
	register("bench", "push bars through the local pipeline and print throughput and end-to-end latency", runBench)
}

// runBench is `feed bench --bars N [--rate R]`: one `name value` pair per line.
func runBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bars := fs.Int("bars", 10000, "bars to push into raw")
	rate := fs.Float64("rate", 1000, "bars per second (0: as fast as possible)")
	batchSize := fs.Int("batch-size", 100, "event-source mapping batch size")
	window := fs.Duration("batch-window", 0, "event-source mapping batching window")
	badEvery := fs.Int("bad-every", 100, "make every n-th bar invalid to exercise the dead-letter path (0: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed bench --bars N [--rate R] [--batch-size N] [--batch-window D] [--bad-every N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *bars <= 0 || *rate < 0 || *badEvery < 0 {
		fs.Usage()
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	res, err := loadtest.Run(ctx, loadtest.Config{Bars: *bars, Rate: *rate, BadEvery: *badEvery, BatchSize: *batchSize, BatchWindow: *window}, log)
	if err != nil {
		fmt.Fprintf(stderr, "feed bench: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "feed bench: %d bars at %v/s (0 = unthrottled), batch size %d, window %v: %d enriched, %d dead letters in %v\n",
		*bars, *rate, *batchSize, *window, res.Records, res.DLQ, res.Elapsed.Round(time.Millisecond))
	for _, p := range res.Pairs() {
		fmt.Fprintf(stdout, "%s %s\n", p[0], p[1])
	}
	return exitOK
}
