package controller

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Condition reasons and messages of Argo Rollouts (its utils/conditions/conditions.go)
// beyond those api/v1alpha1 names.
const (
	reasonRolloutRetry           = "RolloutRetry"
	reasonFoundNewRS             = "FoundNewReplicaSet"
	reasonReplicaSetNotAvailable = "ReplicaSetNotAvailable"

	messagePaused       = "Rollout is paused"
	messageResumed      = "Rollout is resumed"
	messageRetry        = "Retrying Rollout after abort"
	messageAvailable    = "Rollout has minimum availability"
	messageNotAvailable = "Rollout does not have minimum availability"
	messageHealthy      = "Rollout is healthy"
	messageNotHealthy   = "Rollout is not healthy"
	// messageCompleted: Argo writes the reason as the Completed condition's
	// message, whether True or False.
	messageCompleted = "RolloutCompleted"

	formatRSProgressing = "ReplicaSet %q is progressing."
	formatRSAvailable   = "ReplicaSet %q has successfully progressed."
	formatRSTimedOut    = "ReplicaSet %q has timed out progressing."
	formatFoundNewRS    = "Found new replica set %q"
	formatAborted       = "Rollout aborted update to revision %d"
)

// calculateStatus fills the counts, conditions, phase and message of the new
// status from the ReplicaSets as this sync left them. The conditions follow
// Argo Rollouts' checkPausedConditions and calculateRolloutConditions
// (rollout/sync.go), in that order.
func (s *syncContext) calculateStatus() {
	r := s.r
	st := &r.Status
	var replicas, ready, available int32
	for _, rs := range s.allReplicaSets() {
		replicas += rs.Status.Replicas
		ready += rs.Status.ReadyReplicas
		available += rs.Status.AvailableReplicas
	}
	var updated int32
	if s.newRS != nil {
		updated = s.newRS.Status.Replicas
	}
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = replicas, updated, ready, available
	st.HPAReplicas = replicas
	st.Selector = s.selector.String()
	st.ObservedGeneration = strconv.FormatInt(r.Generation, 10)

	paused := r.Spec.Paused || len(st.PauseConditions) > 0
	healthy := s.rolloutHealthy()
	progressed := rolloutProgressed(&s.old, st)
	rsName := r.Name + "-" + s.newHash

	// Paused: left as it is while the rollout is aborted.
	if abortCondition(st) == nil {
		if paused {
			setCondition(st, v1alpha1.RolloutCondition{
				Type: v1alpha1.RolloutPaused, Status: corev1.ConditionTrue, Reason: v1alpha1.ReasonRolloutPaused, Message: messagePaused,
			}, s.now, false)
		} else if c := getCondition(st, v1alpha1.RolloutPaused); c != nil && c.Status == corev1.ConditionTrue {
			setCondition(st, v1alpha1.RolloutCondition{
				Type: v1alpha1.RolloutPaused, Status: corev1.ConditionFalse, Reason: v1alpha1.ReasonRolloutPaused, Message: messagePaused,
			}, s.now, false)
		}
	}

	// Healthy: written False only once it has been True.
	becameUnhealthy := false
	if !paused && healthy {
		setTwoWay(st, v1alpha1.RolloutHealthy, true, v1alpha1.ReasonHealthy, messageHealthy, messageNotHealthy, s.now)
	} else if c := getCondition(st, v1alpha1.RolloutHealthy); c != nil {
		becameUnhealthy = c.Status != corev1.ConditionFalse
		setTwoWay(st, v1alpha1.RolloutHealthy, false, v1alpha1.ReasonHealthy, messageHealthy, messageNotHealthy, s.now)
	}

	switch {
	case st.Abort && abortCondition(st) != nil:
		// Set by startAbort; it stays until retry or a new template.
	case healthy:
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.ReasonNewRSAvailable,
			Message: fmt.Sprintf(formatRSAvailable, rsName),
		}, s.now, false)
	case paused:
		// No progress is expected of a paused rollout, so no deadline either.
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, Reason: v1alpha1.ReasonRolloutPaused, Message: messagePaused,
		}, s.now, false)
	default:
		if c := getCondition(st, v1alpha1.RolloutProgressing); c != nil && c.Reason == v1alpha1.ReasonRolloutPaused {
			// The deadline counts again from the resume.
			setCondition(st, v1alpha1.RolloutCondition{
				Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, Reason: v1alpha1.ReasonRolloutResumed, Message: messageResumed,
			}, s.now, false)
		}
		switch {
		case progressed || becameUnhealthy:
			reason, msg := v1alpha1.ReasonReplicaSetUpdated, fmt.Sprintf(formatRSProgressing, rsName)
			if becameUnhealthy && st.StableRS == st.CurrentPodHash {
				// A fully promoted rollout lost pods: progressing again, with
				// the deadline counting from now.
				reason, msg = reasonReplicaSetNotAvailable, messageNotAvailable
			}
			setCondition(st, v1alpha1.RolloutCondition{
				Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
			}, s.now, true)
		case getCondition(st, v1alpha1.RolloutProgressing) == nil && s.newRS != nil:
			setCondition(st, v1alpha1.RolloutCondition{
				Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: reasonFoundNewRS,
				Message: fmt.Sprintf(formatFoundNewRS, s.newRS.Name),
			}, s.now, false)
		}
		if !s.atIndefiniteStep() {
			s.checkProgressDeadline(rsName)
		}
	}

	setTwoWay(st, v1alpha1.RolloutAvailable, available >= s.replicas, v1alpha1.ReasonAvailable,
		messageAvailable, messageNotAvailable, s.now)
	s.setReplicaFailure()
	setTwoWay(st, v1alpha1.RolloutCompleted, st.StableRS != "" && st.StableRS == st.CurrentPodHash, v1alpha1.ReasonCompleted,
		messageCompleted, messageCompleted, s.now)

	st.Phase, st.Message = calculatePhase(phaseInputOf(r, st))
}

