package controller

import (
	"encoding/json"
	"fmt"
	appsv1 "k8s.io/api/apps/v1"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// Events about the Rollout's analysis.
const (
	EventReasonAnalysisRunCreated = "AnalysisRunCreated"
	// EventReasonAnalysisRunPrefix + the run's phase: AnalysisRunSuccessful,
	// AnalysisRunFailed…, as Argo Rollouts names them.
	EventReasonAnalysisRunPrefix = "AnalysisRun"
	EventReasonAnalysisRunFailed = "AnalysisRunError" // Warning: could not create a run
)

// Default history limits of finished, no longer current runs (Argo's).
const (
	defaultSuccessfulRunHistory   = 5
	defaultUnsuccessfulRunHistory = 5
)

// maxRunAttempts bounds the <name>.N suffixes tried when a name is taken.
const maxRunAttempts = 20

// analysisPath is the first field that asks for analysis.
func analysisPath(r *v1alpha1.Rollout) *field.Path {
	p := field.NewPath("spec", "strategy", "canary")
	for i, st := range r.Spec.Strategy.Canary.Steps {
		if st.Analysis != nil {
			return p.Child("steps").Index(i).Child("analysis")
		}
	}
	return p.Child("analysis")
}

// ownedRuns are the cached AnalysisRuns this Rollout controls, decoded.
func (s *syncContext) ownedRuns() []*v1alpha1.AnalysisRun {
	if s.c.runInformer == nil {
		return nil
	}
	objs, err := s.c.runInformer.GetIndexer().ByIndex(byControllerUID, string(s.r.UID))
	if err != nil {
		return nil
	}
	runs := make([]*v1alpha1.AnalysisRun, 0, len(objs))
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		run, _ := v1alpha1.AnalysisRunFromUnstructured(u)
		runs = append(runs, run)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].CreationTimestamp.Before(&runs[j].CreationTimestamp) })
	return runs
}

// reconcileAnalysis creates, follows and ends the Rollout's AnalysisRuns as
// Argo Rollouts does (facts/argo-analysis-compat.md §3-§4): the current step's
// run and the background run are recorded in status.canary; a finished step
// run completes its step or aborts the canary; an Inconclusive run pauses it
// until a person decides; every other run of the Rollout is terminated. It
// returns field errors for analysis that cannot run (a template missing or
// invalid); the Rollout is then invalid and nothing is scaled.
func (s *syncContext) reconcileAnalysis() field.ErrorList {
	st := &s.r.Status
	wants := s.r.HasAnalysis()
	if !wants && st.Canary.CurrentStepAnalysisRunStatus == nil && st.Canary.CurrentBackgroundAnalysisRunStatus == nil && s.c.runInformer == nil {
		return nil
	}
	if wants && s.c.runInformer == nil {
		return field.ErrorList{field.Forbidden(analysisPath(s.r),
			"this Rollout asks for analysis, but the AnalysisRun resource is not installed in the cluster; run `roost install` (or install Argo Rollouts' CRDs), then restart roost")}
	}
	owned := s.ownedRuns()
	if !wants && len(owned) == 0 {
		st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus = nil, nil
		return nil
	}
	byName := make(map[string]*v1alpha1.AnalysisRun, len(owned))
	for _, run := range owned {
		byName[run.Name] = run
	}
	// A recorded run is current only for this template: a new revision
	// starts its analysis afresh.
	recorded := func(rs *v1alpha1.RolloutAnalysisRunStatus) *v1alpha1.AnalysisRun {
		if rs == nil {
			return nil
		}
		run := byName[rs.Name]
		if run == nil {
			// Recorded but not in the cache yet (a run created moments
			// ago): read it, rather than take it for gone and create
			// another.
			run = s.fetchRun(rs.Name)
		}
		if run == nil || run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != s.newHash {
			return nil
		}
		return run
	}
	stepRun := recorded(st.Canary.CurrentStepAnalysisRunStatus)
	bgRun := recorded(st.Canary.CurrentBackgroundAnalysisRunStatus)

	canary := s.r.Spec.Strategy.Canary
	idx := currentStep(st)
	var errs field.ErrorList
	switch {
	case !s.canaryActive() || st.PromoteFull:
		// Nothing to analyse: every run ends, none is recorded.
		stepRun, bgRun = nil, nil
	case st.Abort:
		// Aborted: the runs stay on record (one of them may be why), none
		// starts, and those still measuring are ended.
		for _, run := range []*v1alpha1.AnalysisRun{stepRun, bgRun} {
			if run != nil && !run.Status.Phase.Completed() && !run.Spec.Terminate {
				s.terminate(run)
			}
		}
	default:
		// The step's run, while on an analysis step.
		if stepRun != nil && stepRun.Labels[analysis.StepIndexLabel] != strconv.Itoa(int(idx)) {
			stepRun = nil
		}
		if int(idx) < len(s.steps) && s.steps[idx].Analysis != nil && stepRun == nil && len(st.PauseConditions) == 0 {
			step := idx
			run, ferrs := s.ensureRun(s.steps[idx].Analysis, &step, owned, field.NewPath("spec", "strategy", "canary", "steps").Index(int(idx)).Child("analysis"))
			errs = append(errs, ferrs...)
			stepRun = run
		}
		// The background run, from startingStep until the steps are done.
		if a := canary.Analysis; a != nil && int(idx) < len(s.steps) {
			start := int32(0)
			if a.StartingStep != nil {
				start = *a.StartingStep
			}
			resumed := bgRun != nil && bgRun.Status.Phase == v1alpha1.AnalysisPhaseInconclusive && !hasPauseReason(st, v1alpha1.PauseReasonInconclusiveAnalysis)
			if idx >= start && (bgRun == nil || resumed) {
				run, ferrs := s.ensureRun(&a.RolloutAnalysis, nil, owned, field.NewPath("spec", "strategy", "canary", "analysis"))
				errs = append(errs, ferrs...)
				if run != nil || resumed {
					bgRun = run
				}
				if resumed {
					st.ControllerPause = false
				}
			}
		} else {
			bgRun = nil
		}
	}
	if len(errs) > 0 {
		return errs
	}

	s.terminateOthers(owned, stepRun, bgRun)
	s.recordRun(&st.Canary.CurrentStepAnalysisRunStatus, stepRun, "Step")
	s.recordRun(&st.Canary.CurrentBackgroundAnalysisRunStatus, bgRun, "Background")
	s.stepRun = stepRun
	if bgRun != nil && !st.Abort {
		s.followRun(bgRun, "Background")
	}
	return nil
}

