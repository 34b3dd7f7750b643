package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
)

func init() {
	register("candles", "aggregate raw bars (JSON lines on stdin) to 5m/15m/1h candles on stdout", runCandles)
}

// runCandles is `feed candles [--interval 5m,15m,1h] [--grace D] [--horizon D] [--partial]`: raw bars of one
// partition as JSON lines on stdin, candle records on stdout in the order the candles topic gets them; at the
// end of input every open candle is published final. An invalid line gets `line N: reason` on stderr, and so
// does a bar that came too late for a candle (beyond the horizon; it is left out of that candle). Exit 0 when
// every line went into all its candles, 3 when some did not, 2 for usage errors, 1 when reading or writing fails.
func runCandles(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed candles", flag.ContinueOnError)
	fs.SetOutput(stderr)
	intervals := fs.String("interval", "5m,15m,1h", "candle intervals, comma-separated: 5m, 15m, 1h")
	grace := fs.Duration("grace", candles.DefaultGrace, "how far the watermark (latest bar start) must pass a candle's end before it is final")
	horizon := fs.Duration("horizon", candles.DefaultHorizon, "how long after it is final a candle still takes corrections and late bars")
	partial := fs.Bool("partial", false, "also print the running candle (final:false) on every bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed candles [--interval 5m,15m,1h] [--grace 1m] [--horizon 15m] [--partial] < raw.ndjson > candles.ndjson")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feed candles: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	ivs, err := candles.ParseIntervals(*intervals)
	if err != nil {
		fmt.Fprintf(stderr, "feed candles: --interval: %v\n", err)
		return exitUsage
	}
	cfg := candles.Config{Intervals: ivs, Grace: *grace, Horizon: *horizon, Partial: *partial}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "feed candles: %v\n", err)
		return exitUsage
	}
	if *horizon == 0 {
		fmt.Fprintln(stderr, "feed candles: --horizon must be positive")
		return exitUsage
	}
	rejected, err := candleLines(ctx, candles.NewPartition(cfg), stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "feed candles: %v\n", err)
		return exitFailure
	}
	if rejected > 0 {
		return exitRejected
	}
	return exitOK
}

// candleLines streams stdin through p to stdout and returns how many lines were rejected or too late for a
// candle. Blank lines carry no record and are skipped.
func candleLines(ctx context.Context, p *candles.Partition, in io.Reader, out, errOut io.Writer) (int, error) {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	var buf []byte
	write := func(cs []candles.Candle) error {
		for i := range cs {
			buf = candles.AppendCandle(buf[:0], &cs[i])
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
		}
		return nil
	}
	rejected := 0
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			return rejected, err
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return rejected, fmt.Errorf("read stdin: %w", err)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			raw, derr := bar.DecodeRaw(trimmed)
			if derr != nil {
				rejected++
				fmt.Fprintf(errOut, "line %d: %v\n", lineNo, derr)
			} else {
				late := p.TooLate()
				if werr := write(p.Apply(&raw)); werr != nil {
					return rejected, werr
				}
				if p.TooLate() != late {
					rejected++
					fmt.Fprintf(errOut, "line %d: too late: %s %s is beyond the horizon of a final candle and left out of it\n",
						lineNo, raw.Symbol, raw.Time.Format(bar.TimestampLayout))
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := write(p.Close()); err != nil {
		return rejected, err
	}
	if err := w.Flush(); err != nil {
		return rejected, fmt.Errorf("write stdout: %w", err)
	}
	return rejected, nil
}
