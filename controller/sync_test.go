package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

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
	if pc := pauseCondition(&r.Status); pc == nil || !pc.StartTime.Time.Equal(t0) || !r.Status.ControllerPause {
		t.Fatalf("timed pause condition %+v", r.Status.PauseConditions)
	}
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

// TestInvalidRollouts checks that each malformed Rollout ends with InvalidSpec
// naming the field, that no ReplicaSet or Pod is written for it, and that a
// valid Rollout next to it still progresses.
func TestInvalidRollouts(t *testing.T) {
	steps := func(u map[string]any) []any {
		return u["spec"].(map[string]any)["strategy"].(map[string]any)["canary"].(map[string]any)["steps"].([]any)
	}
	canary := func(u map[string]any) map[string]any {
		return u["spec"].(map[string]any)["strategy"].(map[string]any)["canary"].(map[string]any)
	}
	spec := func(u map[string]any) map[string]any { return u["spec"].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(u map[string]any)
		field  string
	}{
		{"weight 150", func(u map[string]any) { steps(u)[0].(map[string]any)["setWeight"] = int64(150) }, "spec.strategy.steps[0].setWeight"},
		{"weight -1", func(u map[string]any) { steps(u)[0].(map[string]any)["setWeight"] = int64(-1) }, "spec.strategy.steps[0].setWeight"},
		{"duration abc", func(u map[string]any) { steps(u)[1] = map[string]any{"pause": map[string]any{"duration": "abc"}} }, "spec.strategy.steps[1].pause.duration"},
		{"negative duration", func(u map[string]any) { steps(u)[1] = map[string]any{"pause": map[string]any{"duration": int64(-5)}} }, "spec.strategy.steps[1].pause.duration"},
		{"negative duration string", func(u map[string]any) { steps(u)[1] = map[string]any{"pause": map[string]any{"duration": "-30s"}} }, "spec.strategy.steps[1].pause.duration"},
		{"setWeight and pause in one step", func(u map[string]any) {
			steps(u)[0] = map[string]any{"setWeight": int64(10), "pause": map[string]any{}}
		}, "spec.strategy.steps[0]"},
		{"empty step", func(u map[string]any) { steps(u)[0] = map[string]any{} }, "spec.strategy.steps[0]"},
		{"no selector", func(u map[string]any) { delete(spec(u), "selector") }, "spec.selector"},
		{"selector not matching template", func(u map[string]any) {
			spec(u)["selector"] = map[string]any{"matchLabels": map[string]any{"app": "other"}}
		}, "spec.template.metadata.labels"},
		{"maxSurge and maxUnavailable 0", func(u map[string]any) {
			canary(u)["maxSurge"] = int64(0)
			canary(u)["maxUnavailable"] = "0%"
		}, "spec.strategy.maxSurge"},
		{"maxSurge not a number", func(u map[string]any) { canary(u)["maxSurge"] = "lots" }, "spec.strategy.canary.maxSurge"},
		{"negative replicas", func(u map[string]any) { spec(u)["replicas"] = int64(-3) }, "spec.replicas"},
		{"trafficRouting", func(u map[string]any) {
			canary(u)["trafficRouting"] = map[string]any{"nginx": map[string]any{"stableIngress": "web"}}
		}, "spec.strategy.canary.trafficRouting"},
		{"experiment step", func(u map[string]any) {
			steps(u)[0] = map[string]any{"experiment": map[string]any{"duration": "1h"}}
		}, "spec.strategy.canary.steps[0].experiment"},
		{"analysis step", func(u map[string]any) {
			steps(u)[0] = map[string]any{"analysis": map[string]any{"templates": []any{map[string]any{"templateName": "rate"}}}}
		}, "spec.strategy.canary.steps[0].analysis"},
		{"setCanaryScale step", func(u map[string]any) {
			steps(u)[0] = map[string]any{"setCanaryScale": map[string]any{"replicas": int64(3)}}
		}, "spec.strategy.canary.steps[0].setCanaryScale"},
		{"workloadRef", func(u map[string]any) {
			spec(u)["workloadRef"] = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
		}, "spec.workloadRef"},
		{"blueGreen", func(u map[string]any) {
			spec(u)["strategy"] = map[string]any{"blueGreen": map[string]any{"activeService": "web"}}
		}, "spec.strategy.blueGreen"},
		{"no strategy", func(u map[string]any) { delete(spec(u), "strategy") }, "spec.strategy.canary"},
		{"unknown field", func(u map[string]any) { spec(u)["replica"] = int64(3) }, "spec.replica"},
		{"replicas of the wrong type", func(u map[string]any) { spec(u)["replicas"] = "three" }, "spec.replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			u, err := v1alpha1.ToUnstructured(newRollout("bad", 3, setWeight(20), pause()))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(u.Object)
			h.createUnstructured(u)
			h.create(newRollout("good", 3, setWeight(20), pause()))

			for range 2 {
				h.clearActions()
				h.sync("bad")
				for _, a := range h.kube.Actions() {
					switch a.GetVerb() {
					case "create", "update", "patch", "delete":
						t.Fatalf("invalid rollout caused %s on %s", a.GetVerb(), a.GetResource().Resource)
					}
				}
			}
			r := h.getInvalid("bad")
			c := conditionOf(r, v1alpha1.InvalidSpec)
			if c == nil || c.Status != corev1.ConditionTrue || c.Reason != v1alpha1.ReasonInvalidSpec {
				t.Fatalf("InvalidSpec condition %+v", c)
			}
			if !strings.Contains(c.Message, tt.field) || !strings.Contains(c.Message, `"bad"`) {
				t.Fatalf("message %q does not name %s", c.Message, tt.field)
			}
			if r.Status.Phase != v1alpha1.PhaseDegraded || r.Status.Message != "InvalidSpec: "+c.Message || r.Status.ObservedGeneration != "1" {
				t.Fatalf("phase %q message %q observedGeneration %q", r.Status.Phase, r.Status.Message, r.Status.ObservedGeneration)
			}
			warnings := 0
			for _, e := range h.events {
				if strings.HasPrefix(e, "Warning InvalidSpec") {
					warnings++
				}
			}
			if warnings != 1 {
				t.Fatalf("%d InvalidSpec warnings after two syncs, want 1: %q", warnings, h.events)
			}

			h.settle("good")
			if g := h.get("good"); g.Status.Phase != v1alpha1.PhaseHealthy || h.rsOf("good", g.Status.StableRS) == nil {
				t.Fatalf("valid neighbour: %s", h.describe("good"))
			}
			if n := len(h.counts("bad")); n != 0 {
				t.Fatalf("invalid rollout has %d replicasets", n)
			}
		})
	}
}

