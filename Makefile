# finfeed — build, test and run. `make run` runs the whole pipeline locally; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
DYNALITE_DIR := tools/dynalite
BIN := bin
CFNSPEC_DIR := tools/cfnspec
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d

.PHONY: all run test test-unit fuzz deps vet fmt bench bench-market bench-smoke clean contract screenshot

all: test

## run: the whole pipeline on this machine (embedded Kafka, synthetic market session), no AWS, no keys
run:
	$(GO) run ./cmd/feed local

## test: vet, every test (Kafka on kfake, DynamoDB on dynalite; tools/jsonbench's codec-equivalence tests in
## their own module), a short fuzz of the record and indicator-state decoders, and the customer contract checked by independent tools
test: deps vet
	$(GO) test -count=1 ./...
	$(MAKE) bench-smoke
	cd tools/jsonbench && GOEXPERIMENT=jsonv2 $(GO) test -count=1 .
	$(MAKE) fuzz FUZZTIME=10s
	$(MAKE) contract

## bench-smoke: every benchmark once (-benchtime=1x): they check their own results (a benchmark whose input the
## handler starts to reject fails instead of timing the dead-letter path); numbers come from `make bench`
bench-smoke:
	@out=$$($(GO) test -count=1 -run='^$$' -bench=. -benchtime=1x ./... 2>&1) || { echo "$$out" | grep -Ev '^(Benchmark|goos|goarch|pkg|cpu|PASS|ok |\? )'; exit 1; }; echo "bench-smoke: every benchmark ran once"

## screenshot: docs/chart.png, the live chart `feed local` serves, from a real run: the browser test
## (TestLocalChartInBrowser: the synthetic session in `feed local`, the page in headless chromium) saves it
screenshot:
	FINFEED_SCREENSHOT=$(CURDIR)/docs/chart.png $(GO) test -count=1 -run '^TestLocalChartInBrowser$$' ./cmd/feed

CONTRACT_DIR := tools/asyncapi
FIXTURES := shared/dev/fixtures/testdata
## contract: docs/asyncapi.yaml through the official AsyncAPI parser (errors fail, warnings print), the schema
## files compiled strictly by ajv, `feed enrich`'s output on the seed sample and the JPM fixture (previous
## close known and unknown) validated by ajv against docs/schemas/enhanced.schema.json, and `feed candles`' output
## (finals and partials of JPM, finals of FXY and INDA) against docs/schemas/candle.schema.json
contract: $(CONTRACT_DIR)/node_modules/.package-lock.json
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && set -e && \
	$(GO) build -o "$$tmp/feed" ./cmd/feed && \
	"$$tmp/feed" enrich --prev-closes $(FIXTURES)/seed-sample.prev-closes.csv < $(FIXTURES)/seed-sample.raw.ndjson > "$$tmp/seed.ndjson" && \
	"$$tmp/feed" enrich --prev-closes $(FIXTURES)/jpm.prev-closes.csv < $(FIXTURES)/jpm-2024-10-30_31.raw.ndjson > "$$tmp/jpm.ndjson" && \
	"$$tmp/feed" candles < $(FIXTURES)/jpm-2024-10-30_31.raw.ndjson > "$$tmp/jpm.candles.ndjson" && \
	"$$tmp/feed" candles --partial < $(FIXTURES)/jpm-2024-10-30_31.raw.ndjson > "$$tmp/jpm.partial.candles.ndjson" && \
	gzip -dc $(FIXTURES)/fxy-inda-2025-02_04.raw.ndjson.gz | "$$tmp/feed" candles > "$$tmp/fxy-inda.candles.ndjson" && \
	node $(CONTRACT_DIR)/check.mjs docs/asyncapi.yaml --enhanced "$$tmp/seed.ndjson" --enhanced "$$tmp/jpm.ndjson" \
		--raw $(FIXTURES)/seed-sample.raw.ndjson --raw $(FIXTURES)/jpm-2024-10-30_31.raw.ndjson \
		--candles "$$tmp/jpm.candles.ndjson" --candles "$$tmp/jpm.partial.candles.ndjson" --candles "$$tmp/fxy-inda.candles.ndjson"

