// Package cluster builds and runs a real, local Kubernetes control plane for
// tests and for people: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (simulated nodes whose pods become Ready), all built
// from the Go module proxy and cached, all listening on loopback only.
package cluster