func TestInvalidRolloutRecovers(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 2, setWeight(150))
	h.create(r)
	h.sync("cart")
	if conditionOf(h.get("cart"), v1alpha1.InvalidSpec) == nil {
		t.Fatal("no InvalidSpec condition")
	}
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Strategy.Canary.Steps[0].SetWeight = ptr.To(int32(50)) })
	h.settle("cart")
	got := h.get("cart")
	if conditionOf(got, v1alpha1.InvalidSpec) != nil || got.Status.Phase != v1alpha1.PhaseHealthy || got.Status.ObservedGeneration != "2" {
		t.Fatalf("after fixing the spec: %s", h.describe("cart"))
	}
}

func TestDeletedRolloutIsNoError(t *testing.T) {
	h := newHarness(t)
	h.refresh()
	if err := h.c.SyncOnce(h.ctx, testNS, "gone"); err != nil {
		t.Fatalf("sync of a deleted rollout: %v", err)
	}
}

func TestDesiredWeight(t *testing.T) {
	steps := []v1alpha1.CanaryStep{setWeight(10), pause(), setWeight(40), pauseFor("1m"), setWeight(80)}
	tests := []struct {
		name               string
		index              int32
		promoteFull, abort bool
		want               int32
	}{
		{"at a setWeight step", 0, false, false, 10},
		{"pause after 10", 1, false, false, 10},
		{"moving to 40", 2, false, false, 40},
		{"pause after 40", 3, false, false, 40},
		{"done", 5, false, false, 100},
		{"aborted", 3, false, true, 0},
		{"promote full", 1, true, false, 100},
	}
	for _, tt := range tests {
		if got := desiredWeight(steps, tt.index, tt.promoteFull, tt.abort); got != tt.want {
			t.Errorf("%s: weight %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := desiredWeight([]v1alpha1.CanaryStep{pause(), setWeight(30)}, 0, false, false); got != 0 {
		t.Errorf("pause before any setWeight: weight %d, want 0", got)
	}
}
