package watch

import (
	"context"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// mapSource is a Source over plain maps, counting the derivations it serves.
type mapSource struct {
	rollouts map[Key]*v1alpha1.Rollout
	reads    int
}

func (m *mapSource) Rollout(k Key) (*v1alpha1.Rollout, error) {
	m.reads++
	return m.rollouts[k], nil
}

func (m *mapSource) Objects(Key) ([]*appsv1.ReplicaSet, []*Pod, []*corev1.Event) {
	return nil, nil, nil
}

func named(ns, name string, mutate func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
	return rollout(func(r *v1alpha1.Rollout) {
		r.Namespace, r.Name = ns, name
		if mutate != nil {
			mutate(r)
		}
	})
}

func healthy(r *v1alpha1.Rollout) {
	r.Status.Phase, r.Status.PauseConditions = v1alpha1.PhaseHealthy, nil
	r.Status.StableRS = r.Status.CurrentPodHash
	r.Status.CurrentStepIndex = ptr(int32(4))
}

func progressing(r *v1alpha1.Rollout) {
	r.Status.Phase, r.Status.PauseConditions = v1alpha1.PhaseProgressing, nil
}

func timedPause(r *v1alpha1.Rollout) {
	r.Status.CurrentStepIndex = ptr(int32(3))
}

func names(list []*Rollout) []string {
	var out []string
	for _, v := range list {
		out = append(out, v.Namespace+"/"+v.Name)
	}
	return out
}

func TestOverviewOrder(t *testing.T) {
	src := &mapSource{rollouts: map[Key]*v1alpha1.Rollout{}}
	for _, r := range []*v1alpha1.Rollout{
		named("shop", "a-healthy", healthy),
		named("bank", "z-healthy", healthy),
		named("shop", "progressing", progressing),
		named("shop", "timed-pause", timedPause),
		named("shop", "awaiting", nil),
		named("bank", "awaiting", nil),
		named("shop", "manually-paused", func(r *v1alpha1.Rollout) { progressing(r); r.Spec.Paused = true }),
		named("shop", "degraded", func(r *v1alpha1.Rollout) { r.Status.Phase = v1alpha1.PhaseDegraded }),
		named("shop", "aborted", func(r *v1alpha1.Rollout) { r.Status.Abort = true; r.Status.Phase = v1alpha1.PhaseDegraded }),
		named("shop", "unreported", func(r *v1alpha1.Rollout) { r.Status = v1alpha1.RolloutStatus{} }),
	} {
		src.rollouts[key(r.Namespace, r.Name)] = r
	}
	s := NewStore(src)
	var keys []Key
	for k := range src.rollouts {
		keys = append(keys, k)
	}
	s.Update(keys, now)
	want := []string{
		"shop/aborted", "shop/degraded",
		"bank/awaiting", "shop/awaiting", "shop/manually-paused",
		"shop/progressing", "shop/timed-pause", "shop/unreported",
		"bank/z-healthy", "shop/a-healthy",
	}
	if got := names(s.Overview()); !reflect.DeepEqual(got, want) {
		t.Errorf("overview\n%v\nwant\n%v", got, want)
	}
	if got := s.Timed(); !reflect.DeepEqual(got, []Key{key("shop", "timed-pause")}) {
		t.Errorf("Timed() = %v, want [shop/timed-pause]", got)
	}
}

func TestStoreRederivesOnlyDirtyRollouts(t *testing.T) {
	src := &mapSource{rollouts: map[Key]*v1alpha1.Rollout{
		key("shop", "a"): named("shop", "a", healthy),
		key("shop", "b"): named("shop", "b", healthy),
	}}
	s := NewStore(src)
	s.Update([]Key{key("shop", "a"), key("shop", "b")}, now)
	first := s.Overview()
	aBefore, _ := s.Detail(key("shop", "a"))

	src.reads = 0
	src.rollouts[key("shop", "b")] = named("shop", "b", func(r *v1alpha1.Rollout) { r.Status.Phase = v1alpha1.PhaseDegraded })
	s.Update([]Key{key("shop", "b")}, now.Add(time.Minute))
	if src.reads != 1 {
		t.Errorf("%d rollouts re-derived, want only the dirty one", src.reads)
	}
	if aAfter, _ := s.Detail(key("shop", "a")); aAfter != aBefore {
		t.Error("a clean rollout's snapshot was replaced")
	}
	if got := names(s.Overview()); !reflect.DeepEqual(got, []string{"shop/b", "shop/a"}) {
		t.Errorf("overview %v, want the degraded one first", got)
	}
	if got := names(first); !reflect.DeepEqual(got, []string{"shop/a", "shop/b"}) {
		t.Errorf("a list already served changed under its reader: %v", got)
	}

	delete(src.rollouts, key("shop", "a"))
	if n := s.Update([]Key{key("shop", "a"), key("shop", "never-existed")}, now); n != 1 {
		t.Errorf("Update reported %d changes, want 1 (the removal)", n)
	}
	if _, ok := s.Detail(key("shop", "a")); ok || s.Len() != 1 {
		t.Errorf("a deleted rollout stays in the store (%d rollouts)", s.Len())
	}
	if got := names(s.Overview()); !reflect.DeepEqual(got, []string{"shop/b"}) {
		t.Errorf("overview after delete: %v", got)
	}
}

// TestStoreOnWatcher runs the whole live path on fake clientsets: informers →
// dirty keys → Store → overview and detail.
func TestStoreOnWatcher(t *testing.T) {
	checkout := newApp("shop", "checkout", 8, 2)
	checkout.ro.Status.StableRS, checkout.ro.Status.CurrentPodHash = "old", "new"
	cart := newApp("shop", "cart", 2, 0)
	healthy(cart.ro)
	c := newCluster(t, checkout, cart)
	c.start(Options{})
	c.collect(key("shop", "checkout"), key("shop", "cart"))
	s := NewStore(c.w)
	s.Update([]Key{key("shop", "checkout"), key("shop", "cart")}, now)
	if got := names(s.Overview()); !reflect.DeepEqual(got, []string{"shop/checkout", "shop/cart"}) {
		t.Fatalf("overview %v", got)
	}
	v, ok := s.Detail(key("shop", "checkout"))
	if !ok || v.Stable == nil || v.Canary == nil || v.Stable.PodsByRole["stable"] != 8 || v.Canary.PodsByRole["canary"] != 2 || v.ActualWeight != 20 {
		t.Fatalf("checkout detail: %+v", v)
	}

	// A canary pod fails; an Event records a promote.
	ctx := context.Background()
	p := checkout.pods[8].DeepCopy()
	p.Status.Phase = corev1.PodFailed
	if _, err := c.kube.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := event("RolloutResumed", "promoted", "alice", 0)
	e.Name, e.InvolvedObject.UID = "checkout.promote", checkout.ro.UID
	if _, err := c.kube.CoreV1().Events("shop").Create(ctx, e, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, ok, _ := c.w.eventInformer.GetStore().GetByKey("shop/checkout.promote")
		obj, _, _ := c.w.podInformer.GetStore().GetByKey("shop/" + p.Name)
		return ok && obj.(*Pod).Phase == corev1.PodFailed
	})
	c.collect(key("shop", "checkout"))
	s.Update([]Key{key("shop", "checkout")}, now)
	v, _ = s.Detail(key("shop", "checkout"))
	if v.Canary.PodsByRole["canary"] != 1 || len(v.Events) != 1 || v.Events[0].Actor != "alice" {
		t.Errorf("after the changes: canary pods %v, events %+v", v.Canary.PodsByRole, v.Events)
	}

	if err := c.dynamic.Resource(v1alpha1.RolloutGVR).Namespace("shop").Delete(ctx, "cart", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.collect(key("shop", "cart"))
	s.Update([]Key{key("shop", "cart")}, now)
	if got := names(s.Overview()); !reflect.DeepEqual(got, []string{"shop/checkout"}) {
		t.Errorf("overview after deleting cart: %v", got)
	}
}

// TestRolloutDecodedOncePerVersion: a rollout re-derived for its pods or
// runs is not decoded again; a new resourceVersion is.
func TestRolloutDecodedOncePerVersion(t *testing.T) {
	a := newApp("shop", "checkout", 1, 1)
	a.ro.ResourceVersion = "7"
	c := newCluster(t, a)
	c.start(Options{})
	k := key("shop", "checkout")
	first, err := c.w.Rollout(k)
	if err != nil || first == nil {
		t.Fatalf("Rollout: %v, %v", first, err)
	}
	again, _ := c.w.Rollout(k)
	if again != first {
		t.Fatal("the same resourceVersion was decoded twice")
	}
	u, _ := v1alpha1.ToUnstructured(a.ro)
	u.SetResourceVersion("8")
	u.SetAnnotations(map[string]string{"changed": "yes"})
	if err := c.w.rolloutInformer.GetIndexer().Update(u); err != nil {
		t.Fatal(err)
	}
	next, _ := c.w.Rollout(k)
	if next == first || next.Annotations["changed"] != "yes" {
		t.Fatalf("a new resourceVersion was not decoded: %v", next.Annotations)
	}
	if err := c.w.rolloutInformer.GetIndexer().Delete(u); err != nil {
		t.Fatal(err)
	}
	if gone, _ := c.w.Rollout(k); gone != nil {
		t.Fatal("a deleted rollout is still served")
	}
	if _, ok := c.w.decoded.Load(k); ok {
		t.Fatal("a deleted rollout's decoding is kept")
	}
}
