# roost: build, test, lint, bench, fuzz. `make help` lists the targets.

GO          ?= go
BIN         := bin/roost
VERSION     ?= $(shell git describe --tags --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Tools are installed once into the repository, never into the user's GOPATH.
TOOLS_BIN   := $(CURDIR)/.cache/bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_BIN)/staticcheck-$(STATICCHECK_VERSION)

# E2E: set to 1 (make test E2E=1) to run the end-to-end tests against a local
# control plane after the unit tests (see hack/cluster.mk).
E2E         ?=
FUZZTIME    ?= 1m

.PHONY: all help build test bench lint fuzz demo clean

all: build

help:
	@echo "make build   build $(BIN) (version $(VERSION), commit $(COMMIT))"
	@echo "make test    unit tests with the race detector (E2E=1 adds end-to-end tests)"
	@echo "make lint    gofmt, go vet, staticcheck $(STATICCHECK_VERSION)"
	@echo "make bench   benchmarks with allocations"
	@echo "make fuzz    every fuzz target for $(FUZZTIME) each"
	@echo "make demo    the self-contained demo"
	@echo "make cluster / cluster-down / e2e   local control plane (hack/cluster.mk)"

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/roost

test:
	$(GO) test -race -count=1 ./...
ifneq ($(E2E),)
	$(MAKE) e2e
endif

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

$(STATICCHECK):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@mv $(TOOLS_BIN)/staticcheck $@

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Runs each Fuzz target of each package on its own (go test -fuzz takes one).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

demo:
	@echo "make demo: the self-contained demo (roost demo) is not built yet." >&2
	@echo "Meanwhile, against a cluster: make build && bin/roost get -A" >&2
	@exit 2

clean:
	rm -rf bin

-include hack/cluster.mk
