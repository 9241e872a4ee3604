package controller

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestOverlay(t *testing.T) {
	m := map[string]string{"app": "cart", "role": "canary", "team": "pay"}
	tests := []struct {
		name      string
		had, want map[string]string
		out       map[string]string
	}{
		{"canary to stable rewrites the injected key", map[string]string{"role": "canary"}, map[string]string{"role": "stable"},
			map[string]string{"app": "cart", "role": "stable", "team": "pay"}},
		{"a key no longer wanted is removed", map[string]string{"role": "canary"}, nil,
			map[string]string{"app": "cart", "team": "pay"}},
		{"keys never injected are kept", nil, map[string]string{"track": "a"},
			map[string]string{"app": "cart", "role": "canary", "team": "pay", "track": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := overlay(m, tt.had, tt.want)
			if !reflect.DeepEqual(got, tt.out) {
				t.Fatalf("overlay = %v, want %v", got, tt.out)
			}
		})
	}
	if m["role"] != "canary" || len(m) != 3 {
		t.Fatalf("overlay changed its input: %v", m)
	}
	same := overlay(m, map[string]string{"role": "canary"}, map[string]string{"role": "canary"})
	if reflect.ValueOf(same).Pointer() != reflect.ValueOf(m).Pointer() {
		t.Fatal("overlay allocated although nothing changed")
	}
}

func TestDiffForPatch(t *testing.T) {
	got := diffForPatch(map[string]string{"a": "1", "b": "2", "c": "3"}, map[string]string{"a": "1", "b": "9", "d": "4"})
	want := map[string]any{"b": "9", "c": nil, "d": "4"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diffForPatch = %v, want %v", got, want)
	}
	if diffForPatch(map[string]string{"a": "1"}, map[string]string{"a": "1"}) != nil {
		t.Fatal("no change should give no patch")
	}
}

// TestEphemeralMetadataKeepsForeignLabels changes canaryMetadata mid-rollout:
// the key it no longer sets goes away from the canary pods, and a label some
// other tool put on a pod stays.
func TestEphemeralMetadataKeepsForeignLabels(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 4, setWeight(50), pause())
	r.Spec.Strategy.Canary.CanaryMetadata.Labels["track"] = "canary"
	r.Spec.Strategy.Canary.CanaryMetadata.Annotations = map[string]string{"example.com/canary": "yes"}
	_, v2 := startCanary(t, h, r)
	rs := h.rsOf("cart", v2)
	pods := h.podsOf(rs)
	if len(pods) != 2 || pods[0].Labels["track"] != "canary" || pods[0].Annotations["example.com/canary"] != "yes" {
		t.Fatalf("canary pods: %+v", pods)
	}
	// Another tool labels a pod.
	patch := []byte(`{"metadata":{"labels":{"owner":"oncall"}}}`)
	if _, err := h.kube.CoreV1().Pods(testNS).Patch(h.ctx, pods[0].Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	h.edit("cart", func(r *v1alpha1.Rollout) {
		r.Spec.Strategy.Canary.CanaryMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}}
	})
	h.settle("cart")
	wantStep(t, h, "cart", 1)
	rs = h.rsOf("cart", v2)
	if _, ok := rs.Spec.Template.Labels["track"]; ok {
		t.Fatalf("template still has the dropped label: %v", rs.Spec.Template.Labels)
	}
	if rs.Annotations[v1alpha1.EphemeralMetadataAnnotation] != `{"labels":{"role":"canary"}}` {
		t.Fatalf("record %q", rs.Annotations[v1alpha1.EphemeralMetadataAnnotation])
	}
	for _, p := range h.podsOf(rs) {
		if _, ok := p.Labels["track"]; ok {
			t.Errorf("pod %s keeps dropped label track", p.Name)
		}
		if _, ok := p.Annotations["example.com/canary"]; ok {
			t.Errorf("pod %s keeps dropped annotation", p.Name)
		}
		if p.Labels["role"] != "canary" {
			t.Errorf("pod %s lost role=canary", p.Name)
		}
		if p.Name == pods[0].Name && p.Labels["owner"] != "oncall" {
			t.Errorf("pod %s lost a label roost never set: %v", p.Name, p.Labels)
		}
	}
}
