package controller

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
	"github.com/roost-dev/roost/watch"
)

// The harness runs the reconciler without goroutines: it copies the fake
// clientsets' objects into the informer caches, calls SyncOnce, then plays the
// ReplicaSet controller and the kubelet (pods to match spec.replicas, status
// counts, readiness under the test's control) and repeats until nothing moves.
//
// The dynamic fake applies a merge patch sent to the "status" subresource to
// the whole object (its object tracker ignores subresources), which for a patch
// that only holds "status" is what a real API server does; tests assert on the
// status read back, so a patch that did not apply would fail them.

const testNS = "shop"

// t0 is a whole second: metav1.Time keeps seconds, so durations computed from
// status times come out exact.
var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

type afterCall struct {
	key   cache.ObjectName
	delay time.Duration
}

// recordingQueue remembers AddAfter calls so that tests can check requeue delays.
type recordingQueue struct {
	workqueue.TypedRateLimitingInterface[cache.ObjectName]
	mu    sync.Mutex
	after []afterCall
}

func (q *recordingQueue) AddAfter(key cache.ObjectName, d time.Duration) {
	q.mu.Lock()
	q.after = append(q.after, afterCall{key, d})
	q.mu.Unlock()
	q.TypedRateLimitingInterface.AddAfter(key, d)
}

func (q *recordingQueue) lastAfter(key cache.ObjectName) (time.Duration, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := len(q.after) - 1; i >= 0; i-- {
		if q.after[i].key == key {
			return q.after[i].delay, true
		}
	}
	return 0, false
}

func (q *recordingQueue) reset() {
	q.mu.Lock()
	q.after = nil
	q.mu.Unlock()
}

type harness struct {
	t     testing.TB
	ctx   context.Context
	kube  *kubefake.Clientset
	dyn   *dynamicfake.FakeDynamicClient
	clock *clocktesting.FakeClock
	rec   *record.FakeRecorder
	c     *Controller
	queue *recordingQueue

	events []string
	// notReady, per ReplicaSet name, is how many of its pods the kubelet keeps
	// unavailable.
	notReady map[string]int32
	uids     int
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{
		t:        t,
		ctx:      context.Background(),
		kube:     kubefake.NewSimpleClientset(),
		dyn:      dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{v1alpha1.RolloutGVR: "RolloutList"}),
		clock:    clocktesting.NewFakeClock(t0),
		rec:      record.NewFakeRecorder(10000),
		notReady: map[string]int32{},
	}
	// The fake API server assigns no UIDs; owner references and the
	// controller-UID index need them, as on a real server.
	for _, res := range []string{"replicasets", "pods"} {
		h.kube.PrependReactor("create", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			if m, ok := a.(k8stesting.CreateAction).GetObject().(metav1.Object); ok && m.GetUID() == "" {
				h.uids++
				m.SetUID(types.UID(fmt.Sprintf("uid-%d", h.uids)))
				m.SetCreationTimestamp(metav1.NewTime(h.clock.Now()))
			}
			return false, nil, nil
		})
	}
	// Evictions (restartAt) delete the pod, as the API server does when no
	// PodDisruptionBudget objects.
	h.kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		ev := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		return true, ev, h.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ev.Namespace, ev.Name)
	})
	c, err := New(Config{Kube: h.kube, Dynamic: h.dyn, Clock: h.clock, Recorder: h.rec})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	h.queue = &recordingQueue{TypedRateLimitingInterface: c.queue}
	c.queue = h.queue
	t.Cleanup(c.queue.ShutDown)
	return h
}

// newRollout is a valid Rollout in testNS: replicas of shop:v1 in a container
// "web", with a UID and generation as a real API server would give.
func newRollout(name string, replicas int32, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return rollouttest.New(testNS, name).Replicas(replicas).Container("web", "shop:v1").
		Identity(types.UID("rollout-"+name), 1).Steps(steps...).Rollout()
}

var (
	setWeight = rollouttest.SetWeight
	pause     = rollouttest.Pause
	pauseFor  = rollouttest.PauseFor
)

func (h *harness) rollouts() interface {
	Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
	Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
	Update(context.Context, *unstructured.Unstructured, metav1.UpdateOptions, ...string) (*unstructured.Unstructured, error)
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*unstructured.Unstructured, error)
} {
	return h.dyn.Resource(v1alpha1.RolloutGVR).Namespace(testNS)
}