// fetchRun reads one run of this Rollout from the API server; nil when it
// is gone or not this Rollout's.
func (s *syncContext) fetchRun(name string) *v1alpha1.AnalysisRun {
	u, err := s.c.runs.Namespace(s.r.Namespace).Get(s.ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	run, _ := v1alpha1.AnalysisRunFromUnstructured(u)
	if ref := metav1.GetControllerOf(run); ref == nil || ref.UID != s.r.UID {
		return nil
	}
	return run
}

// recordRun writes a current run into status.canary, with an Event when its
// phase changed.
func (s *syncContext) recordRun(slot **v1alpha1.RolloutAnalysisRunStatus, run *v1alpha1.AnalysisRun, kind string) {
	if run == nil {
		*slot = nil
		return
	}
	phase := run.Status.Phase
	if phase == "" {
		phase = v1alpha1.AnalysisPhasePending
	}
	prev := *slot
	*slot = &v1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: phase, Message: run.Status.Message}
	if prev != nil && prev.Name == run.Name && prev.Status != phase {
		eventType := "Normal"
		if phase != v1alpha1.AnalysisPhaseSuccessful && phase != v1alpha1.AnalysisPhaseRunning && phase != v1alpha1.AnalysisPhasePending {
			eventType = "Warning"
		}
		s.event(eventType, EventReasonAnalysisRunPrefix+string(phase), "%s Analysis Run '%s' Status New: '%s' Previous: '%s'", kind, run.Name, phase, prev.Status)
	}
}

// followRun acts on a run's outcome: Failed or Error aborts the canary with
// the evidence; Inconclusive pauses it for a person to decide.
func (s *syncContext) followRun(run *v1alpha1.AnalysisRun, kind string) {
	st := &s.r.Status
	switch run.Status.Phase {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		what := "failed"
		if run.Status.Phase == v1alpha1.AnalysisPhaseError {
			what = "error"
		}
		s.startAbort(fmt.Sprintf("%s analysis phase %s: %s (AnalysisRun %s)", kindLabel(kind), what, analysis.Evidence(&run.Status), run.Name))
	case v1alpha1.AnalysisPhaseInconclusive:
		if hasPauseReason(st, v1alpha1.PauseReasonInconclusiveAnalysis) || st.ControllerPause {
			return
		}
		st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{
			Reason: v1alpha1.PauseReasonInconclusiveAnalysis, StartTime: metav1.NewTime(s.now),
		})
		st.ControllerPause = true
		s.normal(EventReasonPaused, "Paused: %s analysis %s is Inconclusive (%s); promote to go on, or abort", strings.ToLower(kind), run.Name, analysis.Evidence(&run.Status))
	}
}

