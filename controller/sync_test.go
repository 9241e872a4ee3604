package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func wantCounts(t *testing.T, h *harness, name string, want map[string]int32) {
	t.Helper()
	got := h.counts(name)
	for hash, n := range want {
		if got[hash] != n {
			t.Fatalf("replicaset %s-%s has %d replicas, want %d (all: %v)\n%s", name, hash, got[hash], n, got, h.describe(name))
		}
	}
}

func wantPodLabel(t *testing.T, h *harness, name, hash, key, value string, n int) {
	t.Helper()
	rs := h.rsOf(name, hash)
	if rs == nil {
		t.Fatalf("no replicaset %s-%s", name, hash)
	}
	if got := rs.Spec.Template.Labels[key]; got != value {
		t.Errorf("replicaset %s template label %s=%q, want %q", rs.Name, key, got, value)
	}
	pods := h.podsOf(rs)
	if len(pods) != n {
		t.Fatalf("replicaset %s has %d pods, want %d", rs.Name, len(pods), n)
	}
	for _, p := range pods {
		if p.Labels[key] != value {
			t.Errorf("pod %s label %s=%q, want %q", p.Name, key, p.Labels[key], value)
		}
	}
}

func wantStep(t *testing.T, h *harness, name string, step int32) *v1alpha1.Rollout {
	t.Helper()
	r := h.get(name)
	if got := stepOf(r); got != step {
		t.Fatalf("currentStepIndex %d, want %d\n%s", got, step, h.describe(name))
	}
	return r
}

