// Command index is the Lambda function on the enhanced topic: it bulk-indexes enriched bars into OpenSearch with
// deterministic ids, one index per symbol under one alias.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/finfeed/finfeed/shared/indexfn"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := indexfn.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	fn, err := indexfn.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("start", "err", err, "config", cfg)
		os.Exit(1)
	}
	log.Info("ready", "config", cfg)
	lambda.StartWithOptions(fn.Handle, lambda.WithEnableSIGTERM(fn.Close))
}
