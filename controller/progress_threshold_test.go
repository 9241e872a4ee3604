package controller

import (
	"testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestProgressShortfall(t *testing.T) {
	pct := func(v int32) *v1alpha1.ReplicaProgressThreshold {
		return &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePercentage, Value: v}
	}
	pods := func(v int32) *v1alpha1.ReplicaProgressThreshold {
		return &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePod, Value: v}
	}
	tests := []struct {
		name   string
		t      *v1alpha1.ReplicaProgressThreshold
		target int32
		want   int32
	}{
		{"none: every pod", nil, 5, 0},
		{"80% of 5: 4 needed (Argo's 4/5 = 80% >= 80%)", pct(80), 5, 1},
		{"80% of 4: 3.2 rounds up to 4", pct(80), 4, 0},
		{"50% of 3: 2 needed", pct(50), 3, 1},
		{"0%: none needed", pct(0), 3, 3},
		{"100%: all", pct(100), 7, 0},
		{"3 pods of 5", pods(3), 5, 2},
		{"more pods than the target: the target", pods(9), 5, 0},
		{"target 0", pct(10), 0, 0},
	}
	for _, tt := range tests {
		if got := progressShortfall(tt.t, tt.target); got != tt.want {
			t.Errorf("%s: progressShortfall = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestReplicaProgressThreshold: with 80% of the canary available the
// setWeight step completes, as in Argo Rollouts; without the threshold the
// same rollout waits for every canary pod. The final switch still needs them
// all.
func TestReplicaProgressThreshold(t *testing.T) {
	for _, threshold := range []*v1alpha1.ReplicaProgressThreshold{nil, {Type: v1alpha1.ProgressTypePercentage, Value: 80}} {
		h := newHarness(t)
		r := newRollout("cart", 10, setWeight(50), pause())
		r.Spec.Strategy.Canary.ReplicaProgressThreshold = threshold
		h.create(r)
		h.settle("cart")
		v2 := hashOfImage(h.get("cart"), "shop:v2")
		h.notReady["cart-"+v2] = 1
		h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
		h.settle("cart")
		want := int32(0)
		if threshold != nil {
			want = 1
		}
		wantStep(t, h, "cart", want)
		if threshold == nil {
			continue
		}
		// Promoted past the pause, the canary goes to 100% but one pod is
		// still not available: no switch.
		h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
		h.settle("cart")
		if got := h.get("cart").Status.StableRS; got == v2 {
			t.Fatalf("stable switched with a pod unavailable:\n%s", h.describe("cart"))
		}
		h.notReady["cart-"+v2] = 0
		h.settle("cart")
		if got := h.get("cart").Status.StableRS; got != v2 {
			t.Fatalf("not promoted once every pod is available:\n%s", h.describe("cart"))
		}
	}
}

func hashOfImage(r *v1alpha1.Rollout, image string) string {
	next := r.DeepCopy()
	next.Spec.Template.Spec.Containers[0].Image = image
	return v1alpha1.PodTemplateHash(&next.Spec.Template, nil)
}