func kindLabel(kind string) string {
	if kind == "Step" {
		return "Step-based"
	}
	return kind
}

// reconcileAnalysisStep runs the current step when it is an analysis step:
// it completes when its run is Successful. A run a person promoted past
// while Inconclusive (the pause condition removed) completes it too.
func (s *syncContext) reconcileAnalysisStep(idx int32) {
	st := &s.r.Status
	run := s.stepRun
	if run == nil {
		return
	}
	switch run.Status.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		st.Canary.CurrentStepAnalysisRunStatus = nil
		s.advance(idx)
	case v1alpha1.AnalysisPhaseInconclusive:
		if !hasPauseReason(st, v1alpha1.PauseReasonInconclusiveAnalysis) && st.ControllerPause {
			st.ControllerPause = false
			st.Canary.CurrentStepAnalysisRunStatus = nil
			s.normal(EventReasonResumed, "Promoted past Inconclusive analysis %s: %s", run.Name, describeStep(s.steps, idx))
			s.advance(idx)
			return
		}
		s.followRun(run, "Step")
	default:
		s.followRun(run, "Step")
	}
}

func hasPauseReason(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) bool {
	for _, c := range st.PauseConditions {
		if c.Reason == reason {
			return true
		}
	}
	return false
}

// terminateOthers ends every run of the Rollout that is not current and
// deletes those otherRuns says to.
func (s *syncContext) terminateOthers(owned []*v1alpha1.AnalysisRun, current ...*v1alpha1.AnalysisRun) {
	okLimit, badLimit := defaultSuccessfulRunHistory, defaultUnsuccessfulRunHistory
	if a := s.r.Spec.Analysis; a != nil {
		if a.SuccessfulRunHistoryLimit != nil {
			okLimit = int(*a.SuccessfulRunHistoryLimit)
		}
		if a.UnsuccessfulRunHistoryLimit != nil {
			badLimit = int(*a.UnsuccessfulRunHistoryLimit)
		}
	}
	rss := append([]*appsv1.ReplicaSet{s.newRS, s.stableRS}, s.older...)
	terminate, remove := otherRuns(owned, current, rss, okLimit, badLimit)
	for _, run := range terminate {
		s.terminate(run)
	}
	for _, run := range remove {
		s.deleteRun(run)
	}
}

// otherRuns says what becomes of the runs of a Rollout (owned, oldest first)
// that are not current, as Argo Rollouts decides it: a run no ReplicaSet of
// the Rollout backs any more (no pod-hash label, no ReplicaSet of that hash,
// or one being deleted) is deleted; one still measuring is terminated; of
// the finished ones, the newest okLimit successful and badLimit unsuccessful
// are kept and older ones deleted.
func otherRuns(owned, current []*v1alpha1.AnalysisRun, rss []*appsv1.ReplicaSet, okLimit, badLimit int) (terminate, remove []*v1alpha1.AnalysisRun) {
	keep := map[string]bool{}
	for _, run := range current {
		if run != nil {
			keep[run.Name] = true
		}
	}
	// The Rollout's ReplicaSets by pod hash: whether each is being deleted.
	hashes := map[string]bool{}
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		if h, ok := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
			hashes[h] = rs.DeletionTimestamp != nil
		}
	}
	var succeeded, other []*v1alpha1.AnalysisRun
	for _, run := range owned {
		if keep[run.Name] {
			continue
		}
		hash, labelled := run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		if deleting, found := hashes[hash]; !labelled || !found || deleting {
			remove = append(remove, run)
			continue
		}
		if !run.Status.Phase.Completed() {
			if !run.Spec.Terminate {
				terminate = append(terminate, run)
			}
			continue
		}
		if run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
			succeeded = append(succeeded, run)
		} else {
			other = append(other, run)
		}
	}
	for _, set := range []struct {
		runs  []*v1alpha1.AnalysisRun
		limit int
	}{{succeeded, okLimit}, {other, badLimit}} {
		// owned is oldest first.
		for i := 0; i < len(set.runs)-set.limit; i++ {
			remove = append(remove, set.runs[i])
		}
	}
	return terminate, remove
}

// deleteRun deletes one of the Rollout's runs, that very one (by UID).
func (s *syncContext) deleteRun(run *v1alpha1.AnalysisRun) {
	err := s.c.runs.Namespace(run.Namespace).Delete(s.ctx, run.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &run.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		s.warning(EventReasonAnalysisRunFailed, "Could not delete old AnalysisRun %s: %v", run.Name, err)
	}
}

