# Local control plane and end-to-end tests (see internal/cluster).
# Included by the Makefile (-include hack/cluster.mk).

GO          ?= go
E2E_TIMEOUT ?= 30m

.PHONY: cluster cluster-down e2e e2e-scale e2e-scale-clusters

# Start a local cluster in the background (first run builds it from the Go
# module proxy, several minutes; cached afterwards). Prints the KUBECONFIG line.
cluster:
	@$(GO) run ./internal/cluster/cmd/roost-cluster up

cluster-down:
	@$(GO) run ./internal/cluster/cmd/roost-cluster down

# End-to-end tests: each run starts its own cluster, one namespace per test.
# The binaries are built first, outside go test's -timeout: a cold build
# takes minutes (tens on a loaded 2-core runner); warm, this step is instant.
e2e:
	@$(GO) run ./internal/cluster/cmd/roost-cluster build >/dev/null
	$(GO) test -tags e2e -race -count=1 -timeout $(E2E_TIMEOUT) -v ./test/e2e/

# The cockpit's figures at scale (200 Rollouts x 50 pods, 2,000 ConfigMaps in
# one namespace): a benchmark run once, minutes long; not part of `make test`.
e2e-scale:
	@$(GO) run ./internal/cluster/cmd/roost-cluster build >/dev/null
	$(GO) test -tags e2e -run '^$$' -bench CockpitAtScale -benchtime 1x -timeout 30m ./test/e2e/

# The cockpit across two clusters (a second control plane is started), 100
# Rollouts x 50 pods in each, against one cluster holding all 200: a
# benchmark run once, minutes long; not part of `make test`.
e2e-scale-clusters:
	@$(GO) run ./internal/cluster/cmd/roost-cluster build >/dev/null
	$(GO) test -tags e2e -run '^$$' -bench CockpitAcrossClusters -benchtime 1x -timeout 30m ./test/e2e/