FUZZTIME ?= 30s
## fuzz: the raw-bar decoder's, the indicator-state and the candle-state decoders' fuzz targets (FUZZTIME=10m for a
## longer run)
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRaw$$' -fuzztime=$(FUZZTIME) ./shared/bar
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeBinary$$' -fuzztime=$(FUZZTIME) ./shared/indicators
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeBinary$$' -fuzztime=$(FUZZTIME) ./shared/candles

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

## deps: what tests need beyond Go modules (dynalite, the CloudFormation spec and the AsyncAPI parser with ajv
## from npm, pinned by their lock files; the Lambda Runtime Interface Emulator into bin/)
deps: $(DYNALITE_DIR)/node_modules/.package-lock.json $(CFNSPEC_DIR)/node_modules/.package-lock.json $(CONTRACT_DIR)/node_modules/.package-lock.json $(BIN)/aws-lambda-rie $(BIN)/zinc

$(DYNALITE_DIR)/node_modules/.package-lock.json: $(DYNALITE_DIR)/package.json $(DYNALITE_DIR)/package-lock.json
	npm ci --prefix $(DYNALITE_DIR) --no-audit --no-fund
	@touch $@

# --ignore-scripts: nothing in the contract tools needs an install script (one dependency's only script is
# install telemetry)
$(CONTRACT_DIR)/node_modules/.package-lock.json: $(CONTRACT_DIR)/package.json $(CONTRACT_DIR)/package-lock.json
	npm ci --prefix $(CONTRACT_DIR) --no-audit --no-fund --ignore-scripts
	@touch $@

ZINC_DIR := tools/zinc
.PHONY: zinc
## zinc: the ZincSearch wrapper (Elasticsearch-compatible test server, its own module) into bin/; rebuilt only
## when its sources change (a cold build takes about 2 minutes)
zinc: $(BIN)/zinc

