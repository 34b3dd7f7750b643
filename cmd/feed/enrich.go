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
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func init() {
	register("enrich", "enrich raw bars (JSON lines on stdin) to enriched bars on stdout", runEnrich)
}

// runEnrich is `feed enrich --prev-closes FILE [--threshold PCT]`: raw bars as JSON lines on stdin, enriched
// JSON lines on stdout in input order. An invalid line gets `line N: reason` on stderr and no output line.
// Exit 0 when every line was valid, 3 when some were rejected, 2 for usage errors or an unreadable file.
func runEnrich(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed enrich", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prevCloses := fs.String("prev-closes", "", "CSV file of previous closes: symbol,date,close with a header line (required)")
	threshold := fs.Float64("threshold", enrich.DefaultThreshold, "percent change at or beyond which a bar is Bullish or Bearish")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed enrich --prev-closes FILE [--threshold PCT] < raw.ndjson > enhanced.ndjson")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feed enrich: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	if *prevCloses == "" {
		fmt.Fprintln(stderr, "feed enrich: --prev-closes is required")
		fs.Usage()
		return exitUsage
	}
	rules := enrich.Rules{Threshold: *threshold}
	if err := rules.Validate(); err != nil {
		fmt.Fprintf(stderr, "feed enrich: --threshold: %v\n", err)
		return exitUsage
	}
	store, err := prevclose.LoadCSVFile(*prevCloses)
	if err != nil {
		fmt.Fprintf(stderr, "feed enrich: %v\n", err)
		return exitUsage
	}
	e := &enrich.Enricher{Rules: rules, Store: store}
	rejected, err := enrichLines(ctx, e, stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "feed enrich: %v\n", err)
		return exitFailure
	}
	if rejected > 0 {
		return exitRejected
	}
	return exitOK
}

// enrichLines streams stdin to stdout and returns how many lines were rejected. Blank lines carry no record and
// are skipped. The indicators come from the enrich function's own fold, fed in input order as one partition:
// every line bar.DecodeRaw accepts, whether or not its previous close is known.
func enrichLines(ctx context.Context, e *enrich.Enricher, in io.Reader, out, errOut io.Writer) (int, error) {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	var buf []byte
	rejected := 0
	state := fold.New()
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// a long line: collect it whole
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
				res := state.Apply(&raw)
				en, eerr := e.Enrich(ctx, &raw)
				en.Indicators = res.Indicators
				switch {
				case errors.Is(eerr, bar.ErrInvalid):
					rejected++
					fmt.Fprintf(errOut, "line %d: %v\n", lineNo, eerr)
				case eerr != nil:
					return rejected, eerr
				default:
					buf = bar.AppendEnriched(buf[:0], &en)
					buf = append(buf, '\n')
					if _, werr := w.Write(buf); werr != nil {
						return rejected, fmt.Errorf("write stdout: %w", werr)
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return rejected, fmt.Errorf("write stdout: %w", err)
	}
	return rejected, nil
}
