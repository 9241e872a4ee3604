// Package election decides who steps the canaries: roost's Lease
// (client-go leader election), so that of many roost processes exactly one
// runs the reconciler and another takes over when it dies; the Argo
// detector (argo.go), which watches continuously for a live Argo Rollouts
// controller (its Lease, its pods, other controllers' status writes) so that
// RunBeside never lets roost step a canary beside one; and the stepping
// watch, which tells the cockpit's header whether this roost, another roost,
// a live Argo Rollouts controller or nobody steps them.
package election