// rolloutHealthy is Argo's RolloutHealthy for a canary: every desired pod
// updated and available, no other pod, all steps done, the current template
// stable, and the spec the sync acts on already observed by the status read.
func (s *syncContext) rolloutHealthy() bool {
	st := &s.r.Status
	allSteps := len(s.steps) == 0 || st.CurrentStepIndex == nil || int(*st.CurrentStepIndex) == len(s.steps)
	return st.UpdatedReplicas == s.replicas && st.AvailableReplicas == s.replicas && st.Replicas == s.replicas &&
		s.old.ObservedGeneration == strconv.FormatInt(s.r.Generation, 10) &&
		allSteps && st.StableRS != "" && st.StableRS == st.CurrentPodHash
}

// rolloutProgressed is Argo's RolloutProgressing for a canary: what counts as
// progress between the status read and the new one.
func rolloutProgressed(old, cur *v1alpha1.RolloutStatus) bool {
	stepMoved := old.CurrentStepIndex != nil && cur.CurrentStepIndex != nil && *old.CurrentStepIndex != *cur.CurrentStepIndex
	return cur.UpdatedReplicas != old.UpdatedReplicas ||
		cur.Replicas-cur.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		cur.ReadyReplicas > old.ReadyReplicas ||
		cur.AvailableReplicas > old.AvailableReplicas ||
		cur.StableRS != old.StableRS || stepMoved || cur.CurrentStepHash != old.CurrentStepHash
}

// atIndefiniteStep says whether the current step is a pause or an analysis,
// which may take as long as they take: the progress deadline does not apply.
func (s *syncContext) atIndefiniteStep() bool {
	i := int(currentStep(&s.r.Status))
	return i < len(s.steps) && (s.steps[i].Pause != nil || s.steps[i].Analysis != nil)
}

// checkProgressDeadline marks a Rollout that has made no progress for
// progressDeadlineSeconds, aborts it when progressDeadlineAbort is set, and
// otherwise asks for a sync at the instant the deadline would pass.
func (s *syncContext) checkProgressDeadline(rsName string) {
	st := &s.r.Status
	cond := getCondition(st, v1alpha1.RolloutProgressing)
	if cond == nil || cond.Reason == v1alpha1.ReasonRolloutAborted {
		return
	}
	secs := s.r.GetProgressDeadlineSeconds()
	msg := fmt.Sprintf(formatRSTimedOut, rsName)
	if cond.Reason != v1alpha1.ReasonProgressDeadlineExceeded {
		deadline := cond.LastUpdateTime.Add(time.Duration(secs) * time.Second)
		if !deadline.Before(s.now) {
			s.requeueIn(deadline.Sub(s.now))
			return
		}
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.ReasonProgressDeadlineExceeded, Message: msg,
		}, s.now, false)
		s.warning(EventReasonProgressDeadline, "%s No progress for %ds.", msg, secs)
	}
	if s.r.Spec.ProgressDeadlineAbort && s.canaryActive() && !st.Abort {
		removeCondition(st, v1alpha1.RolloutProgressing)
		s.startAbort(msg)
		// The abort's scale-down happens in the next sync.
		s.requeueIn(time.Millisecond)
	}
}

