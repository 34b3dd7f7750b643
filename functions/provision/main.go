// Command provision is the CloudFormation custom resource that creates finfeed's Kafka topics and ACLs on MSK and,
// as the OpenSearch domain's admin, its index template, retention policy and the index function's write-only role.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/finfeed/finfeed/shared/provision"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := provision.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	h, err := provision.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("start", "err", err, "config", cfg)
		os.Exit(1)
	}
	log.Info("ready", "config", cfg)
	lambda.Start(h.Handle)
}
