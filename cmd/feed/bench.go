package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/finfeed/finfeed/shared/dev/loadtest"
	"github.com/finfeed/finfeed/shared/enrich"
)

func init() {
	register("bench", "push bars (a steady rate, or per-minute bursts of a whole market) through the local pipeline and print end-to-end latency", runBench)
}

// benchOptions are the flags of `feed bench`.
type benchOptions struct {
	cfg        loadtest.Config
	table      string
	seed       bool
	latency    time.Duration
	noProgress bool
	sweep      []int  // symbol counts, one market run each
	plot       string // PNG of burst latency against the symbol count
}

// runBench is `feed bench --bars N [--rate R]` or `feed bench --symbols N --minutes M`: one `name value` pair
// per line on stdout, progress on stderr.
func runBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	c := &o.cfg
	fs.IntVar(&c.Bars, "bars", 10000, "bars to push into raw at --rate")
	fs.Float64Var(&c.Rate, "rate", 1000, "bars per second (0: as fast as possible)")
	fs.IntVar(&c.Symbols, "symbols", 0, "a market of N symbols instead of --bars: one bar per symbol every simulated minute, in a burst")
	fs.IntVar(&c.Minutes, "minutes", 10, "simulated market minutes (with --symbols)")
	fs.DurationVar(&c.MinuteEvery, "minute", loadtest.DefaultMinuteEvery, "wall time of one simulated market minute (with --symbols; cache lifetimes are scaled to it)")
	fs.DurationVar(&c.Burst, "burst", loadtest.DefaultBurst, "each minute's bars are written spread over this time (with --symbols)")
	fs.IntVar(&c.BatchSize, "batch-size", 100, "event-source mapping batch size")
	fs.DurationVar(&c.BatchWindow, "batch-window", 0, "event-source mapping batching window")
	fs.IntVar(&c.Partitions, "partitions", loadtest.DefaultPartitions, "partitions of each topic")
	fs.IntVar(&c.Concurrency, "concurrency", 0, "execution environments running the enrich handler at once (0: one per partition)")
	fs.IntVar(&c.NoCloseEvery, "no-close-every", loadtest.DefaultNoCloseEvery, "one synthetic symbol in N has no previous close (Unknown), from the 20th on (0: none)")
	fs.IntVar(&c.BadEvery, "bad-every", 100, "make every n-th bar invalid to exercise the dead-letter path (0: none)")
	fs.StringVar(&o.table, "prev-closes-table", "", "previous closes from this DynamoDB table, as the Lambda reads them (AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION)")
	fs.BoolVar(&o.seed, "seed", false, "with --prev-closes-table: create the table if needed and write the synthetic symbols' closes first")
	fs.DurationVar(&o.latency, "dynamodb-latency", 0, "with --prev-closes-table: delay added to every DynamoDB request (e.g. 4ms for in-region latency against dynalite)")
	fs.BoolVar(&o.noProgress, "no-progress", false, "no progress on stderr")
	fs.Func("sweep", "comma-separated symbol counts: one market run each (instead of --symbols), every run's lines prefixed with its count", func(v string) error {
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a positive symbol count", f)
			}
			o.sweep = append(o.sweep, n)
		}
		return nil
	})
	fs.StringVar(&o.plot, "plot", "", "with --sweep: write a PNG of burst latency against the symbol count to FILE")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed bench --bars N [--rate R] | --symbols N [--minutes M] [--minute D] [--burst D]\n"+
			"                  [--batch-size N] [--batch-window D] [--partitions N] [--concurrency N] [--bad-every N]\n"+
			"                  [--prev-closes-table NAME [--seed] [--dynamodb-latency D]] [--no-progress]\n"+
			"       feed bench --sweep N,N,... [--plot FILE] [same flags as --symbols]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if err := o.validate(fs.NArg()); err != nil {
		fmt.Fprintf(stderr, "feed bench: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "feed bench: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func (o benchOptions) validate(nargs int) error {
	var errs []error
	c := o.cfg
	if nargs > 0 {
		errs = append(errs, errors.New("unexpected arguments"))
	}
	if c.Symbols < 0 || (c.Symbols == 0 && c.Bars <= 0) || (c.Symbols > 0 && c.Minutes <= 0) {
		errs = append(errs, errors.New("--bars, or --symbols and --minutes, must be positive"))
	}
	if c.Rate < 0 || c.BadEvery < 0 || c.NoCloseEvery < 0 || c.Concurrency < 0 || c.Partitions < 1 || o.latency < 0 {
		errs = append(errs, errors.New("--rate, --bad-every, --no-close-every, --concurrency and --dynamodb-latency must not be negative, --partitions positive"))
	}
	if len(o.sweep) > 0 && c.Symbols > 0 {
		errs = append(errs, errors.New("--sweep and --symbols: set one, not both"))
	}
	if o.plot != "" && len(o.sweep) == 0 {
		errs = append(errs, errors.New("--plot needs --sweep"))
	}
	if o.table == "" && (o.seed || o.latency > 0) {
		errs = append(errs, errors.New("--seed and --dynamodb-latency need --prev-closes-table"))
	}
	return errors.Join(errs...)
}

func bench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	cfg := o.cfg
	counts := o.sweep
	if len(counts) == 0 {
		counts = []int{cfg.Symbols} // 0: a steady-rate run
	}
	if o.table != "" {
		t, err := openPrevCloseTable(ctx, o.table, o.latency)
		if err != nil {
			return err
		}
		if o.seed {
			// a market's symbols and closes depend only on their index: the largest market covers the others
			closes := loadtest.NewMarket(max(slices.Max(counts), loadtest.RateSymbols), cfg.NoCloseEvery).Closes()
			if err := t.seed(ctx, closes); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "feed bench: wrote %d previous closes to table %s (%d requests)\n", len(closes), o.table, t.Requests())
		}
		cfg.NewStore = func(now func() time.Time) (enrich.PrevCloses, error) { return t.cache(now), nil }
		cfg.Requests = t.Requests
	}
	var points []loadtest.Point
	unexpected := 0
	for _, n := range counts {
		cfg.Symbols = n
		if n == 0 {
			cfg.Minutes = 0
		}
		res, err := benchOnce(ctx, cfg, o.noProgress, stderr)
		if err != nil {
			return err
		}
		for _, p := range res.Pairs() {
			if len(o.sweep) > 0 {
				fmt.Fprintf(stdout, "%d ", n)
			}
			fmt.Fprintf(stdout, "%s %s\n", p[0], p[1])
		}
		unexpected += res.Unexpected
		points = append(points, loadtest.Point{Symbols: n, Result: res})
	}
	if o.plot != "" {
		if err := writePlot(o, cfg, points); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "feed bench: wrote %s\n", o.plot)
	}
	if unexpected > 0 {
		return fmt.Errorf("%d enriched bars differ from the enrich rules applied to the market's previous closes", unexpected)
	}
	return nil
}

