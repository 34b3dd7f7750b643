# finfeed — build, test and run. `make run` runs the whole pipeline locally; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
DYNALITE_DIR := tools/dynalite
BIN := bin

.PHONY: all run test test-unit fuzz deps vet fmt bench clean

all: test

## run: the whole pipeline on this machine (embedded Kafka, synthetic market session), no AWS, no keys
run:
	$(GO) run ./cmd/feed local

## test: vet, every test (Kafka on kfake, DynamoDB on dynalite), and a short fuzz of the record decoder
test: deps vet
	$(GO) test -count=1 ./...
	$(MAKE) fuzz FUZZTIME=10s

FUZZTIME ?= 30s
## fuzz: the raw-bar decoder's fuzz target (FUZZTIME=10m for a longer run)
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRaw$$' -fuzztime=$(FUZZTIME) ./shared/bar

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

## deps: what tests need beyond Go modules (dynalite from npm, pinned by its lock file)
deps: $(DYNALITE_DIR)/node_modules/.package-lock.json $(BIN)/zinc

$(DYNALITE_DIR)/node_modules/.package-lock.json: $(DYNALITE_DIR)/package.json $(DYNALITE_DIR)/package-lock.json
	npm ci --prefix $(DYNALITE_DIR) --no-audit --no-fund
	@touch $@

ZINC_DIR := tools/zinc
.PHONY: zinc
## zinc: the ZincSearch wrapper (Elasticsearch-compatible test server, its own module) into bin/; rebuilt only
## when its sources change (a cold build takes about 2 minutes)
zinc: $(BIN)/zinc

$(BIN)/zinc: $(ZINC_DIR)/go.mod $(ZINC_DIR)/go.sum $(wildcard $(ZINC_DIR)/*.go)
	cd $(ZINC_DIR) && $(GO) build -trimpath -o $(CURDIR)/$(BIN)/zinc .

clean:
	rm -rf $(BIN) .aws-sam
