package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// defaultAbortReason is quoted when an abort came without a reason, e.g. from
// `kubectl argo rollouts abort`, which knows nothing of the annotation.
const defaultAbortReason = "aborted by a user, no reason given"

// reconcileAbort carries out abort, retry and promote-full requests found in the
// status. They only mean something while a canary is under way.
func (s *syncContext) reconcileAbort() {
	st := &s.r.Status
	if !s.canaryActive() {
		return
	}
	switch {
	case st.PromoteFull:
		// Promote-full overrides pauses and a previous abort: the user wants this
		// template everywhere now.
		st.PauseConditions = nil
		st.ControllerPause = false
		st.Abort = false
		st.AbortedAt = nil
		s.retryAbortCondition()
	case st.Abort:
		s.startAbort(s.abortReason())
	case st.AbortedAt != nil || abortCondition(st) != nil:
		st.AbortedAt = nil
		s.retryAbortCondition()
		st.CurrentStepIndex = stepIndex(0, s.steps)
		st.PauseConditions = nil
		st.ControllerPause = false
		// The runs that failed stay as history; the retry runs new ones.
		st.Canary.CurrentStepAnalysisRunStatus = nil
		st.Canary.CurrentBackgroundAnalysisRunStatus = nil
		s.normal(EventReasonRetrying, "Retrying update to revision %d from step 1", s.newRevision())
	}
}

// startAbort sends the canary's pods back to stable: weight 0, step 0, and a
// Progressing=False condition that makes the phase Degraded and says why: Argo's
// words, "Rollout aborted update to revision N", then ": " and the reason.
func (s *syncContext) startAbort(reason string) {
	st := &s.r.Status
	st.Abort = true
	if st.AbortedAt == nil {
		t := metav1.NewTime(s.now)
		st.AbortedAt = &t
	}
	st.PauseConditions = nil
	st.ControllerPause = false
	st.CurrentStepIndex = stepIndex(0, s.steps)
	if abortCondition(st) != nil {
		return
	}
	msg := fmt.Sprintf(formatAborted+": %s", s.newRevision(), reason)
	setCondition(st, v1alpha1.RolloutCondition{
		Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.ReasonRolloutAborted, Message: msg,
	}, s.now, false)
	s.warning(EventReasonAborted, "%s", msg)
}

// abortReason is the reason a client left on the Rollout, or the default.
func (s *syncContext) abortReason() string {
	if v := strings.TrimSpace(s.r.Annotations[v1alpha1.AbortReasonAnnotation]); v != "" {
		return v
	}
	return defaultAbortReason
}

func abortCondition(st *v1alpha1.RolloutStatus) *v1alpha1.RolloutCondition {
	if c := getCondition(st, v1alpha1.RolloutProgressing); c != nil && c.Reason == v1alpha1.ReasonRolloutAborted {
		return c
	}
	return nil
}

// retryAbortCondition replaces the RolloutAborted condition with Argo's
// RolloutRetry one once the abort is lifted; progress replaces it in turn.
func (s *syncContext) retryAbortCondition() {
	st := &s.r.Status
	if abortCondition(st) != nil {
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, Reason: reasonRolloutRetry, Message: messageRetry,
		}, s.now, false)
	}
}

// clearAbortCondition drops the RolloutAborted condition; the status step sets
// Progressing afresh.
func clearAbortCondition(st *v1alpha1.RolloutStatus) {
	if abortCondition(st) != nil {
		removeCondition(st, v1alpha1.RolloutProgressing)
	}
}
