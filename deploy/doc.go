// Package deploy holds roost's Kubernetes manifests (the Rollout CRD, RBAC,
// the headless controller) and installs the CRD for `roost install`.
package deploy
