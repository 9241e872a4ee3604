package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// reconcileStep works on the current step: a setWeight step completes when the
// ReplicaSets reached its split; a pause step holds until promoted or until its
// duration has passed. At most one step completes per sync: the status patch
// brings the Rollout straight back through the informer.
func (s *syncContext) reconcileStep() {
	st := &s.r.Status
	idx := currentStep(st)
	if int(idx) >= len(s.steps) {
		return
	}
	step := s.steps[idx]
	switch {
	case step.SetWeight != nil:
		in := s.observed()
		in.CanaryShortfall = progressShortfall(s.r.Spec.Strategy.Canary.ReplicaProgressThreshold, in.CanaryTarget)
		if weightReached(in) {
			s.advance(idx)
		}
	case step.Pause != nil:
		s.reconcilePause(idx, step.Pause)
	case step.Analysis != nil:
		s.reconcileAnalysisStep(idx)
	}
}

// advance completes step idx and announces the next one.
func (s *syncContext) advance(idx int32) {
	s.r.Status.CurrentStepIndex = stepIndex(idx+1, s.steps)
	s.normal(EventReasonStepCompleted, "%s completed", describeStep(s.steps, idx))
	if next := idx + 1; int(next) < len(s.steps) && s.steps[next].SetWeight != nil {
		s.normal(EventReasonStepReached, "%s", describeStep(s.steps, next))
	}
}

// reconcilePause runs a pause step: it adds the CanaryPauseStep condition with
// controllerPause, and completes when a client removed the condition (promote)
// or when startTime+duration has passed. It never polls: a timed pause asks for
// a sync at the instant it ends.
func (s *syncContext) reconcilePause(idx int32, pause *v1alpha1.RolloutPause) {
	st := &s.r.Status
	cond := pauseCondition(st)
	if cond == nil {
		if st.ControllerPause {
			st.ControllerPause = false
			s.normal(EventReasonResumed, "Promoted: %s", describeStep(s.steps, idx))
			s.advance(idx)
			return
		}
		st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{
			Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(s.now),
		})
		st.ControllerPause = true
		cond = &st.PauseConditions[len(st.PauseConditions)-1]
		s.normal(EventReasonPaused, "Paused at step %d/%d (%s)", idx+1, len(s.steps), pauseLabel(pause))
	}
	d, timed, err := pause.PauseDuration()
	if err != nil || !timed {
		return
	}
	end := cond.StartTime.Add(d)
	if remaining := end.Sub(s.now); remaining > 0 {
		s.requeueIn(remaining)
		return
	}
	removePauseCondition(st)
	st.ControllerPause = false
	s.normal(EventReasonResumed, "Pause of %s ended: %s", shortDuration(d), describeStep(s.steps, idx))
	s.advance(idx)
}

// pauseLabel says what the pause waits for.
func pauseLabel(p *v1alpha1.RolloutPause) string {
	if d, ok, err := p.PauseDuration(); err == nil && ok {
		return "pause " + shortDuration(d)
	}
	return "pause until promoted"
}

func pauseCondition(st *v1alpha1.RolloutStatus) *v1alpha1.PauseCondition {
	for i := range st.PauseConditions {
		if st.PauseConditions[i].Reason == v1alpha1.PauseReasonCanaryPauseStep {
			return &st.PauseConditions[i]
		}
	}
	return nil
}

func removePauseCondition(st *v1alpha1.RolloutStatus) {
	kept := st.PauseConditions[:0]
	for _, c := range st.PauseConditions {
		if c.Reason != v1alpha1.PauseReasonCanaryPauseStep {
			kept = append(kept, c)
		}
	}
	st.PauseConditions = kept
	if len(kept) == 0 {
		st.PauseConditions = nil
	}
}
