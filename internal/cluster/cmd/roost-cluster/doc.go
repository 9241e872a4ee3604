// Command roost-cluster runs the local control plane for a person:
//
//	roost-cluster build   build (or find cached) binaries and print their folder
//	roost-cluster up      start a cluster in the background, print `export KUBECONFIG=...`
//	roost-cluster down    stop it
//
// `make cluster` and `make cluster-down` call it. The cluster lives in a
// state folder (--dir) holding the kubeconfig, logs, and a pid file.
package main
