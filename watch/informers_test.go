package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// app is one rollout with a stable and a canary ReplicaSet and their pods,
// named and owned as roost and Argo Rollouts name and own them.
type app struct {
	ro     *v1alpha1.Rollout
	stable *appsv1.ReplicaSet
	canary *appsv1.ReplicaSet
	pods   []*corev1.Pod
}

func newApp(ns, name string, stablePods, canaryPods int) app {
	a := app{ro: rollout(func(r *v1alpha1.Rollout) {
		r.Namespace, r.Name, r.UID = ns, name, types.UID(ns+"/"+name)
	})}
	a.stable = ownedRS(a.ro, "old", "1", int32(stablePods))
	a.canary = ownedRS(a.ro, "new", "2", int32(canaryPods))
	a.pods = append(ownedPods(a.stable, "stable", stablePods), ownedPods(a.canary, "canary", canaryPods)...)
	return a
}

func ownedRS(ro *v1alpha1.Rollout, hash, rev string, n int32) *appsv1.ReplicaSet {
	name := ro.Name + "-" + hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ro.Namespace, UID: types.UID(ro.Namespace + "/" + name),
			Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash, "app": ro.Name},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: ro.Name, UID: ro.UID, Controller: ptr(true)}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(n), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: ro.Name + ":" + rev}}},
		}},
		Status: appsv1.ReplicaSetStatus{Replicas: n, ReadyReplicas: n, AvailableReplicas: n},
	}
}

func ownedPods(rs *appsv1.ReplicaSet, role string, n int) []*corev1.Pod {
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		out = append(out, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d", rs.Name, i), Namespace: rs.Namespace, UID: types.UID(fmt.Sprintf("%s-%d", rs.UID, i)),
				Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], RoleLabel: role},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr(true)}},
			},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		})
	}
	return out
}

// cluster is a Watcher running on fake clientsets.
type cluster struct {
	t       testing.TB
	kube    *kubefake.Clientset
	dynamic *dynamicfake.FakeDynamicClient
	w       *Watcher
	ctx     context.Context
	// watches counts started watches, so a test knows the informers listen.
	watches atomic.Int32
}

func newCluster(t testing.TB, apps ...app) *cluster {
	t.Helper()
	var kubeObjs, dynObjs []runtime.Object
	for _, a := range apps {
		u, err := v1alpha1.ToUnstructured(a.ro)
		if err != nil {
			t.Fatal(err)
		}
		dynObjs = append(dynObjs, u)
		kubeObjs = append(kubeObjs, a.stable, a.canary)
		for _, p := range a.pods {
			kubeObjs = append(kubeObjs, p)
		}
	}
	c := &cluster{t: t, kube: kubefake.NewClientset(kubeObjs...)}
	c.dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.RolloutGVR: "RolloutList"}, dynObjs...)
	count := func(k8stesting.Action) (bool, apiwatch.Interface, error) {
		c.watches.Add(1)
		return false, nil, nil
	}
	c.kube.PrependWatchReactor("*", count)
	c.dynamic.PrependWatchReactor("*", count)
	return c
}

