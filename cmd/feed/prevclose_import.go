package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/sync/errgroup"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// importChunk is how many closes one writer puts at a time (40 BatchWriteItem requests).
const importChunk = 1000

// importWriters bounds the chunks written at once.
const importWriters = 4

// importResult is what `feed prevclose import` prints.
type importResult struct {
	File      string `json:"file"`
	Table     string `json:"table"`
	Closes    int    `json:"closes"`
	Symbols   int    `json:"symbols"`
	Snapshots int    `json:"snapshots"`
}

// runPrevCloseImport is `feed prevclose import --csv FILE --table NAME [--create-table]`: a `symbol,date,close`
// file into the previous-close table with the store code the functions use (AWS_ENDPOINT_URL_DYNAMODB and
// AWS_REGION as for them), then the snapshots rebuilt. The whole file is checked before anything is written: a
// bad row fails the import with every bad line reported (exit 2). Progress goes to stderr, on a terminal as one
// updating line, otherwise as a plain line every tenth of the file.
func runPrevCloseImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed prevclose import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("csv", "", "the symbol,date,close file (header line first)")
	table := fs.String("table", os.Getenv("PREV_CLOSE_TABLE"), "DynamoDB table (default $PREV_CLOSE_TABLE)")
	create := fs.Bool("create-table", false, "create the table first if it does not exist")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed prevclose import --csv FILE --table NAME [--create-table]\n"+
			"AWS from the usual chain; AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *file == "" || *table == "" {
		fmt.Fprintln(stderr, "feed prevclose import: --csv and --table are required, nothing else")
		fs.Usage()
		return exitUsage
	}
	f, err := os.Open(*file)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose import: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	// first pass: check every row, count them and their symbols
	total := 0
	symbols := map[string]bool{}
	if err := prevclose.ScanCSV(f, func(c prevclose.Close) error {
		total++
		symbols[c.Symbol] = true
		return nil
	}); err != nil {
		fmt.Fprintf(stderr, "feed prevclose import: %s: %v\n", *file, err)
		return exitUsage
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose import: %v\n", err)
		return exitFailure
	}
	client := dynamodb.NewFromConfig(awsCfg.AWS)
	if *create {
		if err := prevclose.CreateTable(ctx, client, *table); err != nil {
			fmt.Fprintf(stderr, "feed prevclose import: %v\n", err)
			return exitFailure
		}
	}
	store := prevclose.NewDynamoDB(client, *table)
	store.Source = "csv:" + filepath.Base(*file)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		fmt.Fprintf(stderr, "feed prevclose import: %s: %v\n", *file, err)
		return exitFailure
	}
	prog := newProgress(stderr, total)
	if err := importCloses(ctx, f, store, prog); err != nil {
		prog.done()
		fmt.Fprintf(stderr, "feed prevclose import: %v\n", err)
		return exitFailure
	}
	prog.done()
	list := make([]string, 0, len(symbols))
	for s := range symbols {
		list = append(list, s)
	}
	snap, err := store.RebuildSnapshots(ctx, list)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose import: %d closes written, then: %v\n", total, err)
		return exitFailure
	}
	res := importResult{File: *file, Table: *table, Closes: total, Symbols: len(symbols), Snapshots: snap.Dates}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "feed prevclose import: write result: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// importCloses writes the file's closes in chunks, importWriters at a time.
func importCloses(ctx context.Context, r io.Reader, store *prevclose.DynamoDB, prog *progress) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(importWriters)
	put := func(chunk []prevclose.Close) {
		g.Go(func() error {
			if err := store.Put(gctx, chunk); err != nil {
				return err
			}
			prog.add(len(chunk))
			return nil
		})
	}
	chunk := make([]prevclose.Close, 0, importChunk)
	err := prevclose.ScanCSV(r, func(c prevclose.Close) error {
		if gctx.Err() != nil {
			return context.Cause(gctx)
		}
		chunk = append(chunk, c)
		if len(chunk) == importChunk {
			put(chunk)
			chunk = make([]prevclose.Close, 0, importChunk)
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		put(chunk)
	}
	return errors.Join(err, g.Wait())
}

// progress reports closes written: on a terminal one line rewritten at most every 200 ms, otherwise a plain line
// at every tenth of the total.
type progress struct {
	out     io.Writer
	tty     bool
	total   int
	written atomic.Int64
	mu      sync.Mutex
	last    time.Time
	tenth   int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{out: w, total: max(total, 1)}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) add(n int) {
	w := int(p.written.Add(int64(n)))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond || w == p.total {
			p.last = now
			fmt.Fprintf(p.out, "\r\x1b[2Kimported %d of %d closes (%d%%)", w, p.total, w*100/p.total)
		}
		return
	}
	if t := w * 10 / p.total; t > p.tenth {
		p.tenth = t
		fmt.Fprintf(p.out, "imported %d of %d closes (%d%%)\n", w, p.total, w*100/p.total)
	}
}

// done ends the terminal line.
func (p *progress) done() {
	if p.tty && !p.last.IsZero() {
		fmt.Fprintln(p.out)
	}
}

// runPrevCloseSnapshots is `feed prevclose snapshots --table NAME [--symbols S,..]`: rebuilds the table's per-date
// snapshots from its items, for the symbols given and those already in the newest snapshot (what the loader and
// import do after writing; for operators after writing closes some other way). It prints the result as JSON.
func runPrevCloseSnapshots(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed prevclose snapshots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", os.Getenv("PREV_CLOSE_TABLE"), "DynamoDB table (default $PREV_CLOSE_TABLE)")
	symbols := fs.String("symbols", "", "comma-separated symbols to include besides those already in the snapshots")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed prevclose snapshots --table NAME [--symbols S,..]\n"+
			"AWS from the usual chain; AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *table == "" {
		fmt.Fprintln(stderr, "feed prevclose snapshots: --table is required, nothing else")
		fs.Usage()
		return exitUsage
	}
	var list []string
	for s := range strings.SplitSeq(*symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if err := bar.ValidateSymbol(s); err != nil {
				fmt.Fprintf(stderr, "feed prevclose snapshots: --symbols: %v\n", err)
				return exitUsage
			}
			list = append(list, s)
		}
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose snapshots: %v\n", err)
		return exitFailure
	}
	res, err := prevclose.NewDynamoDB(dynamodb.NewFromConfig(awsCfg.AWS), *table).RebuildSnapshots(ctx, list)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose snapshots: %v\n", err)
		return exitFailure
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "feed prevclose snapshots: write result: %v\n", err)
		return exitFailure
	}
	return exitOK
}
