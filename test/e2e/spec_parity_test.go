//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// TestFormerlyRefusedFieldsStepped creates, on the real API server, a
// Rollout with every field roost used to refuse and Argo Rollouts steps
// without a traffic router: dynamicStableScale: false written out,
// minPodsPerReplicaSet, replicaProgressThreshold and a preferred
// antiAffinity. It steps it to the end: the canary ReplicaSet and its pods
// carry Argo's anti-affinity term against the stable hash, the stable
// ReplicaSet does not, and the term is gone once the canary is the stable
// one. A second Rollout with a required antiAffinity gets the required term:
// on the one kwok node, where the stable pods run, the scheduler leaves its
// canary pod Pending, which is what the rule is for.
func TestFormerlyRefusedFieldsStepped(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	ctx := context.Background()
	client := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns)

	const app = "parity"
	u, err := v1alpha1.ToUnstructured(kwokRollout(ns, app).Replicas(4).Image("registry.example/parity:v1").
		Steps(rollouttest.SetWeight(50), rollouttest.Pause()).Rollout())
	if err != nil {
		t.Fatal(err)
	}
	for path, v := range map[string]any{
		"dynamicStableScale":       false,
		"minPodsPerReplicaSet":     int64(2),
		"replicaProgressThreshold": map[string]any{"type": "Percent", "value": int64(50)},
		"antiAffinity":             map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": map[string]any{"weight": int64(40)}},
	} {
		if err := unstructured.SetNestedField(u.Object, v, "spec", "strategy", "canary", path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create rollout %s: %v", app, err)
	}
	got, err := client.Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, found, _ := unstructured.NestedBool(got.Object, "spec", "strategy", "canary", "dynamicStableScale"); !found || v {
		t.Fatalf("the API server did not keep dynamicStableScale: false (found %t)", found)
	}
	first := awaitRollout(t, ns, app, 60*time.Second, "first revision Healthy", healthy)
	v1 := first.Status.StableRS

	setImage(t, ns, app, "registry.example/parity:v2")
	paused := awaitRollout(t, ns, app, 60*time.Second, "50% canary, paused at step 2", func(r *v1alpha1.Rollout) bool {
		return observed(r) && stepIndex(r) == 1 && r.Status.Phase == v1alpha1.PhasePaused && r.Status.CurrentPodHash != v1
	})
	v2 := paused.Status.CurrentPodHash
	awaitPods(t, ns, app, "2 canary + 2 stable pods", map[string]int{v1 + "/stable": 2, v2 + "/canary": 2}, map[string]int32{v1: 2, v2: 2})

	term := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: v1alpha1.DefaultRolloutUniqueLabelKey, Operator: metav1.LabelSelectorOpIn, Values: []string{v1},
		}}},
		Namespaces:  []string{ns},
		TopologyKey: "kubernetes.io/hostname",
	}
	want := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 40, PodAffinityTerm: term}},
	}}
	sets, err := replicaSetsByHash(ctx, ns, app)
	if err != nil {
		t.Fatal(err)
	}
	canaryRS, stableRS := sets[v2], sets[v1]
	if !sameAffinity(canaryRS.Spec.Template.Spec.Affinity, want) {
		t.Fatalf("canary ReplicaSet %s affinity:\n  %s\nwant Argo's term:\n  %s", canaryRS.Name, canaryRS.Spec.Template.Spec.Affinity, want)
	}
	if a := stableRS.Spec.Template.Spec.Affinity; a != nil {
		t.Fatalf("stable ReplicaSet %s got affinity %s", stableRS.Name, a)
	}
	if canaryRS.Name != app+"-"+v2 || canaryRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != v2 {
		t.Fatalf("canary ReplicaSet %s labelled %s: the term must not change the pod-template hash %s", canaryRS.Name, canaryRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], v2)
	}
	pods, err := env.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey + "=" + v2})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if !sameAffinity(p.Spec.Affinity, want) {
			t.Fatalf("canary pod %s affinity %s, want %s", p.Name, p.Spec.Affinity, want)
		}
	}

	if _, err := actions.NewActions(dynamicClient(t), env.Client(), "e2e").Promote(ctx, ns, app); err != nil {
		t.Fatalf("promote: %v", err)
	}
	done := awaitRollout(t, ns, app, 60*time.Second, "promoted to the end", healthy)
	if done.Status.StableRS != v2 {
		t.Fatalf("stableRS %s, want %s", done.Status.StableRS, v2)
	}
	eventually(t, 30*time.Second, "the term gone from the new stable ReplicaSet", func(ctx context.Context) (bool, string, error) {
		sets, err := replicaSetsByHash(ctx, ns, app)
		if err != nil {
			return false, "", err
		}
		a := sets[v2].Spec.Template.Spec.Affinity
		return a == nil, fmt.Sprintf("affinity %s", a), nil
	})

	// Required: the canary pod may not share the node with a stable pod.
	const req = "parity-required"
	ru, err := v1alpha1.ToUnstructured(kwokRollout(ns, req).Replicas(2).Image("registry.example/parity:v1").
		Steps(rollouttest.SetWeight(50), rollouttest.Pause()).Rollout())
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(ru.Object, map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{}}, "spec", "strategy", "canary", "antiAffinity"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Create(ctx, ru, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create rollout %s: %v", req, err)
	}
	r1 := awaitRollout(t, ns, req, 60*time.Second, "first revision Healthy", healthy).Status.StableRS
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/parity:v2"}]}}}}`
	if _, err := client.Patch(ctx, req, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	term.LabelSelector.MatchExpressions[0].Values = []string{r1}
	wantReq := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}}}
	eventually(t, 60*time.Second, "a canary pod carrying the required term, left Pending by the scheduler", func(ctx context.Context) (bool, string, error) {
		r, err := getRollout(ctx, t, ns, req)
		if err != nil {
			return false, "", err
		}
		r2 := r.Status.CurrentPodHash
		if r2 == r1 {
			return false, "no canary yet", nil
		}
		sets, err := replicaSetsByHash(ctx, ns, req)
		if err != nil {
			return false, "", err
		}
		if a := sets[r2].Spec.Template.Spec.Affinity; !sameAffinity(a, wantReq) {
			return false, fmt.Sprintf("canary ReplicaSet affinity %s", a), nil
		}
		pods, err := env.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey + "=" + r2})
		if err != nil {
			return false, "", err
		}
		for _, p := range pods.Items {
			if sameAffinity(p.Spec.Affinity, wantReq) && p.Status.Phase == corev1.PodPending && unschedulable(p) {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d canary pods, none Pending as unschedulable", len(pods.Items)), nil
	})
}

