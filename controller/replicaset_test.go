package controller

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestNewTemplateMidRolloutDrainsTheMiddleOne(t *testing.T) {
	h := newHarness(t)
	v1, v2 := startCanary(t, h, newRollout("cart", 10, setWeight(30), pause(), setWeight(60), pause()))
	h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
	h.settle("cart")
	wantCounts(t, h, "cart", map[string]int32{v1: 4, v2: 6})

	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v3" })
	h.settle("cart")
	r := wantStep(t, h, "cart", 1)
	v3 := r.Status.CurrentPodHash
	if v3 == v2 || v3 == v1 || r.Status.StableRS != v1 {
		t.Fatalf("third template: %s", h.describe("cart"))
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 7, v2: 0, v3: 3})
	if rs := h.rsOf("cart", v3); rs.Annotations[v1alpha1.RevisionAnnotation] != "3" {
		t.Fatalf("third replicaset revision %q", rs.Annotations[v1alpha1.RevisionAnnotation])
	}
	// The drained middle one keeps its canary labels; nobody serves from it.
	if n := len(h.podsOf(h.rsOf("cart", v2))); n != 0 {
		t.Fatalf("middle replicaset still has %d pods", n)
	}
}

func TestRollbackToStableSkipsSteps(t *testing.T) {
	h := newHarness(t)
	v1, v2 := startCanary(t, h, newRollout("cart", 10, setWeight(20), pause(), setWeight(50), pause()))
	wantCounts(t, h, "cart", map[string]int32{v1: 8, v2: 2})

	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v1" })
	h.settle("cart")
	r := wantStep(t, h, "cart", 4)
	if r.Status.CurrentPodHash != v1 || r.Status.StableRS != v1 || r.Status.Phase != v1alpha1.PhaseHealthy || len(r.Status.PauseConditions) != 0 {
		t.Fatalf("rollback: %s", h.describe("cart"))
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 10, v2: 0})
	wantPodLabel(t, h, "cart", v1, "role", "stable", 10)
	// A template that comes back is a new revision, as with Deployments.
	if rev := h.rsOf("cart", v1).Annotations[v1alpha1.RevisionAnnotation]; rev != "3" {
		t.Fatalf("rolled-back replicaset revision %q, want 3", rev)
	}
	if !h.hasEvent("RollbackToStable") {
		t.Fatalf("no rollback event: %q", h.events)
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 2)
	r.Spec.RevisionHistoryLimit = ptr.To(int32(1))
	h.create(r)
	h.settle("cart")
	var hashes []string
	for _, img := range []string{"v2", "v3", "v4"} {
		h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:" + img })
		h.settle("cart")
		hashes = append(hashes, h.get("cart").Status.StableRS)
	}
	rss := h.replicaSets()
	if len(rss) != 2 {
		t.Fatalf("%d replicasets kept, want the stable one and 1 old one", len(rss))
	}
	if rss[0].Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != hashes[1] || rss[1].Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != hashes[2] {
		t.Fatalf("kept %s and %s, want the v3 and v4 replicasets", rss[0].Name, rss[1].Name)
	}
}

func TestAdoptsOrphanReplicaSet(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 3)
	hash := v1alpha1.PodTemplateHash(&r.Spec.Template, nil)
	orphan := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "cart-" + hash, Namespace: testNS, UID: "orphan-uid",
			Labels:      map[string]string{"app": "cart", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "4"}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cart", v1alpha1.DefaultRolloutUniqueLabelKey: hash}}},
	}
	if _, err := h.kube.AppsV1().ReplicaSets(testNS).Create(h.ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.create(r)
	h.settle("cart")
	rss := h.replicaSets()
	if len(rss) != 1 {
		t.Fatalf("%d replicasets, want the adopted one only", len(rss))
	}
	ref := metav1.GetControllerOf(rss[0])
	if ref == nil || ref.UID != r.UID || ref.Kind != "Rollout" {
		t.Fatalf("owner %+v", ref)
	}
	if got := h.get("cart"); got.Status.Phase != v1alpha1.PhaseHealthy || got.Status.StableRS != hash {
		t.Fatalf("after adoption: %s", h.describe("cart"))
	}
}