// terminate asks a run to stop, as Argo does: a merge patch
// {"spec":{"terminate":true}}; the run ends Successful "Run Terminated"
// unless a metric already decided otherwise.
func (s *syncContext) terminate(run *v1alpha1.AnalysisRun) {
	_, err := s.c.runs.Namespace(run.Namespace).Patch(s.ctx, run.Name, types.MergePatchType, []byte(`{"spec":{"terminate":true}}`), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		s.warning(EventReasonAnalysisRunFailed, "Could not terminate AnalysisRun %s: %v", run.Name, err)
	}
}

// ensureRun returns the run of analysis a (step is its index, nil for the
// background run): an owned run of the same name and spec that has not
// completed is adopted (a run another controller created), else one is
// created, named <rollout>-<hash>-<revision>[-<step>], with .1, .2… when
// that name is taken by a finished or foreign run.
func (s *syncContext) ensureRun(a *v1alpha1.RolloutAnalysis, step *int32, owned []*v1alpha1.AnalysisRun, path *field.Path) (*v1alpha1.AnalysisRun, field.ErrorList) {
	if s.newRS == nil {
		// The revision is the new ReplicaSet's; it is created in this sync.
		s.requeueIn(0)
		return nil, nil
	}
	spec, noData, errs := s.runSpec(a, step != nil, path)
	if len(errs) > 0 {
		return nil, errs
	}
	f := analysis.RunFor{
		Rollout: s.r, PodHash: s.newHash, Revision: revisionOf(s.newRS), Step: step,
		Labels: a.AnalysisRunMetadata.Labels, Annotations: a.AnalysisRunMetadata.Annotations,
	}
	byName := map[string]*v1alpha1.AnalysisRun{}
	for _, run := range owned {
		byName[run.Name] = run
	}
	for attempt := 0; attempt < maxRunAttempts; attempt++ {
		meta := f.ObjectMeta(attempt)
		if existing, ok := byName[meta.Name]; ok {
			if !existing.Status.Phase.Completed() && !existing.Spec.Terminate && sameRunSpec(&existing.Spec, spec) {
				return existing, nil
			}
			continue
		}
		if noData != "" {
			meta.Annotations[analysis.NoDataAnnotation] = noData
		}
		run := &v1alpha1.AnalysisRun{ObjectMeta: meta, Spec: *spec}
		u, err := v1alpha1.AnalysisRunToUnstructured(run)
		if err != nil {
			s.warning(EventReasonAnalysisRunFailed, "Could not encode AnalysisRun %s: %v", meta.Name, err)
			return nil, nil
		}
		created, err := s.c.runs.Namespace(s.r.Namespace).Create(s.ctx, u, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Not in our cache yet, or not ours: look at it.
			got, gerr := s.c.runs.Namespace(s.r.Namespace).Get(s.ctx, meta.Name, metav1.GetOptions{})
			if gerr == nil {
				existing, _ := v1alpha1.AnalysisRunFromUnstructured(got)
				if ref := metav1.GetControllerOf(existing); ref != nil && ref.UID == s.r.UID &&
					!existing.Status.Phase.Completed() && !existing.Spec.Terminate && sameRunSpec(&existing.Spec, spec) {
					return existing, nil
				}
			}
			continue
		}
		if err != nil {
			s.warning(EventReasonAnalysisRunFailed, "Could not create AnalysisRun %s: %v; retrying", meta.Name, err)
			s.requeueIn(errorRetry)
			return nil, nil
		}
		out, _ := v1alpha1.AnalysisRunFromUnstructured(created)
		kind := "Background"
		if step != nil {
			kind = fmt.Sprintf("Step %d", *step+1)
		}
		s.normal(EventReasonAnalysisRunCreated, "%s analysis: created AnalysisRun %s", kind, out.Name)
		return out, nil
	}
	s.warning(EventReasonAnalysisRunFailed, "Could not create an AnalysisRun: %d names taken", maxRunAttempts)
	return nil, nil
}

// sameRunSpec compares what decides a run: metrics, args, dryRun and
// retention.
func sameRunSpec(a, b *v1alpha1.AnalysisRunSpec) bool {
	decisive := func(s *v1alpha1.AnalysisRunSpec) string {
		out, _ := json.Marshal(v1alpha1.AnalysisRunSpec{Metrics: s.Metrics, Args: s.Args, DryRun: s.DryRun, MeasurementRetention: s.MeasurementRetention})
		return string(out)
	}
	return decisive(a) == decisive(b)
}
