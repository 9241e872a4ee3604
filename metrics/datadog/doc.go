// Package datadog is roost's Datadog client. It owns the credentials (from
// the environment or a Kubernetes Secret), one grouped query per metric on
// the v2 timeseries API (or v1's query API) through Datadog's own Go client,
// the split of the answer into the canary's and stable's series by their
// role tag, and the one call budget that every rollout shares, which obeys
// Datadog's X-RateLimit headers and backs off after failures. Every failure
// is a *metrics.SourceError that says what to do; nothing that failed is
// ever shown as a healthy value.
//
// It also measures the Datadog metrics of Argo Rollouts' AnalysisRuns
// (AnalysisProvider, an analysis.Provider): Argo's requests on the v1 query
// and v2 scalar APIs, Argo's credentials in Argo's order, and the same call
// budget as the cockpit's when it is shared.
package datadog
