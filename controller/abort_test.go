package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// startCanary deploys v1 and moves to image v2, leaving the rollout wherever the
// steps first hold. It returns the stable and canary hashes.
func startCanary(t *testing.T, h *harness, r *v1alpha1.Rollout) (v1, v2 string) {
	t.Helper()
	h.create(r)
	h.settle(r.Name)
	v1 = h.get(r.Name).Status.StableRS
	h.edit(r.Name, func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle(r.Name)
	return v1, h.get(r.Name).Status.CurrentPodHash
}

func (h *harness) annotate(name, key, value string) {
	h.t.Helper()
	patch := `{"metadata":{"annotations":{"` + key + `":"` + value + `"}}}`
	if _, err := h.rollouts().Patch(h.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func TestAbortThenRetry(t *testing.T) {
	h := newHarness(t)
	v1, v2 := startCanary(t, h, newRollout("cart", 10, setWeight(20), pause(), setWeight(50), pause()))
	h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
	h.settle("cart")
	wantStep(t, h, "cart", 3)
	wantCounts(t, h, "cart", map[string]int32{v1: 5, v2: 5})

	h.annotate("cart", v1alpha1.AbortReasonAnnotation, "error rate 5% on canary")
	h.patchStatus("cart", `{"status":{"abort":true}}`)
	h.settle("cart")
	r := wantStep(t, h, "cart", 0)
	wantCounts(t, h, "cart", map[string]int32{v1: 10, v2: 0})
	want := "Rollout aborted update to revision 2: error rate 5% on canary"
	if r.Status.Phase != v1alpha1.PhaseDegraded || r.Status.Message != "RolloutAborted: "+want {
		t.Fatalf("aborted: phase %q message %q, want Degraded %q", r.Status.Phase, r.Status.Message, want)
	}
	if r.Status.AbortedAt == nil || !r.Status.Abort || len(r.Status.PauseConditions) != 0 || r.Status.ControllerPause {
		t.Fatalf("aborted status: %+v", r.Status)
	}
	c := conditionOf(r, v1alpha1.RolloutProgressing)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != v1alpha1.ReasonRolloutAborted || c.Message != want {
		t.Fatalf("Progressing condition %+v", c)
	}
	if !h.hasEvent("Warning RolloutAborted " + want) {
		t.Fatalf("no abort warning event in %q", h.events)
	}
	if r.Status.StableRS != v1 {
		t.Fatalf("abort moved stableRS to %s", r.Status.StableRS)
	}

	h.patchStatus("cart", `{"status":{"abort":false}}`)
	h.settle("cart")
	r = wantStep(t, h, "cart", 1)
	if r.Status.AbortedAt != nil || abortCondition(&r.Status) != nil || r.Status.Phase != v1alpha1.PhasePaused {
		t.Fatalf("after retry: %s", h.describe("cart"))
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 8, v2: 2})
	if !h.hasEvent("Retrying update to revision 2 from step 1") {
		t.Fatalf("no retry event in %q", h.events)
	}
}

func TestAbortWithoutReasonAndNewTemplateAfterAbort(t *testing.T) {
	h := newHarness(t)
	v1, _ := startCanary(t, h, newRollout("cart", 4, setWeight(50), pause()))
	h.patchStatus("cart", `{"status":{"abort":true}}`)
	h.settle("cart")
	r := h.get("cart")
	if !strings.HasSuffix(r.Status.Message, ": "+defaultAbortReason) {
		t.Fatalf("message %q should end with the default reason", r.Status.Message)
	}
	// A third template resets the rollout without retry.
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v3" })
	h.settle("cart")
	r = wantStep(t, h, "cart", 1)
	if r.Status.Abort || r.Status.AbortedAt != nil || r.Status.Phase != v1alpha1.PhasePaused {
		t.Fatalf("new template after abort: %s", h.describe("cart"))
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 2, r.Status.CurrentPodHash: 2})
}

func TestPromoteFullFromFirstStep(t *testing.T) {
	h := newHarness(t)
	v1, v2 := startCanary(t, h, newRollout("cart", 10, setWeight(10), pause(), setWeight(50), pause()))
	wantStep(t, h, "cart", 1)
	h.patchStatus("cart", `{"status":{"promoteFull":true}}`)
	h.settle("cart")
	r := wantStep(t, h, "cart", 4)
	if r.Status.StableRS != v2 || r.Status.PromoteFull || r.Status.Phase != v1alpha1.PhaseHealthy || len(r.Status.PauseConditions) != 0 {
		t.Fatalf("after promote-full: %s", h.describe("cart"))
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 0, v2: 10})
	wantPodLabel(t, h, "cart", v2, "role", "stable", 10)
}

func TestProgressDeadlineAbort(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 4, setWeight(50), pause())
	r.Spec.ProgressDeadlineSeconds = ptr.To(int32(60))
	r.Spec.ProgressDeadlineAbort = true
	h.create(r)
	h.settle("cart")
	v1 := h.get("cart").Status.StableRS

	// The canary's pods never become ready.
	next := r.DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = "shop:v2"
	v2 := v1alpha1.PodTemplateHash(&next.Spec.Template, nil)
	h.notReady["cart-"+v2] = 100
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle("cart")
	wantStep(t, h, "cart", 0)
	key := cache.ObjectName{Namespace: testNS, Name: "cart"}
	if d, ok := h.queue.lastAfter(key); !ok || d != 60*time.Second {
		t.Fatalf("deadline requeue %v (%v), want 60s", d, ok)
	}

	h.clock.Step(61 * time.Second)
	h.settle("cart")
	r = h.get("cart")
	want := `RolloutAborted: Rollout aborted update to revision 2: ReplicaSet "cart-` + v2 + `" has timed out progressing.`
	if !r.Status.Abort || r.Status.Phase != v1alpha1.PhaseDegraded || r.Status.Message != want {
		t.Fatalf("deadline abort: abort=%v phase %q message %q", r.Status.Abort, r.Status.Phase, r.Status.Message)
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 4, v2: 0})
	if !h.hasEvent("ProgressDeadlineExceeded") {
		t.Fatalf("no deadline event: %q", h.events)
	}
}

func TestProgressDeadlineWithoutAbortIsDegradedThenRecovers(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 4, setWeight(50), pause())
	r.Spec.ProgressDeadlineSeconds = ptr.To(int32(30))
	h.create(r)
	h.settle("cart")
	next := r.DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = "shop:v2"
	v2 := v1alpha1.PodTemplateHash(&next.Spec.Template, nil)
	h.notReady["cart-"+v2] = 100
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle("cart")
	h.clock.Step(31 * time.Second)
	h.settle("cart")
	r = h.get("cart")
	if r.Status.Abort || r.Status.Phase != v1alpha1.PhaseDegraded || conditionOf(r, v1alpha1.RolloutProgressing).Reason != v1alpha1.ReasonProgressDeadlineExceeded {
		t.Fatalf("deadline without abort: %s", h.describe("cart"))
	}
	// Pods become ready: progress again, the rollout moves on to its pause.
	delete(h.notReady, "cart-"+v2)
	h.settle("cart")
	r = wantStep(t, h, "cart", 1)
	if r.Status.Phase != v1alpha1.PhasePaused {
		t.Fatalf("after recovery: %s", h.describe("cart"))
	}
}