// setReplicaFailure copies a ReplicaFailure condition of the ReplicaSets (the
// new one's first) into the Rollout, as Argo does, and drops it once none has
// one.
func (s *syncContext) setReplicaFailure() {
	st := &s.r.Status
	var found *appsv1.ReplicaSetCondition
	for _, rs := range append([]*appsv1.ReplicaSet{s.newRS}, s.allReplicaSets()...) {
		if rs == nil {
			continue
		}
		for i := range rs.Status.Conditions {
			if rs.Status.Conditions[i].Type == appsv1.ReplicaSetReplicaFailure {
				found = &rs.Status.Conditions[i]
				break
			}
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		removeCondition(st, v1alpha1.RolloutReplicaFailure)
		return
	}
	c := v1alpha1.RolloutCondition{
		Type: v1alpha1.RolloutReplicaFailure, Status: found.Status, Reason: found.Reason, Message: found.Message,
		LastUpdateTime: found.LastTransitionTime, LastTransitionTime: found.LastTransitionTime,
	}
	cur := getCondition(st, v1alpha1.RolloutReplicaFailure)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, v1alpha1.RolloutReplicaFailure)
	st.Conditions = append(st.Conditions, c)
}

func (s *syncContext) allReplicaSets() []*appsv1.ReplicaSet {
	all := make([]*appsv1.ReplicaSet, 0, 2+len(s.older))
	if s.newRS != nil {
		all = append(all, s.newRS)
	}
	if s.stableRS != nil {
		all = append(all, s.stableRS)
	}
	return append(all, s.older...)
}

func getCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition sets a condition, keeping its times when nothing about it
// changed (touch forces a new lastUpdateTime, the progress-deadline clock);
// lastTransitionTime moves only when the status does. A changed condition
// moves to the end of the list, as Argo's SetRolloutCondition does.
func setCondition(st *v1alpha1.RolloutStatus, c v1alpha1.RolloutCondition, now time.Time, touch bool) {
	t := metav1.NewTime(now)
	cur := getCondition(st, c.Type)
	if cur == nil {
		c.LastUpdateTime, c.LastTransitionTime = t, t
		st.Conditions = append(st.Conditions, c)
		return
	}
	if cur.Status == c.Status && cur.Reason == c.Reason && cur.Message == c.Message && !touch {
		return
	}
	c.LastUpdateTime = t
	c.LastTransitionTime = cur.LastTransitionTime
	if cur.Status != c.Status {
		c.LastTransitionTime = t
	}
	removeCondition(st, c.Type)
	st.Conditions = append(st.Conditions, c)
}

// setTwoWay sets a condition that is either True or False, with one reason and
// a message for each side.
func setTwoWay(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType, ok bool, reason, whenTrue, whenFalse string, now time.Time) {
	c := v1alpha1.RolloutCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: whenFalse}
	if ok {
		c.Status, c.Message = corev1.ConditionTrue, whenTrue
	}
	setCondition(st, c, now, false)
}

func removeCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) {
	kept := make([]v1alpha1.RolloutCondition, 0, len(st.Conditions))
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	if len(kept) == len(st.Conditions) {
		return
	}
	st.Conditions = kept
	if len(kept) == 0 {
		st.Conditions = nil
	}
}

// statusMergePatch is {"status":{...}} with every top-level status field whose
// JSON differs (null for a field that went away), or nil when nothing changed.
// Fields the types do not know (a newer controller's) are absent from both
// sides, so the patch leaves them alone.
//
// With a resourceVersion, the patch also carries it as a precondition: the
// status was computed from that version of the Rollout, and a client may have
// changed it since (a promote clearing pauseConditions). The server then
// answers 409 instead of letting this write undo the client's, and the next
// sync starts from the client's change.
func statusMergePatch(old, cur *v1alpha1.RolloutStatus, resourceVersion string) ([]byte, error) {
	// The new status starts as a copy of the old one, so an untouched status is
	// reflect-equal; anything else is settled by comparing JSON below.
	if reflect.DeepEqual(old, cur) {
		return nil, nil
	}
	om, err := toJSONMap(old)
	if err != nil {
		return nil, err
	}
	nm, err := toJSONMap(cur)
	if err != nil {
		return nil, err
	}
	patch := mergeDiff(om, nm)
	if len(patch) == 0 {
		return nil, nil
	}
	body := map[string]any{"status": patch}
	if resourceVersion != "" {
		body["metadata"] = map[string]any{"resourceVersion": resourceVersion}
	}
	return json.Marshal(body)
}

// mergeDiff is the JSON merge patch that turns old into cur: changed keys
// with their new value, removed keys as null, and objects present in both
// diffed key by key (a merge patch merges objects: sending a nested object
// whole would leave its removed keys in place, e.g. a cleared
// status.canary.currentStepAnalysisRunStatus).
func mergeDiff(old, cur map[string]any) map[string]any {
	patch := map[string]any{}
	for k, v := range cur {
		ov, had := old[k]
		if reflect.DeepEqual(ov, v) {
			continue
		}
		om, ok1 := ov.(map[string]any)
		nm, ok2 := v.(map[string]any)
		if had && ok1 && ok2 {
			if d := mergeDiff(om, nm); len(d) > 0 {
				patch[k] = d
			}
			continue
		}
		patch[k] = v
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			patch[k] = nil
		}
	}
	return patch
}

func toJSONMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(b, &m)
}