// sameAffinity compares affinities as the API server returns them (empty
// lists for omitted ones).
func sameAffinity(got, want *corev1.Affinity) bool {
	if got == nil || want == nil {
		return got == want
	}
	norm := func(a *corev1.Affinity) *corev1.Affinity {
		a = a.DeepCopy()
		if pa := a.PodAntiAffinity; pa != nil {
			for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
				normTerm(&pa.RequiredDuringSchedulingIgnoredDuringExecution[i])
			}
			for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
				normTerm(&pa.PreferredDuringSchedulingIgnoredDuringExecution[i].PodAffinityTerm)
			}
			if len(pa.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
				pa.RequiredDuringSchedulingIgnoredDuringExecution = nil
			}
			if len(pa.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
				pa.PreferredDuringSchedulingIgnoredDuringExecution = nil
			}
		}
		return a
	}
	return reflect.DeepEqual(norm(got), norm(want))
}

func normTerm(t *corev1.PodAffinityTerm) {
	if len(t.MatchLabelKeys) == 0 {
		t.MatchLabelKeys = nil
	}
	if len(t.MismatchLabelKeys) == 0 {
		t.MismatchLabelKeys = nil
	}
	if t.LabelSelector != nil && len(t.LabelSelector.MatchLabels) == 0 {
		t.LabelSelector.MatchLabels = nil
	}
}

// unschedulable is true for a pod the scheduler found no node for.
func unschedulable(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}
