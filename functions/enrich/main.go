// Command enrich is the Lambda function on the raw topic: it enriches minute bars with the percent change against
// the previous close and republishes them to the enhanced topic.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/finfeed/finfeed/shared/enrichfn"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := enrichfn.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	fn, err := enrichfn.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("start", "err", err, "config", cfg)
		os.Exit(1)
	}
	// one CloudWatch Embedded Metric Format line per batch in the function's log (freshness, lag, Unknown share)
	fn.EmitMetrics(os.Stdout, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	log.Info("ready", "config", cfg)
	lambda.StartWithOptions(fn.Handle, lambda.WithEnableSIGTERM(fn.Close))
}
