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
// Argo CD deploys the demo's rollouts (argocd.go): two AppProjects, shop
// and payments (the payments namespace's rollouts; every other one is the
// shop's), hold one Application per rollout in namespace argocd, named
// namespace-rollout, and each rollout carries its Application's tracking
// annotation. A stand-in for Argo CD's application controller follows the
// rollouts and writes each Application's status as Argo CD reports it:
// health Progressing while a canary steps, Suspended while paused (at a
// step, an inconclusive analysis or by hand), Degraded once aborted,
// Healthy at rest; sync Synced while the rollout is as the script released
// it (a release is a commit Argo CD syncs), OutOfSync after a pause or an
// undo by hand. Every Application auto-syncs; payments-refunds' also
// self-heals (where its analysis gates it, not roost's judge, whose hold
// is a spec.paused): Argo CD puts such a change back after its 5 s (scaled
// by the speed), which is why the cockpit warns before an undo or a pause
// there. In the cockpit, v groups the rollouts by Application, then by
// project, and a project's group line marked with space takes p to
// promote every rollout of it.
//
// A World opens two listeners, both on 127.0.0.1 at ports the system
// picks, and nothing else: no file, no other network.
package demo
