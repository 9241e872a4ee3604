// Package watch owns roost's read model: the informers that watch Rollouts,
// ReplicaSets, Pods and Events, and the per-rollout snapshots derived from them
// that the CLI and the dashboard show.
package watch
