# tokenhook — `make help` lists the targets.
#
# go.mod asks for Go 1.27; GOTOOLCHAIN=auto lets an older go command fetch
# that toolchain through the module proxy instead of refusing.
export GOTOOLCHAIN := auto
GO ?= go
PKGS := ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: demo
demo: ## run the whole scenario on loopback: hook server (embedded SQLite), Okta emulator, sample app
	$(GO) run ./cmd/tokenhook demo

.PHONY: run
run: ## run the hook server on the embedded SQLite default (./tokenhook.db)
	$(GO) run ./cmd/tokenhook serve

.PHONY: build
build: ## build ./bin/tokenhook
	$(GO) build -trimpath -o bin/tokenhook ./cmd/tokenhook

.PHONY: test
test: lint ## the whole suite: lint, every test with the race detector, a short pass of every fuzz target
	$(GO) test -race -shuffle=on -count=1 -timeout 15m $(PKGS)
	$(MAKE) fuzz FUZZTIME=3s

.PHONY: test-short
test-short: ## quick unit tests, no race detector, no end-to-end
	$(GO) test -short -shuffle=on -count=1 $(PKGS)

.PHONY: lint
lint: ## gofmt, go vet and staticcheck; the deployment manifests (deploy/, a module of its own)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool -modfile=tools/go.mod staticcheck $(PKGS)
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: fuzz
fuzz: ## run every fuzz target of every package for FUZZTIME each (default 30s)
	@set -e; for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for t in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $${FUZZTIME:-30s} -fuzzminimizetime 100x $$pkg; \
	  done; done

.PHONY: bench
bench: ## go test benchmarks of the hot path
	$(GO) test -run '^$$' -bench . -benchmem ./inlinehook/ ./internal/...

.PHONY: loadbench
loadbench: ## load benchmark against the Go and Express peers (see bench/README.md)
	$(GO) run ./bench/loadbench
