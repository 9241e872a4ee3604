// Package controller is roost's reconciler for Argo Rollouts' basic canary,
// and only that: a sample-controller shaped loop (informers → typed
// rate-limited workqueue → sync of one Rollout) that creates and scales the
// stable and canary ReplicaSets, steps through setWeight and pause steps,
// obeys promote, promote-full, abort and retry, and writes the Rollout's
// status as one merge patch per sync. One file per concern, in the order a
// sync runs them (sync.go, replicaset.go, canary_math.go, pause.go, abort.go,
// ephemeralmetadata.go, status.go); the replica math and step logic are pure
// functions.
//
// What clients send (promote, abort…) lives in package actions; who runs the
// reconciler (the Lease, Argo Rollouts' presence) in package election.
package controller
