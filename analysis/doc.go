// Package analysis runs Argo Rollouts' AnalysisRuns for roost: the
// measurement loop, the assessment rules, conditions and providers, and
// roost's judge as a gate. Each rule follows Argo Rollouts' analysis
// controller so that a run started by one controller is judged the same by
// the other: a run's name, labels and owner (run.go); when a metric is next
// measured (schedule.go); its {{args.NAME}} substituted (args.go); how a
// result is judged by the metric's conditions (condition.go, in expr as Argo
// writes them); how a finished measurement is counted, and what phase a
// metric and the whole run are in (assess.go); which metrics are dry runs
// and how many measurements each keeps (retention.go). loop.go puts them
// together for one pass over a run, purely; controller.go is the
// RunController that reads runs from an informer, measures through the
// providers (provider.go; web.go here, Datadog in metrics/datadog, which
// imports this package) and writes each pass's status once. gate.go is
// roost's own judge (metrics/judge) acting on canaries without analysis.
package analysis
