# headless-go make targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
# Circle's published documents for the conformance check. CI sets this to
# ../shared/upstream/circle; without it the check uses openapi/upstream/
# (filled by `make sync-specs`) and reports a skip if that is empty.
export CIRCLE_UPSTREAM_DIR

.PHONY: help generate check-generate vet test check bench quickstart sync-specs spec-diff conformance size lint

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

generate: ## Rebuild gen/ and the other generated files from the specs.
	$(GO) generate ./...

check-generate: ## Fail if committed generated code differs from a fresh generation.
	./scripts/check-generate.sh

vet: ## go vet every package.
	$(GO) vet ./...

test: ## Run every test with the race detector (conformance and contract tests included), each test binary within 15 minutes.
	$(GO) test -race -count=1 -timeout 15m ./...

conformance: ## Print the conformance report of our specs against Circle's documents.
	$(GO) run ./internal/cmd/conformance

quickstart: ## Run the quick start (against the embedded fake Circle unless CIRCLE_APP_TOKEN is set).
	$(GO) run ./examples/quickstart

# golangci-lint, pinned. `go run` fetches and builds it on first use and
# keeps the binary in the build cache, so CI (.ci/run) installs it through
# this target and later runs start at once.
GOLANGCI_LINT ?= github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
LINT_PKGS ?= ./...

lint: ## golangci-lint (pinned) with .golangci.yml on every package, then `unused` on the code without its tests.
	$(GO) run $(GOLANGCI_LINT) run $(LINT_PKGS)
	@# The run above counts what only the tests use as used: code a program
	@# never runs. This one finds it.
	$(GO) run $(GOLANGCI_LINT) run --tests=false --enable-only unused $(LINT_PKGS)

size: ## Check what importing circle costs a program: dependencies, stripped binary size, start-up allocation.
	$(GO) run ./internal/cmd/leanbin

check: vet check-generate lint test conformance quickstart size ## Everything CI runs.

BENCHSTAT ?= golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

bench: ## Benchmarks with their baselines in one run, then benchstat's ratios.
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./circle/ > bench.out
	$(GO) run $(BENCHSTAT) -col /impl bench.out

sync-specs: ## Download Circle's current documents into openapi/upstream/ and compare with upstream.lock.
	$(GO) run ./internal/cmd/specsync sync

spec-diff: ## Show what changed between the locked and the downloaded upstream documents.
	$(GO) run ./internal/cmd/specsync diff