// benchOnce is one run, with progress on stderr.
func benchOnce(ctx context.Context, cfg loadtest.Config, noProgress bool, stderr io.Writer) (loadtest.Result, error) {
	progress := newBenchProgress(stderr)
	if !noProgress {
		cfg.Progress = progress.show
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	res, err := loadtest.Run(ctx, cfg, log)
	progress.done()
	if err != nil {
		return res, err
	}
	what := fmt.Sprintf("%d bars at %v/s (0 = unthrottled)", cfg.Bars, cfg.Rate)
	if cfg.Symbols > 0 {
		what = fmt.Sprintf("%d symbols x %d minutes (a minute every %v, each burst over %v)", cfg.Symbols, cfg.Minutes, cfg.MinuteEvery, cfg.Burst)
	}
	fmt.Fprintf(stderr, "feed bench: %s, batch size %d, window %v: %d enriched, %d dead letters in %v\n",
		what, cfg.BatchSize, cfg.BatchWindow, res.Records, res.DLQ, res.Elapsed.Round(time.Millisecond))
	return res, nil
}

// writePlot draws the sweep's burst latency, with the settings in the title.
func writePlot(o benchOptions, cfg loadtest.Config, points []loadtest.Point) error {
	store := "previous closes in memory"
	if o.table != "" {
		store = fmt.Sprintf("DynamoDB (dynalite) +%v per request", o.latency)
	}
	title := fmt.Sprintf("feed bench: %d minutes per point, %d partitions, batch %d, window %v, %s",
		cfg.Minutes, cfg.Partitions, cfg.BatchSize, cfg.BatchWindow, store)
	f, err := os.Create(o.plot)
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	if err := loadtest.PlotBurstLatency(f, title, points); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	return nil
}

// benchProgress shows progress on stderr: one line rewritten in place on a terminal, a plain line every 10 s
// otherwise.
type benchProgress struct {
	out  io.Writer
	tty  bool
	last time.Time
}

func newBenchProgress(w io.Writer) *benchProgress {
	p := &benchProgress{out: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *benchProgress) show(s loadtest.Progress) {
	if !p.tty && time.Since(p.last) < 10*time.Second {
		return
	}
	p.last = time.Now()
	left := "time left unknown"
	if s.ETA > 0 {
		left = fmt.Sprintf("about %v left", s.ETA.Round(time.Second))
	}
	line := fmt.Sprintf("feed bench: %swritten %d, enriched %d of %d, elapsed %v, %s",
		minuteOf(s), s.Written, s.Enriched, s.Want, s.Elapsed.Round(time.Second), left)
	if p.tty {
		fmt.Fprintf(p.out, "\r\x1b[2K%s", line)
		return
	}
	fmt.Fprintln(p.out, line)
}

func minuteOf(s loadtest.Progress) string {
	if s.Minutes == 0 {
		return ""
	}
	return fmt.Sprintf("minute %d/%d, ", s.Minute, s.Minutes)
}

// done clears the progress line on a terminal.
func (p *benchProgress) done() {
	if p.tty && !p.last.IsZero() {
		fmt.Fprint(p.out, "\r\x1b[2K")
	}
}