// start builds and starts the Watcher, and waits until its caches synced and
// all four watches are open.
func (c *cluster) start(o Options) {
	c.t.Helper()
	o.Kube, o.Dynamic = c.kube, c.dynamic
	w, err := New(o)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	c.w, c.ctx = w, ctx
	w.Start(ctx)
	if !w.WaitForCacheSync(ctx) {
		c.t.Fatal("caches did not sync")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.watches.Load() < 4 {
		if time.Now().After(deadline) {
			c.t.Fatalf("only %d of 4 watches started", c.watches.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// startUnsynced builds and starts a Watcher with default options, without
// waiting for its lists: for tests of what happens before or instead.
func (c *cluster) startUnsynced() (*Watcher, context.Context) {
	c.t.Helper()
	w, err := New(Options{Kube: c.kube, Dynamic: c.dynamic})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	w.Start(ctx)
	return w, ctx
}

// collect reads changes until every key of want was delivered; it returns
// how many deliveries that took.
func (c *cluster) collect(want ...Key) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	missing := map[Key]bool{}
	for _, k := range want {
		missing[k] = true
	}
	n := 0
	for len(missing) > 0 {
		ch, err := c.w.WaitDirty(ctx, 0)
		if err != nil {
			c.t.Fatalf("still waiting for %v: %v", missing, err)
		}
		n++
		for _, k := range ch.Keys {
			delete(missing, k)
		}
	}
	return n
}

// drain takes whatever is pending, so that a test starts from a quiet state.
func (c *cluster) drain() {
	c.w.dirty.take(time.Now())
}

// quiet reads deliveries until none comes for 100 ms: the handlers of the
// initial list, which run after the caches report synced, are done.
func (c *cluster) quiet() {
	for {
		ctx, cancel := context.WithTimeout(c.ctx, 100*time.Millisecond)
		_, err := c.w.WaitDirty(ctx, 0)
		cancel()
		if err != nil {
			return
		}
	}
}

func key(ns, name string) Key { return Key{Namespace: ns, Name: name} }

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without clients: want an error")
	}
	c := newCluster(t)
	if _, err := New(Options{Kube: c.kube, Dynamic: c.dynamic, LabelSelector: "app in (("}); err == nil {
		t.Error("New with a bad selector: want an error")
	}
}

// WaitForCacheSync waits for the last informer's list and its handlers'
// delivery of it, returns as soon as they are done, and gives up when its
// context ends.
func TestWaitForCacheSyncWaitsForTheLastList(t *testing.T) {
	c := newCluster(t, newApp("shop", "checkout", 2, 1))
	// The Rollouts list waits (a reactor that blocks holds its fake
	// clientset, hence the dynamic one's, apart from the others').
	release := make(chan struct{})
	c.dynamic.PrependReactor("list", "rollouts", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	w, ctx := c.startUnsynced()

	// While the Rollouts are not listed, it waits, and a context that
	// ends ends the wait.
	for _, inf := range []cache.SharedIndexInformer{w.ReplicaSetInformer(), w.PodInformer(), w.EventInformer()} {
		<-inf.HasSyncedChecker().Done()
	}
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if w.WaitForCacheSync(short) {
		t.Fatal("WaitForCacheSync reported synced while the Rollouts were not listed")
	}
	if w.HasSynced() {
		t.Fatal("HasSynced while the Rollouts were not listed")
	}

	synced := make(chan bool, 1)
	go func() { synced <- w.WaitForCacheSync(ctx) }()
	select {
	case <-synced:
		t.Fatal("WaitForCacheSync returned while the Rollouts were not listed")
	default:
	}
	close(release)
	if !<-synced {
		t.Fatal("WaitForCacheSync: not synced after every list")
	}
	if !w.HasSynced() {
		t.Error("WaitForCacheSync returned before HasSynced")
	}
	if n := len(w.RolloutInformer().GetStore().ListKeys()); n != 1 {
		t.Errorf("%d Rollouts cached once synced, want 1", n)
	}
}

func TestInitialListMarksEveryRollout(t *testing.T) {
	c := newCluster(t, newApp("shop", "checkout", 2, 1), newApp("shop", "cart", 1, 0), newApp("bank", "ledger", 1, 1))
	c.start(Options{})
	c.collect(key("shop", "checkout"), key("shop", "cart"), key("bank", "ledger"))
}

func TestObjectChangesMapToTheirRollout(t *testing.T) {
	checkout, cart := newApp("shop", "checkout", 2, 1), newApp("shop", "cart", 1, 1)
	c := newCluster(t, checkout, cart)
	c.start(Options{})
	c.collect(key("shop", "checkout"), key("shop", "cart"))
	c.drain()
	ctx := context.Background()

	tests := []struct {
		name   string
		change func() error
		want   Key
	}{
		{"replicaset update", func() error {
			rs := cart.canary.DeepCopy()
			rs.Status.ReadyReplicas = 0
			_, err := c.kube.AppsV1().ReplicaSets("shop").Update(ctx, rs, metav1.UpdateOptions{})
			return err
		}, key("shop", "cart")},
		{"pod update (owner found in the ReplicaSet cache)", func() error {
			p := checkout.pods[0].DeepCopy()
			p.Status.Phase = corev1.PodFailed
			_, err := c.kube.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{})
			return err
		}, key("shop", "checkout")},
		{"pod of a ReplicaSet not cached yet (name rule)", func() error {
			orphanRS := ownedRS(cart.ro, "newer", "3", 1)
			p := ownedPods(orphanRS, "canary", 1)[0]
			_, err := c.kube.CoreV1().Pods("shop").Create(ctx, p, metav1.CreateOptions{})
			return err
		}, key("shop", "cart")},
		{"pod delete", func() error {
			return c.kube.CoreV1().Pods("shop").Delete(ctx, cart.pods[0].Name, metav1.DeleteOptions{})
		}, key("shop", "cart")},
		{"event on the rollout", func() error {
			e := &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "checkout.1", Namespace: "shop"},
				InvolvedObject: corev1.ObjectReference{Kind: "Rollout", Namespace: "shop", Name: "checkout"},
				Reason:         "RolloutPaused",
			}
			_, err := c.kube.CoreV1().Events("shop").Create(ctx, e, metav1.CreateOptions{})
			return err
		}, key("shop", "checkout")},
		{"rollout update", func() error {
			u, err := v1alpha1.ToUnstructured(rollout(func(r *v1alpha1.Rollout) { r.Namespace, r.Name, r.Spec.Paused = "shop", "cart", true }))
			if err != nil {
				return err
			}
			_, err = c.dynamic.Resource(v1alpha1.RolloutGVR).Namespace("shop").Update(ctx, u, metav1.UpdateOptions{})
			return err
		}, key("shop", "cart")},
		{"rollout delete", func() error {
			return c.dynamic.Resource(v1alpha1.RolloutGVR).Namespace("shop").Delete(ctx, "checkout", metav1.DeleteOptions{})
		}, key("shop", "checkout")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.change(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
			defer cancel()
			ch, err := c.w.WaitDirty(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Keys) != 1 || ch.Keys[0] != tt.want {
				t.Errorf("dirty keys %v, want [%v]", ch.Keys, tt.want)
			}
		})
	}
}

