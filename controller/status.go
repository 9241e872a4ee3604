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

// calculateStatus fills the counts, conditions, phase and message of the new
// status from the ReplicaSets as this sync left them.
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
	if replicas != s.old.Replicas || updated != s.old.UpdatedReplicas || available != s.old.AvailableReplicas || ready != s.old.ReadyReplicas {
		s.progressed = true
	}
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = replicas, updated, ready, available
	st.HPAReplicas = replicas
	st.Selector = s.selector.String()
	st.ObservedGeneration = strconv.FormatInt(r.Generation, 10)

	paused := r.Spec.Paused || len(st.PauseConditions) > 0
	completed := s.newHash == st.StableRS && s.newRS != nil && replicasOf(s.newRS) == s.replicas &&
		s.newRS.Status.AvailableReplicas >= s.replicas && replicas == updated
	rsName := r.Name + "-" + s.newHash
	switch {
	case st.Abort && abortCondition(st) != nil:
		// Set by startAbort; it stays until retry or a new template.
	case paused:
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, Reason: v1alpha1.ReasonRolloutPaused, Message: "Rollout is paused",
		}, s.now, false)
	case completed:
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.ReasonNewRSAvailable,
			Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName),
		}, s.now, false)
	default:
		cur := getCondition(st, v1alpha1.RolloutProgressing)
		if cur == nil || cur.Reason != v1alpha1.ReasonProgressDeadlineExceeded || s.progressed {
			setCondition(st, v1alpha1.RolloutCondition{
				Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.ReasonReplicaSetUpdated,
				Message: fmt.Sprintf("ReplicaSet %q is progressing.", rsName),
			}, s.now, s.progressed)
		}
		s.checkProgressDeadline(rsName)
	}

	setTwoWay(st, v1alpha1.RolloutAvailable, available >= s.replicas-s.unavailable, v1alpha1.ReasonAvailable,
		"Rollout has minimum availability", "Rollout does not have minimum availability", s.now)
	if paused {
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutPaused, Status: corev1.ConditionTrue, Reason: v1alpha1.ReasonRolloutPaused, Message: "Rollout is paused",
		}, s.now, false)
	} else if c := getCondition(st, v1alpha1.RolloutPaused); c != nil && c.Status == corev1.ConditionTrue {
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutPaused, Status: corev1.ConditionFalse, Reason: v1alpha1.ReasonRolloutResumed, Message: "Rollout is resumed",
		}, s.now, false)
	}

	st.Phase, st.Message = calculatePhase(phaseInput{
		Conditions:      st.Conditions,
		SpecPaused:      r.Spec.Paused,
		PauseConditions: st.PauseConditions,
		Desired:         s.replicas,
		Replicas:        replicas,
		Updated:         updated,
		Available:       available,
		StableRS:        st.StableRS,
		CurrentPodHash:  st.CurrentPodHash,
	})
	setTwoWay(st, v1alpha1.RolloutHealthy, st.Phase == v1alpha1.PhaseHealthy, v1alpha1.ReasonHealthy,
		"Rollout is healthy", "Rollout is not healthy", s.now)
	setTwoWay(st, v1alpha1.RolloutCompleted, completed, v1alpha1.ReasonCompleted,
		"Rollout is completed", "Rollout is not completed", s.now)
}

// checkProgressDeadline marks a Rollout that has made no progress for
// progressDeadlineSeconds, aborts it when progressDeadlineAbort is set, and
// otherwise asks for a sync at the instant the deadline would pass.
func (s *syncContext) checkProgressDeadline(rsName string) {
	st := &s.r.Status
	cond := getCondition(st, v1alpha1.RolloutProgressing)
	if cond == nil {
		return
	}
	secs := s.r.GetProgressDeadlineSeconds()
	deadline := cond.LastUpdateTime.Add(time.Duration(secs) * time.Second)
	if remaining := deadline.Sub(s.now); remaining > 0 {
		s.requeueIn(remaining)
		return
	}
	if cond.Reason != v1alpha1.ReasonProgressDeadlineExceeded {
		msg := fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName)
		setCondition(st, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.ReasonProgressDeadlineExceeded, Message: msg,
		}, s.now, false)
		s.warning(EventReasonProgressDeadline, "%s No progress for %ds.", msg, secs)
	}
	if s.r.Spec.ProgressDeadlineAbort && s.canaryActive() && !st.Abort {
		removeCondition(st, v1alpha1.RolloutProgressing)
		s.startAbort(fmt.Sprintf("progress deadline exceeded: no progress for %ds", secs))
		// The abort's scale-down happens in the next sync.
		s.requeueIn(time.Millisecond)
	}
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
// lastTransitionTime moves only when the status does.
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
	*cur = c
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
