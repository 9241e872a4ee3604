// Package analysis runs Argo Rollouts' AnalysisRuns for roost: the
// measurement loop, the assessment rules, conditions and providers, and
// roost's judge as a gate. It holds, so far, the assessment rules: how a
// finished measurement is counted, what phase a metric is in given its
// counts and limits, and what phase the whole run is in, each a pure function
// that follows Argo Rollouts' analysis controller rule for rule, so that a run
// started by one controller is judged the same by the other.
package analysis
