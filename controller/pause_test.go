package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestSpecPausedHoldsTheSteps(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 10, setWeight(20), setWeight(60), pause())
	h.create(r)
	h.settle("cart")
	v1 := h.get("cart").Status.StableRS
	h.edit("cart", func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "shop:v2"
		r.Spec.Paused = true
	})
	h.settle("cart")
	r = wantStep(t, h, "cart", 0)
	v2 := r.Status.CurrentPodHash
	if r.Status.Phase != v1alpha1.PhasePaused || r.Status.Message != "manually paused" {
		t.Fatalf("spec.paused: %s", h.describe("cart"))
	}
	if c := conditionOf(r, v1alpha1.RolloutPaused); c == nil || c.Status != corev1.ConditionTrue {
		t.Fatalf("Paused condition %+v", c)
	}
	// Replicas keep the current step's weight, but the step does not advance.
	wantCounts(t, h, "cart", map[string]int32{v1: 8, v2: 2})

	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Paused = false })
	h.settle("cart")
	r = wantStep(t, h, "cart", 2)
	wantCounts(t, h, "cart", map[string]int32{v1: 4, v2: 6})
	if c := conditionOf(r, v1alpha1.RolloutPaused); c == nil || c.Status != corev1.ConditionTrue || c.Reason != v1alpha1.ReasonRolloutPaused {
		t.Fatalf("pause step: Paused condition %+v", c)
	}
	if c := conditionOf(r, v1alpha1.RolloutProgressing); c.Status != corev1.ConditionUnknown || c.Reason != v1alpha1.ReasonRolloutPaused {
		t.Fatalf("Progressing while paused: %+v", c)
	}
	h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
	h.settle("cart")
	r = wantStep(t, h, "cart", 3)
	// Argo writes a resumed rollout's Paused condition False with the reason
	// and message it had while True (rollout/sync.go, checkPausedConditions).
	if c := conditionOf(r, v1alpha1.RolloutPaused); c.Status != corev1.ConditionFalse || c.Reason != v1alpha1.ReasonRolloutPaused || c.Message != "Rollout is paused" {
		t.Fatalf("after promote: Paused condition %+v", c)
	}
}

func TestPromoteByStepIndexWithoutPauseCondition(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 10, setWeight(20), pause(), setWeight(50), pause())
	h.create(r)
	h.settle("cart")
	next := r.DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = "shop:v2"
	v2 := v1alpha1.PodTemplateHash(&next.Spec.Template, nil)
	// The canary cannot become ready, so step 0 never completes on its own.
	h.notReady["cart-"+v2] = 100
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle("cart")
	wantStep(t, h, "cart", 0)
	// `kubectl argo rollouts promote` with no pause condition moves the index.
	h.patchStatus("cart", `{"status":{"currentStepIndex":2}}`)
	delete(h.notReady, "cart-"+v2)
	h.settle("cart")
	wantStep(t, h, "cart", 3)
	wantCounts(t, h, "cart", map[string]int32{v2: 5})
}

func TestZeroPauseAndTimedPauseWakeUp(t *testing.T) {
	h := newHarness(t)
	h.create(newRollout("cart", 4, pauseFor("0s"), setWeight(50), pauseFor("2m"), setWeight(75)))
	h.settle("cart")
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle("cart")
	r := wantStep(t, h, "cart", 2)
	if len(r.Status.PauseConditions) != 1 || !r.Status.PauseConditions[0].StartTime.Time.Equal(t0) {
		t.Fatalf("timed pause condition %+v", r.Status.PauseConditions)
	}
	key := cache.ObjectName{Namespace: testNS, Name: "cart"}
	if d, _ := h.queue.lastAfter(key); d != 2*time.Minute {
		t.Fatalf("requeue %v, want 2m", d)
	}
	// Before the end nothing moves.
	h.clock.Step(time.Minute + 59*time.Second)
	h.settle("cart")
	wantStep(t, h, "cart", 2)
	if d, _ := h.queue.lastAfter(key); d != time.Second {
		t.Fatalf("requeue %v, want 1s", d)
	}
	h.clock.Step(time.Second)
	h.settle("cart")
	wantStep(t, h, "cart", 4)
	if !h.hasEvent("Pause of 2m ended: Step 3/4: pause 2m") {
		t.Fatalf("no pause-ended event: %q", h.events)
	}
}

func TestNegativeStepIndexFromAClientIsStepZero(t *testing.T) {
	h := newHarness(t)
	_, v2 := startCanary(t, h, newRollout("cart", 10, setWeight(20), pause()))
	h.patchStatus("cart", `{"status":{"currentStepIndex":-3,"pauseConditions":null,"controllerPause":false}}`)
	h.settle("cart")
	wantStep(t, h, "cart", 1)
	wantCounts(t, h, "cart", map[string]int32{v2: 2})
}