func TestHashCollisionBumpsCollisionCount(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 2)
	hash := v1alpha1.PodTemplateHash(&r.Spec.Template, nil)
	// Another owner holds the name the template hashes to.
	other := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "cart-" + hash, Namespace: testNS, UID: "other",
			Labels: map[string]string{"app": "other"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "cart", UID: "deploy",
				Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}},
	}
	if _, err := h.kube.AppsV1().ReplicaSets(testNS).Create(h.ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.create(r)
	h.settle("cart")
	got := h.get("cart")
	if got.Status.CollisionCount == nil || *got.Status.CollisionCount != 1 {
		t.Fatalf("collisionCount %v", got.Status.CollisionCount)
	}
	want := v1alpha1.PodTemplateHash(&r.Spec.Template, ptr.To(int32(1)))
	if got.Status.StableRS != want || h.rsOf("cart", want) == nil || got.Status.Phase != v1alpha1.PhaseHealthy {
		t.Fatalf("after collision: %s", h.describe("cart"))
	}
	if !h.hasEvent("HashCollision") {
		t.Fatalf("no collision event: %q", h.events)
	}
}

func TestNewReplicaSetShape(t *testing.T) {
	r := newRollout("cart", 5, setWeight(20))
	r.Spec.MinReadySeconds = 7
	s := &syncContext{r: r, newHash: "abc123", replicas: 5}
	rs := s.newReplicaSet(2, 3)
	if rs.Name != "cart-abc123" || *rs.Spec.Replicas != 2 || rs.Spec.MinReadySeconds != 7 {
		t.Fatalf("name/replicas/minReadySeconds: %s %d %d", rs.Name, *rs.Spec.Replicas, rs.Spec.MinReadySeconds)
	}
	if rs.Annotations[v1alpha1.RevisionAnnotation] != "3" || rs.Annotations[v1alpha1.DesiredReplicasAnnotation] != "5" {
		t.Fatalf("annotations %v", rs.Annotations)
	}
	for what, l := range map[string]map[string]string{"labels": rs.Labels, "selector": rs.Spec.Selector.MatchLabels, "template": rs.Spec.Template.Labels} {
		if l[v1alpha1.DefaultRolloutUniqueLabelKey] != "abc123" || l["app"] != "cart" {
			t.Errorf("%s %v lack the hash or app label", what, l)
		}
	}
	ref := rs.OwnerReferences[0]
	if ref.APIVersion != "argoproj.io/v1alpha1" || ref.Kind != "Rollout" || !*ref.Controller || !*ref.BlockOwnerDeletion || ref.UID != r.UID {
		t.Fatalf("owner reference %+v", ref)
	}
	// The Rollout's own template is untouched.
	if _, ok := r.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
		t.Fatal("newReplicaSet changed the Rollout's template")
	}
}

func TestRestartAtEvictsOldPodsWithinMaxUnavailable(t *testing.T) {
	h := newHarness(t)
	h.create(newRollout("cart", 4))
	h.settle("cart")
	rs := h.replicaSets()[0]
	before := map[string]bool{}
	for _, p := range h.podsOf(rs) {
		before[p.Name] = true
	}
	h.clock.Step(time.Minute)
	at := metav1.NewTime(t0.Add(2 * time.Minute))
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.RestartAt = &at })
	h.sync("cart")
	if d, _ := h.queue.lastAfter(cache.ObjectName{Namespace: testNS, Name: "cart"}); d != time.Minute {
		t.Fatalf("restart in the future: requeue %v, want 1m", d)
	}
	if len(h.podsOf(rs)) != 4 {
		t.Fatal("pods evicted before restartAt")
	}
	h.clock.Step(time.Minute)
	for i := 0; i < 50; i++ {
		h.clearActions()
		h.sync("cart")
		evictions := 0
		for _, a := range h.kube.Actions() {
			if a.GetSubresource() == "eviction" {
				evictions++
			}
		}
		// maxUnavailable 25% of 4 = 1 pod at a time.
		if evictions > 1 {
			t.Fatalf("%d evictions in one sync, want at most 1", evictions)
		}
		h.kubelet()
		if h.writes() == 0 {
			break
		}
	}
	for _, p := range h.podsOf(rs) {
		if before[p.Name] {
			t.Errorf("pod %s was not restarted", p.Name)
		}
	}
	r := h.get("cart")
	if r.Status.RestartedAt == nil || !r.Status.RestartedAt.Equal(&at) || r.Status.Phase != v1alpha1.PhaseHealthy {
		t.Fatalf("restartedAt %v phase %s", r.Status.RestartedAt, r.Status.Phase)
	}
	if !h.hasEvent("RolloutRestarted") {
		t.Fatalf("no restart event: %q", h.events)
	}
}

