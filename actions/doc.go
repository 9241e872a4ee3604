// Package actions is what a person sends to a Rollout from roost's cockpit
// or CLI: promote, promote-full, abort (with a reason), retry, pause, resume,
// restart, undo, and terminating an AnalysisRun (TerminateAnalysis), each the patch `kubectl argo rollouts` v1.9 sends, byte
// for byte, except where the README says roost differs and why
// (parity_test.go holds both sides), and each recorded as an Event that names
// who acted; and what roost needs to know first: whether the person may act
// in a namespace (CheckAccess, a SelfSubjectAccessReview, which also says
// whether they may end its AnalysisRuns) and who they are
// (WhoAmI).
//
// It never steps a canary itself: the reconciler (package controller, or Argo
// Rollouts) carries the request out.
package actions
