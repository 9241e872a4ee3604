#!/usr/bin/env bash
# datadog-api-client-go's generated packages take minutes and gigabytes to
# compile. Only metrics/datadog (the client) and cmd/roost (the wiring) may
# depend on them, so that every other package, and its tests' fast edit-test
# loop, never waits for that build. Tests that talk to the in-repo Datadog
# server through the client are allowed: they pay it once, cached.
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
allowed='^github.com/roost-dev/roost/(metrics/datadog|cmd/roost)$'
offenders=$($go list -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
	awk '/ github\.com\/DataDog\/datadog-api-client-go\// {print $1}' |
	grep -Ev "$allowed" || true)
if [ -n "$offenders" ]; then
	echo "these packages depend on github.com/DataDog/datadog-api-client-go, which only metrics/datadog and cmd/roost may:"
	echo "$offenders" | sed 's/^/  /'
	echo "pass a metrics.MetricSource (an interface) instead of importing metrics/datadog; see CONTRIBUTING.md, 'Build cost'."
	exit 1
fi