func TestUnrelatedObjectsMarkNothing(t *testing.T) {
	c := newCluster(t)
	c.start(Options{})
	c.drain()
	ctx := context.Background()
	// A Deployment's ReplicaSet and pod (even if the fake does not filter on the
	// label selector), and an Event about a pod.
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: ptr(true)}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1-a", Namespace: "shop",
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1", Controller: ptr(true)}}}}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.1", Namespace: "shop"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1-a"}}
	if _, err := c.kube.AppsV1().ReplicaSets("shop").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.CoreV1().Events("shop").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The informers deliver in order per resource: once a later marker for a
	// rollout arrives, the unrelated objects have been handled.
	marker := newApp("shop", "marker", 0, 0)
	if _, err := c.kube.AppsV1().ReplicaSets("shop").Create(ctx, marker.stable, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev2 := ev.DeepCopy()
	ev2.Name, ev2.InvolvedObject = "marker.1", corev1.ObjectReference{Kind: "Rollout", Namespace: "shop", Name: "marker"}
	if _, err := c.kube.CoreV1().Events("shop").Create(ctx, ev2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p2 := ownedPods(marker.stable, "stable", 1)[0]
	if _, err := c.kube.CoreV1().Pods("shop").Create(ctx, p2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, rok, _ := c.w.rsInformer.GetStore().GetByKey("shop/" + marker.stable.Name)
		_, pok, _ := c.w.podInformer.GetStore().GetByKey("shop/" + p2.Name)
		_, eok, _ := c.w.eventInformer.GetStore().GetByKey("shop/marker.1")
		return rok && pok && eok
	})
	// Handlers run just after the cache is updated: read until quiet.
	seen := map[Key]bool{}
	for {
		ctx, cancel := context.WithTimeout(c.ctx, 200*time.Millisecond)
		ch, err := c.w.WaitDirty(ctx, 0)
		cancel()
		if err != nil {
			break
		}
		for _, k := range ch.Keys {
			seen[k] = true
		}
	}
	if len(seen) != 1 || !seen[key("shop", "marker")] {
		t.Errorf("dirty keys %v, want only shop/marker", seen)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNamespaceScope(t *testing.T) {
	c := newCluster(t, newApp("shop", "checkout", 1, 0), newApp("bank", "ledger", 1, 0))
	c.start(Options{Namespace: "bank"})
	c.collect(key("bank", "ledger"))
	if _, err := c.w.RolloutLister().ByNamespace("shop").Get("checkout"); err == nil {
		t.Error("a rollout outside the namespace is cached")
	}
	if rss, _ := c.w.ReplicaSetLister().List(labels.Everything()); len(rss) != 2 {
		t.Errorf("cached %d ReplicaSets, want the 2 of bank/ledger", len(rss))
	}
}

func TestBurstOfUpdatesWakesOnce(t *testing.T) {
	a := newApp("shop", "checkout", 1, 0)
	c := newCluster(t, a)
	c.start(Options{})
	c.collect(key("shop", "checkout"))
	c.drain()
	// Nobody reads while 1,000 updates arrive: the callbacks must not block,
	// and the reader then gets them as one delivery.
	h := c.w.handler(c.w.podKeys)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := a.pods[0]
		for i := 0; i < 1000; i++ {
			cur := p.DeepCopy()
			cur.ResourceVersion = fmt.Sprint(i + 1)
			h.OnUpdate(p, cur)
			p = cur
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("callbacks blocked with no reader")
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Second)
	defer cancel()
	ch, err := c.w.WaitDirty(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Keys) != 1 || ch.Keys[0] != key("shop", "checkout") {
		t.Errorf("keys %v, want [shop/checkout]", ch.Keys)
	}
	ctx2, cancel2 := context.WithTimeout(c.ctx, 50*time.Millisecond)
	defer cancel2()
	if ch, err := c.w.WaitDirty(ctx2, 0); err == nil {
		t.Errorf("a second wake-up after the burst: %v", ch)
	}
}

func TestBurstThroughTheAPIWakesAFewTimes(t *testing.T) {
	apps := []app{newApp("shop", "checkout", 1, 0), newApp("shop", "cart", 1, 0)}
	c := newCluster(t, apps...)
	c.start(Options{})
	c.collect(key("shop", "checkout"), key("shop", "cart"))
	c.drain()

	var wakes atomic.Int32
	var mu sync.Mutex
	got := map[Key]int{}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			ch, err := c.w.WaitDirty(ctx, FrameInterval)
			if err != nil {
				return
			}
			wakes.Add(1)
			mu.Lock()
			for _, k := range ch.Keys {
				got[k]++
			}
			mu.Unlock()
		}
	}()
	const updates = 1000
	began := time.Now()
	for i := 0; i < updates; i++ {
		a := apps[i%2]
		rs := a.stable.DeepCopy()
		rs.Status.ObservedGeneration = int64(i)
		if _, err := c.kube.AppsV1().ReplicaSets("shop").Update(context.Background(), rs, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		for i, a := range apps {
			obj, ok, _ := c.w.rsInformer.GetStore().GetByKey("shop/" + a.stable.Name)
			if !ok || obj.(*appsv1.ReplicaSet).Status.ObservedGeneration != int64(updates-2+i) {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * FrameInterval)
	cancel()
	<-readerDone
	elapsed := time.Since(began)
	frames := int32(elapsed/FrameInterval) + 1
	t.Logf("%d updates in %v → %d wake-ups (%d frames)", updates, elapsed.Round(time.Millisecond), wakes.Load(), frames)
	if n := wakes.Load(); n == 0 || n > frames {
		t.Errorf("%d wake-ups for %d updates in %d frames; want at most one per frame", n, updates, frames)
	}
	if got[key("shop", "checkout")] == 0 || got[key("shop", "cart")] == 0 {
		t.Errorf("deliveries per rollout %v; want both rollouts", got)
	}
}

func TestWatchErrorsShowInHealth(t *testing.T) {
	c := newCluster(t, newApp("shop", "checkout", 1, 0))
	var failing atomic.Bool
	failing.Store(true)
	c.dynamic.PrependWatchReactor("rollouts", func(k8stesting.Action) (bool, apiwatch.Interface, error) {
		if failing.Load() {
			return true, nil, errors.New("connection reset by peer")
		}
		return false, nil, nil
	})
	w, err := New(Options{Kube: c.kube, Dynamic: c.dynamic})
	if err != nil {
		t.Fatal(err)
	}
	if h := w.Health(); h.State != Connected {
		t.Fatalf("before start: %+v, want Connected", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Start(ctx)
	waitFor(t, func() bool { return w.Health().State == Reconnecting })
	h := w.Health()
	if h.Resource != ResourceRollouts || h.LastError == nil || h.Since.IsZero() {
		t.Errorf("health %+v; want rollouts failing with the error and its time", h)
	}
	// The dashboard is woken to redraw the header.
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	for {
		ch, err := w.WaitDirty(wctx, 0)
		if err != nil {
			t.Fatal("no health wake-up:", err)
		}
		if ch.Health {
			break
		}
	}
	failing.Store(false)
	// The reflector backs off, relists and re-delivers the rollout.
	waitFor(t, func() bool { return w.Health().State == Connected })
}

func TestHealthSinceIsTheFirstFailure(t *testing.T) {
	c := newCluster(t)
	w, err := New(Options{Kube: c.kube, Dynamic: c.dynamic})
	if err != nil {
		t.Fatal(err)
	}
	w.health.failed(ResourcePods, errors.New("first"))
	first := w.Health().Since
	time.Sleep(2 * time.Millisecond)
	w.health.failed(ResourcePods, errors.New("second"))
	h := w.Health()
	if !h.Since.Equal(first) || h.LastError.Error() != "second" || h.Resource != ResourcePods {
		t.Errorf("health %+v; want the last error, since the first failure (%v)", h, first)
	}
	w.health.ok(ResourcePods)
	if h := w.Health(); h.State != Connected || h.LastError != nil {
		t.Errorf("after an event: %+v, want Connected", h)
	}
}

func TestTombstonesMap(t *testing.T) {
	a := newApp("shop", "checkout", 1, 0)
	tomb := cache.DeletedFinalStateUnknown{Key: "shop/checkout-old", Obj: a.stable}
	if got := replicaSetKeys(tomb); len(got) != 1 || got[0] != key("shop", "checkout") {
		t.Errorf("replicaSetKeys(tombstone) = %v", got)
	}
	u, err := v1alpha1.ToUnstructured(a.ro)
	if err != nil {
		t.Fatal(err)
	}
	if got := rolloutKeys(cache.DeletedFinalStateUnknown{Key: "shop/checkout", Obj: u}); len(got) != 1 || got[0] != key("shop", "checkout") {
		t.Errorf("rolloutKeys(tombstone) = %v", got)
	}
}

func TestListErrorsShowInHealth(t *testing.T) {
	c := newCluster(t, newApp("shop", "checkout", 1, 0))
	var failing atomic.Bool
	failing.Store(true)
	c.kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failing.Load() {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC: no list"))
		}
		return false, nil, nil
	})
	w, _ := c.startUnsynced()
	waitFor(t, func() bool { return w.Health().State == Reconnecting })
	if h := w.Health(); h.Resource != ResourcePods || !apierrors.IsForbidden(h.LastError) {
		t.Errorf("health %+v; want pods failing with the 403", h)
	}
	failing.Store(false)
	waitFor(t, func() bool { return w.Health().State == Connected })
}

func TestRoutineWatchEnds(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{apierrors.NewResourceExpired("too old resource version"), true},
		{&apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonGone, Message: "gone"}}, true},
		{errors.New("connection reset by peer"), false},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no")), false},
	} {
		if got := routineWatchEnd(tt.err); got != tt.want {
			t.Errorf("routineWatchEnd(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
