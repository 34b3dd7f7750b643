package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/loader"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func init() {
	register("prevclose", "load split-adjusted daily closes from Alpaca into the previous-close table", runPrevClose)
}

// runPrevClose is `feed prevclose [--from YYYY-MM-DD --to YYYY-MM-DD]`: the loader function's code with its
// environment (ALPACA_*, SYMBOLS, PREV_CLOSE_TABLE; AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB), some of which
// flags may set. Without a range it does what the scheduled run does now. It prints the result as JSON.
// Exit 0 on success, 1 on failure, 2 for usage errors. `feed prevclose import` loads a CSV file instead
// (runPrevCloseImport); `feed prevclose snapshots` rebuilds the snapshots (runPrevCloseSnapshots).
func runPrevClose(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "import" {
		return runPrevCloseImport(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "snapshots" {
		return runPrevCloseSnapshots(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("feed prevclose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "first New York trading date to load, YYYY-MM-DD")
	to := fs.String("to", "", "last New York trading date to load, YYYY-MM-DD")
	env := map[string]*string{
		"SYMBOLS":          fs.String("symbols", "", "comma-separated symbols (default $SYMBOLS)"),
		"PREV_CLOSE_TABLE": fs.String("table", "", "DynamoDB table (default $PREV_CLOSE_TABLE)"),
		"ALPACA_DATA_URL":  fs.String("data-url", "", "Alpaca REST base URL (default $ALPACA_DATA_URL)"),
	}
	create := fs.Bool("create-table", false, "create the table first if it does not exist (local DynamoDB)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: feed prevclose [--from YYYY-MM-DD --to YYYY-MM-DD] [--symbols S,..] [--table T] [--data-url URL] [--create-table]\n"+
			"       feed prevclose import --csv FILE --table NAME [--create-table]\n"+
			"       feed prevclose snapshots --table NAME [--symbols S,..]\n"+
			"Alpaca keys come from ALPACA_API_KEY/ALPACA_API_SECRET or ALPACA_SECRET_ARN; AWS from the usual chain.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || (*from == "") != (*to == "") {
		fmt.Fprintln(stderr, "feed prevclose: give both --from and --to, or neither (the scheduled run)")
		fs.Usage()
		return exitUsage
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok && *v != "" {
			return *v
		}
		return os.Getenv(k)
	}
	cfg, err := loader.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose: invalid configuration:\n%v\n", err)
		return exitUsage
	}
	var fromDate, toDate bar.Date
	if *from != "" {
		var errF, errT error
		fromDate, errF = bar.ParseDate(*from)
		toDate, errT = bar.ParseDate(*to)
		if err := errors.Join(errF, errT); err != nil {
			fmt.Fprintf(stderr, "feed prevclose: %v\n", err)
			return exitUsage
		}
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose: %v\n", err)
		return exitFailure
	}
	if *create {
		if err := prevclose.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg.AWS), cfg.PrevCloseTable); err != nil {
			fmt.Fprintf(stderr, "feed prevclose: %v\n", err)
			return exitFailure
		}
	}
	l, err := loader.NewWith(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)), awsCfg)
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose: %v\n", err)
		return exitFailure
	}
	var res loader.Result
	if *from != "" {
		res, err = l.Range(ctx, fromDate, toDate)
	} else {
		res, err = l.Scheduled(ctx, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "feed prevclose: %v\n", err)
		if errors.Is(err, loader.ErrBadRange) {
			return exitUsage
		}
		return exitFailure
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "feed prevclose: write result: %v\n", err)
		return exitFailure
	}
	return exitOK
}
