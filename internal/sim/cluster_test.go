package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestScenarioHelpersRefuseBadInput(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	noNS := canary("web")
	noNS.Namespace = ""
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil rollout", c.CreateRollout(ctx, nil), "no rollout given"},
		{"no name", c.CreateRollout(ctx, canary("")), "metadata.name"},
		{"no namespace", c.Apply(ctx, noNS), "rollout web has no metadata.namespace"},
		{"no such rollout", c.SetImage(testNS, "ghost", "shop:v2"), "rollout shop/ghost: no such rollout"},
		{"empty image", c.SetImage(testNS, "web", ""), "the image is empty"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, tt.err, tt.want)
		}
	}
	if _, err := c.Pods(testNS, "app in (x"); err == nil || !strings.Contains(err.Error(), `pod selector "app in (x"`) {
		t.Errorf("bad selector: got %v", err)
	}
	if err := c.CreateRollout(ctx, canary("web")); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRollout(ctx, canary("web")); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: got %v, want AlreadyExists", err)
	}
}

func TestApplyCreatesThenUpdatesTheSpec(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	r := canary("web", setWeight(50))
	if err := c.Apply(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.rollouts(testNS).Patch(ctx, "web", types.MergePatchType, []byte(`{"status":{"phase":"Healthy"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	r.Spec.Replicas = ptr.To(int32(4))
	r.Labels = map[string]string{"team": "checkout"}
	if err := c.Apply(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := rolloutState(t, c, "web")
	if got.GetReplicas() != 4 || got.Labels["team"] != "checkout" || got.Generation != 2 || got.Status.Phase != v1alpha1.PhaseHealthy {
		t.Errorf("after the second apply: replicas %d, labels %v, generation %d, phase %q; want 4, team=checkout, 2, Healthy (kept)",
			got.GetReplicas(), got.Labels, got.Generation, got.Status.Phase)
	}
}

// An undo copies a ReplicaSet's template, with the defaults the API server
// gave it, back into the Rollout: roost must recognise the old ReplicaSet
// rather than make a second one for the same pods.
func TestUndoReturnsToTheOldReplicaSet(t *testing.T) {
	c := running(t, fast)
	reconciling(t, c)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("web", setWeight(50))); err != nil {
		t.Fatal(err)
	}
	first := healthy(t, c, "web", 20*time.Second)
	if err := c.SetImage(testNS, "web", "shop:v2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "v2 healthy", func() (bool, string) {
		v := look(t, c, "web")
		return v.r.Status.Phase == v1alpha1.PhaseHealthy && v.stable != nil && v.stable.Name != first.stable.Name && v.readyWithRole(v.stable, "stable") == 10, v.String()
	})
	if _, err := actions.NewActions(c.Dynamic, c.Kube, "tester").Undo(ctx, testNS, "web", 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "back on the first ReplicaSet", func() (bool, string) {
		v := look(t, c, "web")
		ok := v.r.Status.Phase == v1alpha1.PhaseHealthy && v.stable != nil && v.stable.Name == first.stable.Name &&
			v.readyWithRole(v.stable, "stable") == 10 && len(v.rss) == 2
		return ok, v.String()
	})
}