$(BIN)/zinc: $(ZINC_DIR)/go.mod $(ZINC_DIR)/go.sum $(wildcard $(ZINC_DIR)/*.go)
	cd $(ZINC_DIR) && $(GO) build -trimpath -o $(CURDIR)/$(BIN)/zinc .

BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHCOUNT ?= 10
## bench: the enrich hot path and the candles' share of it against the floor (benchstat: EnrichBatch10k and
## Candles10k vs Floor10k), the handler producing to kfake, a cold container's indicator state at whole-market
## scale (checkpoint from S3 on gofakes3 + 5 minutes of one partition replayed from kfake), a cold batch's previous
## closes for 8,000 symbols from DynamoDB (dynalite + 4 ms a request), `feed bench`
## end to end at 1,000 bars/s, and each function's cold start and size under the Runtime Interface Emulator.
## docs/performance.md explains the numbers.
bench: deps
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench='^Benchmark(Floor10k|FloorIndicators10k|EnrichBatch10k|Candles10k)$$' -benchmem -benchtime=20x -count=$(BENCHCOUNT) ./shared/enrichfn > $(BIN)/bench-enrich.txt
	$(BENCHSTAT) -col .name $(BIN)/bench-enrich.txt
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./shared/bar > $(BIN)/bench-codec.txt
	$(BENCHSTAT) $(BIN)/bench-codec.txt
	$(GO) test -run='^$$' -bench='^BenchmarkHandler10k$$' -benchmem -benchtime=20x -count=6 ./shared/enrichfn > $(BIN)/bench-handler.txt
	$(BENCHSTAT) $(BIN)/bench-handler.txt
	$(GO) test -run='^$$' -bench='^BenchmarkColdStart8k$$' -benchtime=5x -count=3 ./shared/enrichfn | grep -E '^Benchmark'
	$(GO) test -run='^$$' -bench='^BenchmarkColdBatch8k$$' -benchtime=10x -count=1 ./shared/prevclose > $(BIN)/bench-prevclose.txt
	$(BENCHSTAT) $(BIN)/bench-prevclose.txt
	$(GO) run ./cmd/feed bench --bars 10000 --rate 1000
	$(GO) test -count=1 -v -run='^(TestRuntimeEmulator|TestLocalInvoke)$$' ./shared/dev/samtemplate | grep -E 'coldstart' | sed -E 's/^ +//'
	@$(MAKE) -s build
	@for f in $(BIN)/lambda/*/bootstrap; do echo "size $$(basename $$(dirname $$f)) linux/arm64 $$(stat -c %s $$f) bytes"; done

JSONBENCH_DIR := tools/jsonbench
.PHONY: bench-json
## bench-json: shared/bar's hand-written JSON codec against encoding/json/v2, goccy/go-json and bytedance/sonic,
## each wrapped to be as strict as bar (tools/jsonbench, its own module, so the product's go.mod stays clean): the
## tests that every wrapper writes bar's bytes and rejects what bar rejects, then decode, encode and the enrich hot
## path (JPM fixture, synthetic 10k batch) for every codec, BENCHCOUNT interleaved rounds, compared by benchstat
## (docs/performance.md)
# The rounds are interleaved (each runs every codec once) so that load from elsewhere falls on all codecs alike.
bench-json:
	@mkdir -p $(BIN)
	cd $(JSONBENCH_DIR) && GOEXPERIMENT=jsonv2 $(GO) test -count=1 .
	cd $(JSONBENCH_DIR) && GOEXPERIMENT=jsonv2 $(GO) test -c -o $(CURDIR)/$(BIN)/jsonbench.test .
	cd $(JSONBENCH_DIR) && for i in $$(seq $(BENCHCOUNT)); do $(CURDIR)/$(BIN)/jsonbench.test -test.run='^$$' -test.bench=. -test.benchmem; done > $(CURDIR)/$(BIN)/bench-json.txt
	$(BENCHSTAT) -col /codec $(BIN)/bench-json.txt

MARKET_SYMBOLS ?= 8000
MARKET_MINUTES ?= 10
DYNAMODB_LATENCY ?= 4ms
# the event-source settings docs/performance.md recommends for the whole market
MARKET_FLAGS ?= --partitions 6 --batch-size 2000 --batch-window 0 --bad-every 0
DYNALITE_PORT ?= 18567
# $(call with_dynalite,COMMAND): COMMAND with a fresh in-memory dynalite on DYNALITE_PORT, the AWS SDK pointed at it
define with_dynalite
	@set -euo pipefail; \
	node $(DYNALITE_DIR)/node_modules/dynalite/cli.js --host 127.0.0.1 --port $(DYNALITE_PORT) --createTableMs 0 & dyn=$$!; \
	trap 'kill $$dyn' EXIT; \
	for i in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$(DYNALITE_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(DYNALITE_PORT) AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local \
		AWS_SECRET_ACCESS_KEY=local AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null; \
	$(1)
endef

## bench-market: the whole market on this machine (not part of `make test`): MARKET_SYMBOLS bars in a burst every
## simulated minute for MARKET_MINUTES minutes, previous closes from a DynamoDB table on dynalite (in memory,
## seeded first) with DYNAMODB_LATENCY added to every request; prints burst latency and DynamoDB requests
bench-market: $(DYNALITE_DIR)/node_modules/.package-lock.json
	$(call with_dynalite,$(GO) run ./cmd/feed bench --symbols $(MARKET_SYMBOLS) --minutes $(MARKET_MINUTES) \
		--prev-closes-table market --seed --dynamodb-latency $(DYNAMODB_LATENCY) $(MARKET_FLAGS))

PLOT_SYMBOLS ?= 1000,2000,4000,8000,11000
PLOT_MINUTES ?= 10
.PHONY: plots
## plots: docs/burst-latency.png, burst latency against the symbol count, from a measured run of each of
## PLOT_SYMBOLS (as bench-market, PLOT_MINUTES minutes each)
plots: $(DYNALITE_DIR)/node_modules/.package-lock.json
	$(call with_dynalite,$(GO) run ./cmd/feed bench --sweep $(PLOT_SYMBOLS) --minutes $(PLOT_MINUTES) \
		--prev-closes-table market --seed --dynamodb-latency $(DYNAMODB_LATENCY) $(MARKET_FLAGS) --plot docs/burst-latency.png)

clean:
	rm -rf $(BIN) .aws-sam

# ---- deployment (template.yaml, samconfig.toml; docs/deploy.md) ------------------------------------------------

$(CFNSPEC_DIR)/node_modules/.package-lock.json: $(CFNSPEC_DIR)/package.json $(CFNSPEC_DIR)/package-lock.json
	npm ci --prefix $(CFNSPEC_DIR) --no-audit --no-fund
	@touch $@

$(BIN)/aws-lambda-rie:
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set (BuildMethod: makefile). LAMBDA_GOARCH=amd64
# builds for this machine (the template tests run bootstraps under the Runtime Interface Emulator).
ARTIFACTS_DIR ?= $(CURDIR)/$(BIN)/lambda/$(patsubst build-%,%,$@)
LAMBDA_GOARCH ?= arm64
LAMBDA_BUILD = GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap
LAMBDAS := EnrichFunction IndexFunction PrevCloseFunction ProvisionFunction
ENV ?= dev

.PHONY: build $(addprefix build-,$(LAMBDAS)) deploy delete deploy-customer invoke-enrich invoke-index invoke-prevclose invoke-provision

## build: every function's bootstrap (linux/arm64) under bin/lambda/<LogicalId>/
build: $(addprefix build-,$(LAMBDAS))

build-EnrichFunction:
	$(LAMBDA_BUILD) ./functions/enrich
build-IndexFunction:
	$(LAMBDA_BUILD) ./functions/index
build-PrevCloseFunction:
	$(LAMBDA_BUILD) ./functions/prevclose
build-ProvisionFunction:
	$(LAMBDA_BUILD) ./functions/provision

## deploy: sam build + sam deploy of the provider stack (ENV=dev|prod, see samconfig.toml)
deploy:
	sam build --config-env $(ENV)
	sam deploy --config-env $(ENV)

## delete: remove the provider stack (ENV=dev|prod; sam asks before it deletes). The previous-close table is kept on purpose (DeletionPolicy
## Retain: years of closes); docs/deploy.md "Tear down" removes it and the rest by hand.
delete:
	sam delete --config-env $(ENV)

## deploy-customer: the customer-account stack (run with the customer's credentials; see docs/deploy.md).
## SAM looks for samconfig.toml beside --template-file (customer/), hence the absolute --config-file.
deploy-customer:
	sam deploy --config-env customer --config-file $(CURDIR)/samconfig.toml --template-file customer/template.yaml

# ---- sam local invoke against the local stack (docs/deploy.md "Local runs of the functions") ----------------------
# events/*.env.json point the functions at the host as a container sees it (host.docker.internal; Linux needs the
# --add-host below, Docker Desktop has the name) and log in with the passwords below: keep them in step.
LOCAL_HOST ?= 0.0.0.0
LOCAL_DIAL := $(if $(filter 0.0.0.0,$(LOCAL_HOST)),127.0.0.1,$(LOCAL_HOST))
LOCAL_ADVERTISE ?= host.docker.internal
LOCAL_SERVICE_PASSWORD ?= local-service-Pa55
LOCAL_OPERATOR_PASSWORD ?= local-operator-Pa55
LOCAL_OPENSEARCH_PASSWORD ?= Finfeed-local-1
LOCAL_TABLE ?= finfeed-dev-prev-closes
LOCAL_CLOSES ?= $(FIXTURES)/seed-sample.prev-closes.csv
LOCAL_KAFKA_FLAGS ?=
FEED ?= $(GO) run ./cmd/feed
SAM_LOCAL_INVOKE := sam local invoke --add-host host.docker.internal:host-gateway
# $(call wait_port,PORT): wait up to 3 minutes (a cold `go run` builds first) until something listens on LOCAL_DIAL:PORT
wait_port = for i in $$(seq 1800); do (exec 3<>/dev/tcp/$(LOCAL_DIAL)/$(1)) 2>/dev/null && break; sleep 0.1; done

.PHONY: local-kafka local-dynamodb local-opensearch

## local-kafka: `feed local` reachable from containers: listens on LOCAL_HOST:9092, advertises host.docker.internal,
## the service and operator principals with the passwords of events/*.env.json (LOCAL_KAFKA_FLAGS adds flags)
local-kafka:
	$(FEED) local --listen $(LOCAL_HOST):9092 --advertise $(LOCAL_ADVERTISE) --service-password $(LOCAL_SERVICE_PASSWORD) \
		--operator-password $(LOCAL_OPERATOR_PASSWORD) $(LOCAL_KAFKA_FLAGS)

## local-dynamodb: dynalite on LOCAL_HOST:8000 (in memory) with the previous-close table LOCAL_TABLE created and the
## closes of LOCAL_CLOSES loaded by `feed prevclose import` (default: the closes events/enrich-msk.json needs);
## runs until Ctrl-C
local-dynamodb: $(DYNALITE_DIR)/node_modules/.package-lock.json
	@set -euo pipefail; \
	node $(DYNALITE_DIR)/node_modules/dynalite/cli.js --host $(LOCAL_HOST) --port 8000 --createTableMs 0 & dyn=$$!; \
	trap 'kill $$dyn 2>/dev/null || true' EXIT; \
	$(call wait_port,8000); \
	AWS_ENDPOINT_URL_DYNAMODB=http://$(LOCAL_DIAL):8000 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		$(FEED) prevclose import --csv $(LOCAL_CLOSES) --table $(LOCAL_TABLE) --create-table; \
	echo "local DynamoDB: http://$(LOCAL_DIAL):8000 (containers: http://host.docker.internal:8000), table $(LOCAL_TABLE) loaded from $(LOCAL_CLOSES); Ctrl-C to stop"; \
	wait $$dyn

## local-opensearch: the ZincSearch wrapper (an Elasticsearch-compatible stand-in, bin/zinc) on LOCAL_HOST:9200 with
## the admin login of events/index.env.json, its data in bin/local-opensearch (emptied at each start); runs until Ctrl-C
local-opensearch: $(BIN)/zinc
	@rm -rf $(BIN)/local-opensearch && mkdir -p $(BIN)/local-opensearch
	@ZINC_DATA_PATH=$(BIN)/local-opensearch ZINC_FIRST_ADMIN_USER=admin ZINC_FIRST_ADMIN_PASSWORD=$(LOCAL_OPENSEARCH_PASSWORD) ZINC_TELEMETRY=false \
		ZINC_SENTRY=false ZINC_SHARD_NUM=1 GIN_MODE=release $(BIN)/zinc -addr $(LOCAL_HOST):9200

## invoke-<fn>: sam local invoke with the function's event fixture and env-vars file, against local-kafka,
## local-dynamodb and local-opensearch (or a real OpenSearch with that login); invoke-provision also listens on
## 8089 for the custom resource's response (events/provision-create.json's ResponseURL) and checks it
invoke-enrich:
	sam build EnrichFunction && $(SAM_LOCAL_INVOKE) EnrichFunction -e events/enrich-msk.json --env-vars events/enrich.env.json
invoke-index:
	sam build IndexFunction && $(SAM_LOCAL_INVOKE) IndexFunction -e events/index-msk.json --env-vars events/index.env.json
invoke-prevclose:
	sam build PrevCloseFunction && $(SAM_LOCAL_INVOKE) PrevCloseFunction -e events/prevclose-scheduled.json --env-vars events/prevclose.env.json
invoke-provision:
	sam build ProvisionFunction
	@set -euo pipefail; \
	$(FEED) cfnresponse --listen $(LOCAL_HOST):8089 --event events/provision-create.json --timeout 10m & listener=$$!; \
	trap 'kill $$listener 2>/dev/null || true' EXIT; \
	$(call wait_port,8089); \
	$(SAM_LOCAL_INVOKE) ProvisionFunction -e events/provision-create.json --env-vars events/provision.env.json; \
	wait $$listener
