// Package demo owns roost's self-contained demo: a scripted practice session
// on a simulated cluster (internal/sim), with a Datadog API
// (internal/datadogserver) fed by every pod's synthetic traffic and a
// Bugsnag (internal/bugsnagserver) that the pods' workload reports its
// errors to with bugsnag-go. roost's real reconciler, watches, metrics
// clients and cockpit run on it unchanged: only the addresses and the keys
// (made up at start) differ from production. World.Ready says when the
// scenario is at its start (stable versions up, first canaries on their
// way), which the cockpit waits for before its first frame. Some rollouts
// are gated by Argo analysis: the demo creates AnalysisTemplates
// (analysis.go) whose Datadog metrics read the canary pods' traffic from
// the demo's Datadog, and roost's run loop measures them there.
//
// A World opens two listeners, both on 127.0.0.1 at ports the system
// picks, and nothing else: no file, no other network.
package demo