// TestCanaryWholeFlow drives the canary of the issue: setWeight 20 → pause{} →
// promote → setWeight 50 → pause 30s → 100% and the stable switch.
func TestCanaryWholeFlow(t *testing.T) {
	h := newHarness(t)
	h.create(newRollout("checkout", 10, setWeight(20), pause(), setWeight(50), pauseFor("30s")))
	h.settle("checkout")

	r := h.get("checkout")
	v1 := r.Status.StableRS
	if v1 == "" || v1 != r.Status.CurrentPodHash {
		t.Fatalf("first deploy: stableRS %q, currentPodHash %q; want both the template hash", v1, r.Status.CurrentPodHash)
	}
	if r.Status.Phase != v1alpha1.PhaseHealthy || r.Status.ObservedGeneration != "1" || r.Status.Selector != "app=checkout" {
		t.Fatalf("first deploy: phase %q observedGeneration %q selector %q", r.Status.Phase, r.Status.ObservedGeneration, r.Status.Selector)
	}
	if r.Status.Replicas != 10 || r.Status.UpdatedReplicas != 10 || r.Status.AvailableReplicas != 10 || r.Status.ReadyReplicas != 10 {
		t.Fatalf("first deploy counts: %+v", r.Status)
	}
	if c := conditionOf(r, v1alpha1.RolloutCompleted); c == nil || c.Status != corev1.ConditionTrue {
		t.Fatalf("Completed condition %+v", c)
	}
	if stepOf(r) != 4 {
		t.Fatalf("first deploy skips the steps: index %d, want 4", stepOf(r))
	}
	wantCounts(t, h, "checkout", map[string]int32{v1: 10})
	wantPodLabel(t, h, "checkout", v1, "role", "stable", 10)
	if rs := h.rsOf("checkout", v1); rs.Annotations[v1alpha1.RevisionAnnotation] != "1" ||
		rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != v1 ||
		rs.Spec.Selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] != v1 ||
		rs.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != v1 ||
		rs.OwnerReferences[0].Kind != "Rollout" || !*rs.OwnerReferences[0].Controller {
		t.Fatalf("replicaset naming/labels/owner wrong: %+v", rs.ObjectMeta)
	}

	// A new image: step 1 (20%) runs, then the indefinite pause holds.
	h.edit("checkout", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle("checkout")
	r = wantStep(t, h, "checkout", 1)
	v2 := r.Status.CurrentPodHash
	if v2 == v1 {
		t.Fatal("new template kept the old hash")
	}
	if len(r.Status.PauseConditions) != 1 || r.Status.PauseConditions[0].Reason != v1alpha1.PauseReasonCanaryPauseStep || !r.Status.ControllerPause {
		t.Fatalf("pause step: pauseConditions %+v controllerPause %v", r.Status.PauseConditions, r.Status.ControllerPause)
	}
	if r.Status.Phase != v1alpha1.PhasePaused || r.Status.Message != "CanaryPauseStep" {
		t.Fatalf("paused phase %q %q", r.Status.Phase, r.Status.Message)
	}
	wantCounts(t, h, "checkout", map[string]int32{v1: 8, v2: 2})
	wantPodLabel(t, h, "checkout", v2, "role", "canary", 2)
	wantPodLabel(t, h, "checkout", v1, "role", "stable", 8)
	if rs := h.rsOf("checkout", v2); rs.Annotations[v1alpha1.RevisionAnnotation] != "2" ||
		rs.Annotations[v1alpha1.EphemeralMetadataAnnotation] != `{"labels":{"role":"canary"}}` {
		t.Fatalf("canary annotations %v", rs.Annotations)
	}
	for _, e := range []string{"Step 1/4: set weight 20 completed", "Paused at step 2/4 (pause until promoted)"} {
		if !h.hasEvent(e) {
			t.Errorf("no event %q in %q", e, h.events)
		}
	}

	// Promote as the CLI does: drop the pause conditions.
	h.patchStatus("checkout", `{"status":{"pauseConditions":null}}`)
	h.settle("checkout")
	r = wantStep(t, h, "checkout", 3)
	wantCounts(t, h, "checkout", map[string]int32{v1: 5, v2: 5})
	if !h.hasEvent("Promoted: Step 2/4: pause") || !h.hasEvent("Paused at step 4/4 (pause 30s)") {
		t.Errorf("promote events missing: %q", h.events)
	}
	key := cache.ObjectName{Namespace: testNS, Name: "checkout"}
	if d, ok := h.queue.lastAfter(key); !ok || d != 30*time.Second {
		t.Fatalf("timed pause requeue %v (%v), want 30s", d, ok)
	}

	// 10s later the remaining time is asked for, not a poll interval.
	h.clock.Step(10 * time.Second)
	h.queue.reset()
	h.sync("checkout")
	wantStep(t, h, "checkout", 3)
	if d, ok := h.queue.lastAfter(key); !ok || d != 20*time.Second {
		t.Fatalf("timed pause requeue after 10s: %v (%v), want 20s", d, ok)
	}

	// The pause ends; 100%; the canary becomes stable and is relabelled in place.
	before := h.podsOf(h.rsOf("checkout", v2))
	h.clock.Step(20 * time.Second)
	h.settle("checkout")
	r = wantStep(t, h, "checkout", 4)
	if r.Status.StableRS != v2 || r.Status.Phase != v1alpha1.PhaseHealthy || len(r.Status.PauseConditions) != 0 || r.Status.ControllerPause {
		t.Fatalf("after completion: %s", h.describe("checkout"))
	}
	wantCounts(t, h, "checkout", map[string]int32{v1: 0, v2: 10})
	wantPodLabel(t, h, "checkout", v2, "role", "stable", 10)
	if !h.hasEvent("RolloutCompleted") {
		t.Errorf("no completion event: %q", h.events)
	}
	// The canary's pods from before the switch are still there: relabelled,
	// not replaced.
	names := map[string]bool{}
	for _, p := range h.podsOf(h.rsOf("checkout", v2)) {
		names[p.Name] = true
	}
	for _, p := range before {
		if !names[p.Name] {
			t.Errorf("canary pod %s was replaced instead of relabelled", p.Name)
		}
	}
}
