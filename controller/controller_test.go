package controller

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func newFakeDynamic() *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.RolloutGVR: "RolloutList"})
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without clients: want an error")
	}
	_, err := New(Config{Kube: kubefake.NewSimpleClientset(), Dynamic: newFakeDynamic(), Selector: "app in (a"})
	if err == nil || !strings.Contains(err.Error(), "app in (a") {
		t.Fatalf("bad selector: %v", err)
	}
}

// TestRunReconcilesThroughInformers runs the real loop: informers on fake
// clientsets, workers, event handlers (the ReplicaSet status update reaches the
// Rollout through the owner reference), and a clean stop.
func TestRunReconcilesThroughInformers(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	// The fake API server keeps no resourceVersions; the handlers skip updates
	// whose resourceVersion did not change (resyncs), so stamp them as a real
	// server does.
	var rv atomic.Int64
	kube.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// Creates and updates both carry the object.
		withObject, ok := a.(interface{ GetObject() runtime.Object })
		if !ok {
			return false, nil, nil
		}
		if m, ok := withObject.GetObject().(metav1.Object); ok {
			m.SetResourceVersion(strconv.FormatInt(rv.Add(1), 10))
		}
		return false, nil, nil
	})
	dyn := newFakeDynamic()
	reg := prometheus.NewRegistry()
	c, err := New(Config{Kube: kube, Dynamic: dyn, Namespace: testNS, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	u, err := v1alpha1.ToUnstructured(newRollout("cart", 2, setWeight(50)))
	if err != nil {
		t.Fatal(err)
	}
	u.SetResourceVersion("")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	if _, err := dyn.Resource(v1alpha1.RolloutGVR).Namespace(testNS).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var rs *appsv1.ReplicaSet
	waitFor(t, "the ReplicaSet to be created", func() bool {
		l, err := kube.AppsV1().ReplicaSets(testNS).List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != 1 {
			return false
		}
		rs = &l.Items[0]
		return true
	})
	if !c.HasSynced() {
		t.Fatal("HasSynced false while workers run")
	}
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	if _, err := kube.AppsV1().ReplicaSets(testNS).UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Rollout to be Healthy", func() bool {
		got, err := dyn.Resource(v1alpha1.RolloutGVR).Namespace(testNS).Get(ctx, "cart", metav1.GetOptions{})
		if err != nil {
			return false
		}
		phase, _, _ := unstructuredString(got.Object, "status", "phase")
		return phase == string(v1alpha1.PhaseHealthy)
	})
	waitFor(t, "the ReplicaSet event to be recorded", func() bool {
		l, err := kube.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range l.Items {
			if e.Reason == EventReasonReplicaSetCreated && e.InvolvedObject.Kind == "Rollout" && e.Source.Component == "roost" {
				return true
			}
		}
		return false
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	if n := counterValue(t, c.metrics.syncs.WithLabelValues("success")); n < 2 {
		t.Fatalf("syncs_total{result=success} = %v, want at least 2", n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	if !names["roost_controller_syncs_total"] || !names["roost_controller_sync_duration_seconds"] {
		t.Fatalf("registered metrics: %v", names)
	}
}

func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	cur := any(obj)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestHandlersEnqueueOwningRollout(t *testing.T) {
	h := newHarness(t)
	h.create(newRollout("cart", 1))
	h.settle("cart")
	h.refresh()
	for h.queue.Len() > 0 {
		k, _ := h.queue.Get()
		h.queue.Done(k)
		h.queue.Forget(k)
	}
	rs := h.replicaSets()[0]
	pod := h.podsOf(rs)[0]
	want := cache.ObjectName{Namespace: testNS, Name: "cart"}

	expect := func(what string) {
		t.Helper()
		if h.queue.Len() != 1 {
			t.Fatalf("%s: queue holds %d keys, want 1", what, h.queue.Len())
		}
		k, _ := h.queue.Get()
		h.queue.Done(k)
		h.queue.Forget(k)
		if k != want {
			t.Fatalf("%s: enqueued %v, want %v", what, k, want)
		}
	}
	h.c.enqueuePodOwner(&pod)
	expect("pod")
	h.c.enqueueReplicaSetOwner(cache.DeletedFinalStateUnknown{Key: "shop/x", Obj: rs})
	expect("deleted replicaset")

	// A resync with the same resourceVersion does nothing.
	a, b := rs.DeepCopy(), rs.DeepCopy()
	a.ResourceVersion, b.ResourceVersion = "7", "7"
	h.c.onUpdate(a, b, h.c.enqueueReplicaSetOwner)
	if h.queue.Len() != 0 {
		t.Fatal("resync of an unchanged object was enqueued")
	}
	b.ResourceVersion = "8"
	h.c.onUpdate(a, b, h.c.enqueueReplicaSetOwner)
	expect("replicaset update")

	// An orphan that the Rollout's selector matches brings the Rollout for adoption.
	orphan := rs.DeepCopy()
	orphan.OwnerReferences = nil
	h.c.enqueueReplicaSetOwner(orphan)
	expect("orphan")
	// A pod of a ReplicaSet some other controller owns enqueues nothing.
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: testNS,
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "nope", UID: "nope", Controller: ptr.To(true)}}}}
	h.c.enqueuePodOwner(other)
	if h.queue.Len() != 0 {
		t.Fatal("a foreign pod was enqueued")
	}
}

func TestMetricsReuseRegisteredCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := newSyncMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSyncMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a.observe(nil, time.Millisecond)
	b.observe(context.Canceled, time.Millisecond)
	if got := counterValue(t, a.syncs.WithLabelValues("error")); got != 1 {
		t.Fatalf("second controller's metrics are not the registered ones: error count %v", got)
	}
	var none *syncMetrics
	none.observe(nil, time.Second) // a controller without a registry records nothing, and does not panic
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	m := &dto.Metric{}
	if err := c.Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
