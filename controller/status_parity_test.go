package controller

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// cond is a condition as the parity tables compare it: everything but its times.
type cond struct{ Type, Status, Reason, Message string }

func (c cond) String() string {
	return fmt.Sprintf("%s=%s %s %q", c.Type, c.Status, c.Reason, c.Message)
}

// Argo's conditions, word for word (utils/conditions/conditions.go), with
// the statement of rollout/sync.go that writes each.
func progressingRS(rs string) cond {
	// calculateRolloutConditions: case conditions.RolloutProgressing(...):
	// NewRolloutCondition(RolloutProgressing, ConditionTrue, ReplicaSetUpdatedReason, ReplicaSetProgressingMessage)
	return cond{"Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "` + rs + `" is progressing.`}
}

func progressedRS(rs string) cond {
	// calculateRolloutConditions: case conditions.RolloutHealthy(...):
	// NewRolloutCondition(RolloutProgressing, ConditionTrue, NewRSAvailableReason, ReplicaSetCompletedMessage)
	return cond{"Progressing", "True", "NewReplicaSetAvailable", `ReplicaSet "` + rs + `" has successfully progressed.`}
}

func timedOutRS(rs string) cond {
	// calculateRolloutConditions: case !isIndefiniteStep(...) && conditions.RolloutTimedOut(...):
	// NewRolloutCondition(RolloutProgressing, ConditionFalse, TimedOutReason, ReplicaSetTimeOutMessage)
	return cond{"Progressing", "False", "ProgressDeadlineExceeded", `ReplicaSet "` + rs + `" has timed out progressing.`}
}

func abortedAt(revision int, reason string) cond {
	// calculateRolloutConditions: if isAborted: fmt.Sprintf(RolloutAbortedMessage, revision), then
	// fmt.Sprintf("%s: %s", message, abortMessage); NewRolloutCondition(RolloutProgressing, ConditionFalse, RolloutAbortedReason, message)
	return cond{"Progressing", "False", "RolloutAborted", fmt.Sprintf("Rollout aborted update to revision %d: %s", revision, reason)}
}

var (
	// checkPausedConditions: NewRolloutCondition(RolloutProgressing, ConditionUnknown, RolloutPausedReason, RolloutPausedMessage)
	progressingPaused = cond{"Progressing", "Unknown", "RolloutPaused", "Rollout is paused"}
	// checkPausedConditions: NewRolloutCondition(RolloutProgressing, ConditionUnknown, RolloutResumedReason, RolloutResumedMessage)
	progressingResumed = cond{"Progressing", "Unknown", "RolloutResumed", "Rollout is resumed"}
	// checkPausedConditions: NewRolloutCondition(RolloutProgressing, ConditionUnknown, RolloutRetryReason, RolloutRetryMessage)
	progressingRetry = cond{"Progressing", "Unknown", "RolloutRetry", "Retrying Rollout after abort"}
	// checkPausedConditions: NewRolloutCondition(RolloutPaused, condStatus, RolloutPausedReason, RolloutPausedMessage), True and False alike
	pausedTrue  = cond{"Paused", "True", "RolloutPaused", "Rollout is paused"}
	pausedFalse = cond{"Paused", "False", "RolloutPaused", "Rollout is paused"}
	// calculateRolloutConditions: NewRolloutCondition(RolloutAvailable, ..., AvailableReason, AvailableMessage | NotAvailableMessage),
	// True when the available pods of all ReplicaSets reach spec.replicas
	availableTrue  = cond{"Available", "True", "AvailableReason", "Rollout has minimum availability"}
	availableFalse = cond{"Available", "False", "AvailableReason", "Rollout does not have minimum availability"}
	// calculateRolloutConditions: NewRolloutCondition(RolloutHealthy, ..., RolloutHealthyReason, RolloutHealthyMessage | RolloutNotHealthyMessage),
	// False written only once the condition exists
	healthyTrue  = cond{"Healthy", "True", "RolloutHealthy", "Rollout is healthy"}
	healthyFalse = cond{"Healthy", "False", "RolloutHealthy", "Rollout is not healthy"}
	// calculateRolloutConditions: NewRolloutCondition(RolloutCompleted, ..., RolloutCompletedReason, RolloutCompletedReason)
	completedTrue  = cond{"Completed", "True", "RolloutCompleted", "RolloutCompleted"}
	completedFalse = cond{"Completed", "False", "RolloutCompleted", "RolloutCompleted"}
)

// wantStatus checks phase, message and the whole set of conditions.
func wantStatus(t *testing.T, r *v1alpha1.Rollout, phase v1alpha1.RolloutPhase, message string, want ...cond) {
	t.Helper()
	if r.Status.Phase != phase || r.Status.Message != message {
		t.Errorf("phase %q message %q\nwant  %q message %q", r.Status.Phase, r.Status.Message, phase, message)
	}
	var got, exp []string
	for _, c := range r.Status.Conditions {
		got = append(got, cond{string(c.Type), string(c.Status), c.Reason, c.Message}.String())
	}
	for _, c := range want {
		exp = append(exp, c.String())
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("conditions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
}

// syncUntil runs syncs and kubelet rounds until done holds of the status a
// sync wrote (checked before the kubelet moves anything).
func (h *harness) syncUntil(name, what string, done func(r *v1alpha1.Rollout) bool) *v1alpha1.Rollout {
	h.t.Helper()
	for i := 0; i < 200; i++ {
		h.sync(name)
		if r := h.get(name); done(r) {
			return r
		}
		h.kubelet()
	}
	h.t.Fatalf("rollout %s never reached %s: %s", name, what, h.describe(name))
	return nil
}

func hashOf(r *v1alpha1.Rollout, image string) string {
	next := r.DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = image
	return v1alpha1.PodTemplateHash(&next.Spec.Template, nil)
}

func newImage(image string) func(r *v1alpha1.Rollout) {
	return func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = image }
}

// TestStatusParity drives the reconciler into each state of a basic canary and
// wants the phase, message and conditions Argo Rollouts v1.9 writes in it:
// CalculateRolloutPhase (utils/rollout/rolloututil.go) for the first two,
// checkPausedConditions and calculateRolloutConditions (rollout/sync.go) for
// the conditions.
func TestStatusParity(t *testing.T) {
	base := func() *v1alpha1.Rollout { return newRollout("cart", 4, setWeight(50), pause(), setWeight(75)) }
	v1 := v1alpha1.PodTemplateHash(&base().Spec.Template, nil)
	v2 := hashOf(base(), "shop:v2")
	rs1, rs2 := "cart-"+v1, "cart-"+v2

	t.Run("healthy", func(t *testing.T) {
		// rolloututil.go: return v1alpha1.RolloutPhaseHealthy, ""
		h := newHarness(t)
		h.create(base())
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseHealthy, "",
			progressedRS(rs1), availableTrue, healthyTrue, completedTrue)
	})

	t.Run("healthy after a canary that paused", func(t *testing.T) {
		// checkPausedConditions leaves Paused False once it was True.
		h := newHarness(t)
		startCanary(t, h, base())
		h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseHealthy, "",
			progressedRS(rs2), pausedFalse, availableTrue, healthyTrue, completedTrue)
	})

	t.Run("progressing: more replicas need to be updated", func(t *testing.T) {
		// rolloututil.go: if ro.Status.UpdatedReplicas < defaults.GetReplicasOrDefault(ro.Spec.Replicas)
		h := newHarness(t)
		h.create(base())
		h.settle("cart")
		h.notReady[rs2] = 100
		h.edit("cart", newImage("shop:v2"))
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseProgressing, "more replicas need to be updated",
			progressingRS(rs2), availableFalse, healthyFalse, completedFalse)
	})

	t.Run("progressing: updated replicas are still becoming available", func(t *testing.T) {
		// rolloututil.go: if ro.Status.AvailableReplicas < ro.Status.UpdatedReplicas
		h := newHarness(t)
		h.notReady[rs1] = 1
		h.create(base())
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseProgressing, "updated replicas are still becoming available",
			progressingRS(rs1), availableFalse, completedTrue)
	})

	t.Run("progressing: old replicas are pending termination", func(t *testing.T) {
		// rolloututil.go: if ro.Status.Replicas > ro.Status.UpdatedReplicas (no traffic router)
		h := newHarness(t)
		h.create(newRollout("cart", 4))
		h.settle("cart")
		h.edit("cart", newImage("shop:v2"))
		r := h.syncUntil("cart", "old replicas pending", func(r *v1alpha1.Rollout) bool {
			return r.Status.Message == messageOldReplicasPending
		})
		wantStatus(t, r, v1alpha1.PhaseProgressing, "old replicas are pending termination",
			progressingRS(rs2), availableTrue, healthyFalse, completedTrue)
	})

	t.Run("progressing: waiting for all steps to complete", func(t *testing.T) {
		// rolloututil.go: if ro.Status.StableRS == "" || !IsFullyPromoted(&ro); every pod is
		// updated and a step is still to complete. (Argo's "waiting for analysis to
		// complete" is blue-green's: a canary at an analysis step reads this too.)
		h := newHarness(t)
		h.create(newRollout("cart", 4, setWeight(100), setWeight(100)))
		h.settle("cart")
		h.edit("cart", newImage("shop:v2"))
		r := h.syncUntil("cart", "waiting for steps", func(r *v1alpha1.Rollout) bool {
			return r.Status.Message == messageWaitingForSteps
		})
		wantStatus(t, r, v1alpha1.PhaseProgressing, "waiting for all steps to complete",
			progressingRS(rs2), availableTrue, healthyFalse, completedFalse)
	})

	t.Run("paused: CanaryPauseStep", func(t *testing.T) {
		// rolloututil.go: for _, pauseCond := range ro.Status.PauseConditions { return Paused, string(pauseCond.Reason) }
		h := newHarness(t)
		startCanary(t, h, base())
		wantStatus(t, h.get("cart"), v1alpha1.PhasePaused, "CanaryPauseStep",
			progressingPaused, pausedTrue, availableTrue, healthyFalse, completedFalse)
	})

	t.Run("paused: InconclusiveAnalysisRun", func(t *testing.T) {
		// The pause condition an Inconclusive analysis leaves; same rule as above.
		h := newHarness(t)
		startCanary(t, h, base())
		h.patchStatus("cart", `{"status":{"pauseConditions":[{"reason":"InconclusiveAnalysisRun","startTime":"2026-11-24T10:00:00Z"}]}}`)
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhasePaused, "InconclusiveAnalysisRun",
			progressingPaused, pausedTrue, availableTrue, healthyFalse, completedFalse)
	})

	t.Run("paused: manually paused", func(t *testing.T) {
		// rolloututil.go: if ro.Spec.Paused { return v1alpha1.RolloutPhasePaused, "manually paused" }
		h := newHarness(t)
		h.create(base())
		h.settle("cart")
		h.edit("cart", func(r *v1alpha1.Rollout) { newImage("shop:v2")(r); r.Spec.Paused = true })
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhasePaused, "manually paused",
			progressingPaused, pausedTrue, availableTrue, healthyFalse, completedFalse)
	})

	t.Run("progressing: resumed, no progress yet", func(t *testing.T) {
		// checkPausedConditions: a rollout no longer paused gets RolloutResumed until
		// calculateRolloutConditions sees progress.
		h := newHarness(t)
		h.create(base())
		h.settle("cart")
		h.notReady[rs2] = 100
		h.edit("cart", func(r *v1alpha1.Rollout) { newImage("shop:v2")(r); r.Spec.Paused = true })
		h.settle("cart")
		h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Paused = false })
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseProgressing, "more replicas need to be updated",
			progressingResumed, pausedFalse, availableFalse, healthyFalse, completedFalse)
	})

	t.Run("progressing: rollout is restarting", func(t *testing.T) {
		// rolloututil.go: if ro.Spec.RestartAt != nil && (ro.Status.RestartedAt == nil ||
		// !ro.Spec.RestartAt.Time.Equal(ro.Status.RestartedAt.Time)) { return Progressing, "rollout is restarting" }
		h := newHarness(t)
		h.create(base())
		h.settle("cart")
		at := metav1.NewTime(t0.Add(time.Minute))
		h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.RestartAt = &at })
		h.settle("cart")
		// RolloutHealthy does not look at restartAt: Healthy stays True.
		wantStatus(t, h.get("cart"), v1alpha1.PhaseProgressing, "rollout is restarting",
			progressedRS(rs1), availableTrue, healthyTrue, completedTrue)
		h.clock.Step(2 * time.Minute)
		h.settle("cart")
		r := h.get("cart")
		if r.Status.RestartedAt == nil || !r.Status.RestartedAt.Equal(&at) {
			t.Fatalf("restartedAt %v, want %v", r.Status.RestartedAt, at)
		}
		wantStatus(t, r, v1alpha1.PhaseHealthy, "",
			progressedRS(rs1), availableTrue, healthyTrue, completedTrue)
	})

	t.Run("aborted", func(t *testing.T) {
		// rolloututil.go: case conditions.RolloutAbortedReason: return Degraded, fmt.Sprintf("%s: %s", cond.Reason, cond.Message)
		// roost's reason (the abort-reason annotation) follows Argo's words.
		h := newHarness(t)
		startCanary(t, h, base())
		h.annotate("cart", v1alpha1.AbortReasonAnnotation, "error rate 5% on canary")
		h.patchStatus("cart", `{"status":{"abort":true}}`)
		h.settle("cart")
		// checkPausedConditions leaves Paused alone while an abort condition exists.
		wantStatus(t, h.get("cart"), v1alpha1.PhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2: error rate 5% on canary",
			abortedAt(2, "error rate 5% on canary"), pausedTrue, availableTrue, healthyFalse, completedFalse)
	})

	t.Run("aborted without a reason", func(t *testing.T) {
		// `kubectl argo rollouts abort` leaves no reason: Argo's words, then roost's default.
		h := newHarness(t)
		startCanary(t, h, base())
		h.patchStatus("cart", `{"status":{"abort":true}}`)
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2: "+defaultAbortReason,
			abortedAt(2, defaultAbortReason), pausedTrue, availableTrue, healthyFalse, completedFalse)
	})

	t.Run("retrying after abort", func(t *testing.T) {
		// checkPausedConditions: if !c.rollout.Status.Abort && abortCondExists { RolloutRetry }
		h := newHarness(t)
		startCanary(t, h, base())
		h.patchStatus("cart", `{"status":{"abort":true}}`)
		h.settle("cart")
		h.patchStatus("cart", `{"status":{"abort":false}}`)
		h.sync("cart")
		r := h.get("cart")
		wantStatus(t, r, v1alpha1.PhaseProgressing, "more replicas need to be updated",
			progressingRetry, pausedFalse, availableTrue, healthyFalse, completedFalse)
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhasePaused, "CanaryPauseStep",
			progressingPaused, pausedTrue, availableTrue, healthyFalse, completedFalse)
	})

	t.Run("degraded: progress deadline exceeded", func(t *testing.T) {
		// rolloututil.go: case conditions.TimedOutReason: return Degraded, fmt.Sprintf("%s: %s", cond.Reason, cond.Message)
		h := newHarness(t)
		r := base()
		r.Spec.ProgressDeadlineSeconds = ptr.To(int32(30))
		h.create(r)
		h.settle("cart")
		h.notReady[rs2] = 100
		h.edit("cart", newImage("shop:v2"))
		h.settle("cart")
		h.clock.Step(31 * time.Second)
		h.settle("cart")
		wantStatus(t, h.get("cart"), v1alpha1.PhaseDegraded, `ProgressDeadlineExceeded: ReplicaSet "`+rs2+`" has timed out progressing.`,
			timedOutRS(rs2), availableFalse, healthyFalse, completedFalse)
	})

	t.Run("aborted by the progress deadline", func(t *testing.T) {
		// calculateRolloutConditions: if c.rollout.Spec.ProgressDeadlineAbort { c.pauseContext.AddAbort(msg) }:
		// the abort message is the timeout's.
		h := newHarness(t)
		r := base()
		r.Spec.ProgressDeadlineSeconds = ptr.To(int32(30))
		r.Spec.ProgressDeadlineAbort = true
		h.create(r)
		h.settle("cart")
		h.notReady[rs2] = 100
		h.edit("cart", newImage("shop:v2"))
		h.settle("cart")
		h.clock.Step(31 * time.Second)
		h.settle("cart")
		timedOut := `ReplicaSet "` + rs2 + `" has timed out progressing.`
		wantStatus(t, h.get("cart"), v1alpha1.PhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2: "+timedOut,
			abortedAt(2, timedOut), availableTrue, healthyFalse, completedFalse)
	})

	t.Run("invalid", func(t *testing.T) {
		// rolloututil.go: if cond.Type == v1alpha1.InvalidSpec { return Degraded, fmt.Sprintf("%s: %s", v1alpha1.InvalidSpec, cond.Message) }
		// controller.go createInvalidRolloutCondition: NewRolloutCondition(InvalidSpec, ConditionTrue, InvalidSpecReason,
		// fmt.Sprintf("The Rollout \"%s\" is invalid: %s", r.Name, validationError.Error()))
		h := newHarness(t)
		r := base()
		r.Spec.Strategy.Canary.MaxSurge = ptr.To(intstr.FromString("lots"))
		h.create(r)
		h.sync("cart")
		got := h.getInvalid("cart")
		c := conditionOf(got, v1alpha1.InvalidSpec)
		if c == nil || !strings.HasPrefix(c.Message, `The Rollout "cart" is invalid: `) {
			t.Fatalf("InvalidSpec condition %+v", c)
		}
		wantStatus(t, got, v1alpha1.PhaseDegraded, "InvalidSpec: "+c.Message,
			cond{"InvalidSpec", "True", "InvalidSpec", c.Message})
	})

	t.Run("invalid after an abort reads the abort first", func(t *testing.T) {
		// rolloututil.go reads the conditions in order, one pass: the abort's condition
		// comes before an InvalidSpec condition added later; Degraded either way.
		h := newHarness(t)
		startCanary(t, h, base())
		h.patchStatus("cart", `{"status":{"abort":true}}`)
		h.settle("cart")
		h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Strategy.Canary.MaxSurge = ptr.To(intstr.FromString("lots")) })
		h.sync("cart")
		got := h.getInvalid("cart")
		if conditionOf(got, v1alpha1.InvalidSpec) == nil {
			t.Fatalf("no InvalidSpec condition: %+v", got.Status.Conditions)
		}
		if got.Status.Phase != v1alpha1.PhaseDegraded || got.Status.Message != "RolloutAborted: Rollout aborted update to revision 2: "+defaultAbortReason {
			t.Fatalf("phase %q message %q", got.Status.Phase, got.Status.Message)
		}
	})
}

// An analysis step, like a pause step, is "indefinite" in Argo (isIndefiniteStep,
// rollout/sync.go): the progress deadline does not run there.
func TestIndefiniteSteps(t *testing.T) {
	steps := []v1alpha1.CanaryStep{setWeight(20), pause(), {Analysis: &v1alpha1.RolloutAnalysis{}}}
	for i, want := range []bool{false, true, true, false} {
		s := &syncContext{r: newRollout("cart", 4, steps...), steps: steps}
		s.r.Status.CurrentStepIndex = ptr.To(int32(i))
		if got := s.atIndefiniteStep(); got != want {
			t.Errorf("step %d: indefinite %v, want %v", i, got, want)
		}
	}
}
