package actions

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// EventAnalysisTerminated is recorded on the Rollout when a person ends one
// of its AnalysisRuns.
const EventAnalysisTerminated = "AnalysisRunTerminateRequested"

// patchTerminate is the body of `kubectl argo rollouts terminate
// analysisrun`, byte for byte: a merge patch of the run. Argo Rollouts'
// own controller and roost's send the same to end a run.
const patchTerminate = `{"spec":{"terminate":true}}`

// TerminateAnalysis ends the AnalysisRun run of rollout ns/rollout, as the
// cockpit's T does: it is refused, nothing sent, when the rollout moved on
// from the state the person confirmed (WithExpect) or the run is not the
// rollout's. The run takes no more measurements; the metrics not yet
// decided count as Successful, so the run ends Successful ("Run
// Terminated") unless one already failed.
func (a *Actions) TerminateAnalysis(ctx context.Context, ns, rollout, run string) (Result, error) {
	s, err := a.get(ctx, ns, rollout)
	if err != nil {
		return Result{}, err
	}
	u, err := a.getRun(ctx, ns, run)
	if err != nil {
		return Result{}, err
	}
	if !ownedBy(u.GetOwnerReferences(), s.obj.GetUID()) && !ownerNamed(u, rollout) {
		return Result{}, fmt.Errorf("analysisrun %s/%s does not belong to rollout %s; nothing was sent", ns, run, rollout)
	}
	return a.terminate(ctx, u, s.obj)
}

// TerminateAnalysisRun ends AnalysisRun ns/name whatever owns it, as
// `roost terminate analysisrun` does. The Event goes on the Rollout that
// owns the run, or on the run when no Rollout does.
func (a *Actions) TerminateAnalysisRun(ctx context.Context, ns, name string) (Result, error) {
	u, err := a.getRun(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	on := u
	for _, ref := range u.GetOwnerReferences() {
		if ref.Kind != v1alpha1.Kind {
			continue
		}
		if ro, err := a.dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{}); err == nil && ro.GetUID() == ref.UID {
			on = ro
		}
		break
	}
	return a.terminate(ctx, u, on)
}

// terminate sends the plugin's patch to run u unless it already ended or
// is ending, and records an Event on on.
func (a *Actions) terminate(ctx context.Context, u, on *unstructured.Unstructured) (Result, error) {
	ns, name := u.GetNamespace(), u.GetName()
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	if v1alpha1.AnalysisPhase(phase).Completed() {
		return skipped("analysisrun %s already ended %s; nothing to terminate", name, phase), nil
	}
	if t, _, _ := unstructured.NestedBool(u.Object, "spec", "terminate"); t {
		return skipped("analysisrun %s is already terminating", name), nil
	}
	_, err := a.dynamic.Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).Patch(ctx, name, types.MergePatchType, []byte(patchTerminate), metav1.PatchOptions{})
	if err != nil {
		return Result{}, runError(ns, name, err)
	}
	res := done("terminated analysisrun %s: no more measurements; it ends Successful (\"Run Terminated\") unless a metric already failed", name)
	return a.record(ctx, on, EventAnalysisTerminated, fmt.Sprintf("analysis run %s terminated by %s", name, a.actor), res), nil
}

func (a *Actions) getRun(ctx context.Context, ns, name string) (*unstructured.Unstructured, error) {
	u, err := a.dynamic.Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, runError(ns, name, err)
	}
	return u, nil
}

// ownerNamed says whether a Rollout of that name owns u (a run whose
// owner reference was written without a UID).
func ownerNamed(u *unstructured.Unstructured, rollout string) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Kind == v1alpha1.Kind && ref.Name == rollout && ref.UID == "" {
			return true
		}
	}
	return false
}

// runError turns an API error about an AnalysisRun into one that says
// what to do.
func runError(ns, name string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("analysisrun %s not found in namespace %s; list them with `roost get analysisruns -n %s`", name, ns, ns)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("analysisrun %s/%s: forbidden; ask for RBAC to get and patch analysisruns in namespace %s (the roost-dashboard ClusterRole): %w", ns, name, ns, err)
	case apierrors.IsConflict(err):
		return fmt.Errorf("analysisrun %s/%s changed while acting on it; run the command again: %w", ns, name, err)
	}
	return fmt.Errorf("analysisrun %s/%s: %w", ns, name, err)
}
