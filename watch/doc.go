// Package watch owns roost's read model: the informers that watch Rollouts,
// ReplicaSets, Pods, Events and AnalysisRuns, and the per-rollout snapshots
// derived from them that the CLI and the dashboard show. A snapshot's
// AnalysisRuns (analysis.go) are read from the objects as roost or Argo
// Rollouts wrote them, trimmed to what is shown, with the decision of a
// finished run in one sentence.
package watch
