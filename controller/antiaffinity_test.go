package controller

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func preferredAntiAffinity(weight int32) *v1alpha1.AntiAffinity {
	return &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: weight}}
}

func requiredAntiAffinity() *v1alpha1.AntiAffinity {
	return &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}
}

// wantTerm is the term Argo Rollouts injects against the stable hash.
func wantTerm(stable string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "rollouts-pod-template-hash", Operator: metav1.LabelSelectorOpIn, Values: []string{stable},
		}}},
		Namespaces:  []string{testNS},
		TopologyKey: "kubernetes.io/hostname",
	}
}

// TestAntiAffinityPreferred: the canary ReplicaSet gets a preferred term of
// the configured weight against the stable hash, after the template's own
// terms; the stable ReplicaSet keeps its template as it was; the hashes are
// those of the templates without the term.
func TestAntiAffinityPreferred(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 4, setWeight(50), pause())
	own := corev1.WeightedPodAffinityTerm{Weight: 10, PodAffinityTerm: corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}, TopologyKey: "topology.kubernetes.io/zone",
	}}
	r.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{own},
	}}
	r.Spec.Strategy.Canary.AntiAffinity = preferredAntiAffinity(60)
	v1, v2 := startCanary(t, h, r)
	wantStep(t, h, "cart", 1)

	cur := h.get("cart")
	if v2 != v1alpha1.PodTemplateHash(&cur.Spec.Template, nil) {
		t.Fatalf("currentPodHash %s is not the hash of the template without the term", v2)
	}
	canary := h.rsOf("cart", v2).Spec.Template.Spec.Affinity
	want := []corev1.WeightedPodAffinityTerm{own, {Weight: 60, PodAffinityTerm: wantTerm(v1)}}
	if canary == nil || !reflect.DeepEqual(canary.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, want) {
		t.Fatalf("canary affinity %+v, want preferred %+v", canary, want)
	}
	if canary.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		t.Fatalf("a preferred rule must not add a required term: %+v", canary.PodAntiAffinity)
	}
	stable := h.rsOf("cart", v1).Spec.Template.Spec.Affinity
	if !reflect.DeepEqual(stable, r.Spec.Template.Spec.Affinity) {
		t.Fatalf("stable affinity changed: %+v", stable)
	}
	// At rest, nothing is rewritten.
	h.clearActions()
	h.sync("cart")
	if n := h.writes(); n != 0 {
		t.Fatalf("%d writes at rest", n)
	}
}

// TestAntiAffinityRequiredRemovedOnPromotion: a required term goes into the
// canary ReplicaSet's pod template and comes off it once it is the stable
// one; the first deploy gets none.
func TestAntiAffinityRequiredRemovedOnPromotion(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 4, setWeight(50), pause())
	r.Spec.Strategy.Canary.AntiAffinity = requiredAntiAffinity()
	// No ephemeral metadata: at promotion the term is the only thing that
	// changes on the ReplicaSet.
	r.Spec.Strategy.Canary.CanaryMetadata, r.Spec.Strategy.Canary.StableMetadata = nil, nil
	h.create(r)
	h.settle("cart")
	v1 := h.get("cart").Status.StableRS
	if a := h.rsOf("cart", v1).Spec.Template.Spec.Affinity; a != nil {
		t.Fatalf("first deploy got affinity %+v", a)
	}
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })
	h.settle("cart")
	v2 := h.get("cart").Status.CurrentPodHash
	canary := h.rsOf("cart", v2).Spec.Template.Spec.Affinity
	if canary == nil || !reflect.DeepEqual(canary.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, []corev1.PodAffinityTerm{wantTerm(v1)}) {
		t.Fatalf("canary affinity %+v", canary)
	}

	h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
	h.settle("cart")
	got := h.get("cart")
	if got.Status.StableRS != v2 {
		t.Fatalf("not promoted:\n%s", h.describe("cart"))
	}
	if a := h.rsOf("cart", v2).Spec.Template.Spec.Affinity; a != nil {
		t.Fatalf("the stable ReplicaSet still has affinity %+v", a)
	}
	if h.rsOf("cart", v2).Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != v2 {
		t.Fatal("the ReplicaSet's hash changed")
	}
}

// TestAntiAffinityFollowsStable: a ReplicaSet that is the canary again (a
// return to an older, non-stable template) gets its term pointed at the
// current stable, not at the one it was made against.
func TestAntiAffinityFollowsStable(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 2, setWeight(50), pause())
	r.Spec.Strategy.Canary.AntiAffinity = preferredAntiAffinity(1)
	v1, v2 := startCanary(t, h, r)
	h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
	h.settle("cart")
	// v2 is stable; v3 goes out, and then v1 comes back as a canary.
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v3" })
	h.settle("cart")
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v1" })
	h.settle("cart")
	if got := h.get("cart").Status; got.StableRS != v2 || got.CurrentPodHash != v1 {
		t.Fatalf("stable %s current %s, want %s %s", got.StableRS, got.CurrentPodHash, v2, v1)
	}
	a := h.rsOf("cart", v1).Spec.Template.Spec.Affinity
	want := []corev1.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: wantTerm(v2)}}
	if a == nil || !reflect.DeepEqual(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, want) {
		t.Fatalf("revived canary affinity %+v, want %+v", a, want)
	}
}

// TestAntiAffinityTemplateMatch: a ReplicaSet whose template carries the
// injected term (as roost or Argo Rollouts writes it) is still the ReplicaSet
// of the Rollout's template; only the canary gets the term.
func TestAntiAffinityTemplateMatch(t *testing.T) {
	r := newRollout("cart", 2)
	r.Status.StableRS = "abc"
	r.Spec.Strategy.Canary.AntiAffinity = requiredAntiAffinity()
	live := r.Spec.Template.DeepCopy()
	live.Spec.Affinity = replicaSetAffinity(r, nil, "def")
	if live.Spec.Affinity == nil {
		t.Fatal("no term injected for a canary")
	}
	if !templateMatches(live, &r.Spec.Template, injectedMetadata{}) {
		t.Fatal("a template with the injected term does not match its Rollout's")
	}
	if got := replicaSetAffinity(r, nil, "abc"); got != nil {
		t.Fatalf("the stable ReplicaSet got %+v", got)
	}
	if got := withoutInjectedAntiAffinity(live.Spec.Affinity); got != nil {
		t.Fatalf("removing the only term left %+v", got)
	}
	r.Spec.Strategy.Canary.AntiAffinity = nil
	if got := replicaSetAffinity(r, nil, "def"); got != nil {
		t.Fatalf("no antiAffinity, yet %+v", got)
	}
}
