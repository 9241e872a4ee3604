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
DEEPCOPY_GEN_VERSION := v0.37.2
DEEPCOPY_GEN := $(TOOLS_BIN)/deepcopy-gen-$(DEEPCOPY_GEN_VERSION)

FUZZTIME    ?= 1m

.PHONY: all help build test unit bench lint generate golden fuzz demo release clean

all: build

help:
	@echo "make build   build $(BIN) (version $(VERSION), commit $(COMMIT))"
	@echo "make test    everything: unit tests, then end-to-end tests on a local control plane (race detector on)"
	@echo "make unit    unit tests only (race detector on), seconds"
	@echo "make lint    gofmt, go vet, staticcheck $(STATICCHECK_VERSION), generated code current"
	@echo "make generate   deep copies of api/v1alpha1 (deepcopy-gen $(DEEPCOPY_GEN_VERSION))"
	@echo "make golden  rewrite every golden file (the cockpit's screens, the theme previews)"
	@echo "make bench   benchmarks with allocations"
	@echo "make fuzz    every fuzz target for $(FUZZTIME) each"
	@echo "make demo    the self-contained demo"
	@echo "make cluster / cluster-down / e2e   local control plane (hack/cluster.mk)"
	@echo "make e2e-scale   the cockpit over 200 rollouts and 10,000 pods in 20 Argo CD Applications, then with 200 background analyses: its figures (minutes)"
	@echo "make release   static binaries for $(RELEASE_PLATFORMS) in $(DIST)/, with SHA256SUMS (minutes each)"

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/roost

# The end-to-end half builds and caches its own control plane on first use
# (see hack/cluster.mk): nothing has to be installed beforehand.
test: unit e2e

# third_party/bubbletea is a module of its own: ./... does not reach it.
unit:
	$(GO) test -race -count=1 ./...
	cd third_party/bubbletea && $(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

$(STATICCHECK):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@mv $(TOOLS_BIN)/staticcheck $@

$(DEEPCOPY_GEN):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install k8s.io/code-generator/cmd/deepcopy-gen@$(DEEPCOPY_GEN_VERSION)
	@mv $(TOOLS_BIN)/deepcopy-gen $@

# A field added to an API type is copied only once the deep copies are regenerated.
generate: $(DEEPCOPY_GEN)
	hack/update-deepcopy.sh $(DEEPCOPY_GEN)

# The packages whose tests compare golden files and take -update.
GOLDEN_PKGS := ./tui/ ./themes/

golden:
	$(GO) test -count=1 $(GOLDEN_PKGS) -update
	@git status --short -- '*.golden'

lint: $(STATICCHECK) $(DEEPCOPY_GEN)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	hack/update-deepcopy.sh --check $(DEEPCOPY_GEN)
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/
	GO=$(GO) hack/check-datadog-confined.sh
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./test/e2e/
	cd third_party/bubbletea && $(GO) vet ./...
	GO=$(GO) hack/check-bubbletea.sh

# Runs each Fuzz target of each package on its own (go test -fuzz takes one).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# The demo needs no cluster and no account: a simulated cluster, Datadog and
# Bugsnag inside roost (see roost demo --help). DEMO_FLAGS passes flags, e.g.
# make demo DEMO_FLAGS="--scenario busy --speed 2".
demo: build
	$(BIN) demo $(DEMO_FLAGS)

# Static binaries for each platform, roost-VERSION-OS-ARCH, and their
# SHA256SUMS. One after the other whatever -j says: each is a cold build of
# the Datadog client, minutes and several GB of memory.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
DIST        := dist

release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for platform in $(RELEASE_PLATFORMS); do \
	  os=$${platform%/*}; arch=$${platform#*/}; \
	  echo "build $(DIST)/roost-$(VERSION)-$$os-$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
	    -o $(DIST)/roost-$(VERSION)-$$os-$$arch ./cmd/roost; \
	done
	cd $(DIST) && if command -v sha256sum >/dev/null; then sha256sum roost-*; else shasum -a 256 roost-*; fi > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

clean:
	rm -rf bin $(DIST)

-include hack/cluster.mk
