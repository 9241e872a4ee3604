// Package sim owns roost's simulated cluster for `roost demo`: client-go's
// fake clientsets, given the semantics of a real API server that roost relies
// on (resourceVersions and preconditions, status subresources, generation,
// graceful pod deletion, resumable watches, access reviews, discovery), and
// the parts of a cluster that act on their own: a ReplicaSet controller,
// kubelets on simulated nodes (which also make up the containers' logs, see
// PodLogs) and a garbage collector. It serves roost's kinds and, as a
// cluster with Argo CD installed does, Argo CD's Applications and
// AppProjects (internal/argocd's CRDs), which nothing in it acts on: their
// status is whatever their writer puts there. roost's reconciler, watches
// and dashboard run on it unchanged.
package sim