// TestStableReplicaSetDeletedMidCanary: with nothing to fall back to, the new
// template goes to 100% and becomes stable, as on a first deploy.
func TestStableReplicaSetDeletedMidCanary(t *testing.T) {
	h := newHarness(t)
	v1, v2 := startCanary(t, h, newRollout("cart", 4, setWeight(25), pause()))
	wantStep(t, h, "cart", 1)
	if err := h.kube.AppsV1().ReplicaSets(testNS).Delete(h.ctx, "cart-"+v1, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.settle("cart")
	r := h.get("cart")
	if r.Status.StableRS != v2 || r.Status.Phase != v1alpha1.PhaseHealthy || len(r.Status.PauseConditions) != 0 {
		t.Fatalf("after losing the stable replicaset: %s", h.describe("cart"))
	}
	wantCounts(t, h, "cart", map[string]int32{v2: 4})
	wantPodLabel(t, h, "cart", v2, "role", "stable", 4)
}

// An undo copies a ReplicaSet's template back into the Rollout, defaults filled
// in by the API server included; that template hashes differently, yet it is
// the same pods: the existing ReplicaSet must serve as the new one.
func TestUndoTemplateWithServerDefaultsReusesReplicaSet(t *testing.T) {
	h := newHarness(t)
	r := newRollout("cart", 10, setWeight(20), pause())
	r.Spec.Strategy.Canary.CanaryMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}}
	r.Spec.Strategy.Canary.StableMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}}
	v1, v2 := startCanary(t, h, r)

	// The API server defaults pod templates of ReplicaSets.
	rs := h.rsOf("cart", v1).DeepCopy()
	for i := range rs.Spec.Template.Spec.Containers {
		rs.Spec.Template.Spec.Containers[i].TerminationMessagePath = "/dev/termination-log"
		rs.Spec.Template.Spec.Containers[i].ImagePullPolicy = "IfNotPresent"
	}
	rs.Spec.Template.Spec.RestartPolicy = "Always"
	rs.Spec.Template.Spec.SchedulerName = "default-scheduler"
	if _, err := h.kube.AppsV1().ReplicaSets(rs.Namespace).Update(h.ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.refresh()

	// What roost undo writes: that template without the hash label and the
	// labels injected from stableMetadata.
	restored := rs.Spec.Template.DeepCopy()
	delete(restored.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	delete(restored.Labels, "role")
	if v1alpha1.PodTemplateHash(restored, nil) == v1 {
		t.Fatal("test setup: the defaulted template should hash differently")
	}
	before := len(h.replicaSets())
	h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template = *restored })
	h.settle("cart")

	got := h.get("cart")
	if got.Status.CurrentPodHash != v1 || got.Status.StableRS != v1 || got.Status.Phase != v1alpha1.PhaseHealthy {
		t.Fatalf("undo to the stable template: %s", h.describe("cart"))
	}
	if n := len(h.replicaSets()); n != before {
		t.Fatalf("undo created a ReplicaSet: %d before, %d after", before, n)
	}
	wantCounts(t, h, "cart", map[string]int32{v1: 10, v2: 0})
}
