// Command prevclose is the Lambda function that loads split-adjusted previous closes from Alpaca into the
// DynamoDB table, on an EventBridge schedule or for a date range ({"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/finfeed/finfeed/shared/loader"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := loader.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	l, err := loader.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("start", "err", err, "config", cfg)
		os.Exit(1)
	}
	log.Info("ready", "config", cfg)
	lambda.Start(l.Invoke)
}
