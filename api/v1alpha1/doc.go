// Deep copies of every type here are generated into zz_generated.deepcopy.go
// by deepcopy-gen (make generate). A top-level kind carries the marker
// "+k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object"; a
// struct outside the API (an error type, say) carries "+k8s:deepcopy-gen=false".
// +k8s:deepcopy-gen=package

// Package v1alpha1 holds roost's Go types for the subset of the Argo Rollouts
// argoproj.io/v1alpha1 API that roost supports (basic canary, no traffic
// router), with defaulting, validation, deep copies and the hashes Argo
// Rollouts computes, so that both controllers agree on ReplicaSet names and
// step state.
package v1alpha1
