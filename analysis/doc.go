// Package analysis runs Argo Rollouts' AnalysisRuns for roost: the
// measurement loop, the assessment rules, conditions and providers, and
// roost's judge as a gate. It holds, so far, the pure parts, each following
// Argo Rollouts' analysis controller rule for rule so that a run started by
// one controller is judged the same by the other: a run's name, labels and
// owner (run.go); when a metric is next measured (schedule.go); its
// {{args.NAME}} substituted (args.go); how a result is judged by the metric's
// conditions (condition.go, in expr as Argo writes them); how a finished
// measurement is counted, and what phase a metric and the whole run are in
// (assess.go); which metrics are dry runs and how many measurements each
// keeps (retention.go).
package analysis