func (h *harness) create(r *v1alpha1.Rollout) {
	h.t.Helper()
	u, err := v1alpha1.ToUnstructured(r)
	if err != nil {
		h.t.Fatal(err)
	}
	h.createUnstructured(u)
}

func (h *harness) createUnstructured(u *unstructured.Unstructured) {
	h.t.Helper()
	if _, err := h.rollouts().Create(h.ctx, u, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// get reads a Rollout back from the fake API server.
func (h *harness) get(name string) *v1alpha1.Rollout {
	h.t.Helper()
	u, err := h.rollouts().Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	r, errs := v1alpha1.FromUnstructured(u)
	if len(errs) > 0 {
		h.t.Fatalf("decode %s: %v", name, errs)
	}
	return r
}

// getInvalid reads a Rollout whose spec may not decode: status and metadata
// still do.
func (h *harness) getInvalid(name string) *v1alpha1.Rollout {
	h.t.Helper()
	u, err := h.rollouts().Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	r, _ := v1alpha1.FromUnstructured(u)
	return r
}

// edit changes a Rollout's spec or metadata as kubectl apply would (generation+1).
func (h *harness) edit(name string, fn func(r *v1alpha1.Rollout)) {
	h.t.Helper()
	r := h.get(name)
	fn(r)
	r.Generation++
	u, err := v1alpha1.ToUnstructured(r)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.rollouts().Update(h.ctx, u, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// patchStatus sends a client's status patch, as `kubectl argo rollouts` does.
func (h *harness) patchStatus(name, patch string) {
	h.t.Helper()
	if _, err := h.rollouts().Patch(h.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		h.t.Fatal(err)
	}
}

// refresh copies the fake API server's objects into the informer caches.
func (h *harness) refresh() {
	h.t.Helper()
	ul, err := h.dyn.Resource(v1alpha1.RolloutGVR).Namespace("").List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var objs []any
	for i := range ul.Items {
		objs = append(objs, &ul.Items[i])
	}
	if err := h.c.rolloutInformer.GetIndexer().Replace(objs, ""); err != nil {
		h.t.Fatal(err)
	}
	objs = nil
	for _, rs := range h.replicaSets() {
		objs = append(objs, rs)
	}
	if err := h.c.rsInformer.GetIndexer().Replace(objs, ""); err != nil {
		h.t.Fatal(err)
	}
	pl, err := h.kube.CoreV1().Pods("").List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	objs = nil
	for i := range pl.Items {
		// The informer's cache holds what roost keeps of a pod.
		objs = append(objs, watch.PodOf(&pl.Items[i], true))
	}
	if err := h.c.podInformer.GetIndexer().Replace(objs, ""); err != nil {
		h.t.Fatal(err)
	}
}

// sync runs one sync of a Rollout from fresh caches.
func (h *harness) sync(name string) {
	h.t.Helper()
	h.refresh()
	if err := h.c.SyncOnce(h.ctx, testNS, name); err != nil {
		h.t.Fatalf("sync %s: %v", name, err)
	}
	h.drainEvents()
}

func (h *harness) drainEvents() {
	for {
		select {
		case e := <-h.rec.Events:
			h.events = append(h.events, e)
		default:
			return
		}
	}
}

func (h *harness) replicaSets() []*appsv1.ReplicaSet {
	h.t.Helper()
	l, err := h.kube.AppsV1().ReplicaSets("").List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]*appsv1.ReplicaSet, 0, len(l.Items))
	for i := range l.Items {
		out = append(out, &l.Items[i])
	}
	sort.Slice(out, func(i, j int) bool { return revisionOf(out[i]) < revisionOf(out[j]) })
	return out
}

// rsOf returns the ReplicaSet of a Rollout for a pod-template hash.
func (h *harness) rsOf(name, hash string) *appsv1.ReplicaSet {
	h.t.Helper()
	for _, rs := range h.replicaSets() {
		if rs.Name == name+"-"+hash {
			return rs
		}
	}
	return nil
}

func (h *harness) podsOf(rs *appsv1.ReplicaSet) []corev1.Pod {
	h.t.Helper()
	l, err := h.kube.CoreV1().Pods(rs.Namespace).List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == rs.UID {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// kubelet plays the ReplicaSet controller and the kubelet: each ReplicaSet gets
// exactly spec.replicas pods, all available except notReady[name].
func (h *harness) kubelet() {
	h.t.Helper()
	all, err := h.kube.CoreV1().Pods("").List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	byOwner := map[types.UID][]corev1.Pod{}
	for _, p := range all.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil {
			byOwner[ref.UID] = append(byOwner[ref.UID], p)
		}
	}
	for _, rs := range h.replicaSets() {
		want := replicasOf(rs)
		pods := byOwner[rs.UID]
		sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
		for i := int32(len(pods)); i < want; i++ {
			h.uids++
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
				Name:            fmt.Sprintf("%s-p%d", rs.Name, h.uids),
				Namespace:       rs.Namespace,
				Labels:          maps.Clone(rs.Spec.Template.Labels),
				Annotations:     maps.Clone(rs.Spec.Template.Annotations),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}},
			}}
			if _, err := h.kube.CoreV1().Pods(rs.Namespace).Create(h.ctx, p, metav1.CreateOptions{}); err != nil {
				h.t.Fatal(err)
			}
		}
		for i := len(pods) - 1; i >= int(want); i-- {
			if err := h.kube.CoreV1().Pods(rs.Namespace).Delete(h.ctx, pods[i].Name, metav1.DeleteOptions{}); err != nil {
				h.t.Fatal(err)
			}
		}
		avail := max(want-h.notReady[rs.Name], 0)
		if rs.Status.Replicas == want && rs.Status.ReadyReplicas == avail && rs.Status.AvailableReplicas == avail {
			continue
		}
		rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = want, avail, avail
		if _, err := h.kube.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(h.ctx, rs, metav1.UpdateOptions{}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// clearActions forgets the fakes' action logs; settle loops call it so that
// counting stays cheap.
func (h *harness) clearActions() {
	h.kube.ClearActions()
	h.dyn.ClearActions()
}

// writes counts the write actions on both fakes since the last clearActions.
func (h *harness) writes() int {
	n := 0
	for _, a := range append(h.kube.Actions(), h.dyn.Actions()...) {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			n++
		}
	}
	return n
}

// settle alternates syncs and kubelet rounds until neither writes anything.
// It returns the number of syncs it ran.
func (h *harness) settle(name string) int {
	h.t.Helper()
	for i := 1; i <= 200; i++ {
		h.clearActions()
		h.sync(name)
		h.kubelet()
		if h.writes() == 0 {
			return i
		}
	}
	h.t.Fatalf("rollout %s did not settle in 200 syncs: %s", name, h.describe(name))
	return 0
}

// describe summarises a Rollout for failure messages.
func (h *harness) describe(name string) string {
	r := h.get(name)
	var b strings.Builder
	idx := "nil"
	if r.Status.CurrentStepIndex != nil {
		idx = fmt.Sprint(*r.Status.CurrentStepIndex)
	}
	fmt.Fprintf(&b, "phase=%s msg=%q step=%s stable=%s current=%s abort=%v pauses=%d", r.Status.Phase, r.Status.Message,
		idx, r.Status.StableRS, r.Status.CurrentPodHash, r.Status.Abort, len(r.Status.PauseConditions))
	for _, rs := range h.replicaSets() {
		fmt.Fprintf(&b, " | %s spec=%d avail=%d", rs.Name, replicasOf(rs), rs.Status.AvailableReplicas)
	}
	return b.String()
}

// counts returns spec.replicas of a Rollout's ReplicaSets by hash.
func (h *harness) counts(name string) map[string]int32 {
	out := map[string]int32{}
	for _, rs := range h.replicaSets() {
		if strings.HasPrefix(rs.Name, name+"-") {
			out[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = replicasOf(rs)
		}
	}
	return out
}

func (h *harness) hasEvent(substr string) bool {
	h.drainEvents()
	for _, e := range h.events {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

func stepOf(r *v1alpha1.Rollout) int32 {
	if r.Status.CurrentStepIndex == nil {
		return -1
	}
	return *r.Status.CurrentStepIndex
}

func conditionOf(r *v1alpha1.Rollout, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	return getCondition(&r.Status, t)
}
