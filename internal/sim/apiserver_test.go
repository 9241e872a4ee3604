package sim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// idle is a cluster whose loops do not run: only the API server answers.
func idle(t *testing.T) *Cluster {
	t.Helper()
	c, err := New(Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rv(t *testing.T, obj metav1.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatalf("%s: resourceVersion %q is not a number", obj.GetName(), obj.GetResourceVersion())
	}
	return n
}

func TestEveryWriteBumpsTheResourceVersionOnce(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("web")); err != nil {
		t.Fatal(err)
	}
	ri := c.rollouts(testNS)
	created, err := ri.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ts := created.GetCreationTimestamp(); created.GetUID() == "" || ts.IsZero() || created.GetGeneration() != 1 {
		t.Fatalf("created rollout has uid %q, creationTimestamp %v, generation %d; want all set, generation 1",
			created.GetUID(), created.GetCreationTimestamp(), created.GetGeneration())
	}
	last := rv(t, created)
	writes := []struct {
		name  string
		write func() (*unstructured.Unstructured, error)
	}{
		{"status merge patch", func() (*unstructured.Unstructured, error) {
			return ri.Patch(ctx, "web", types.MergePatchType, []byte(`{"status":{"phase":"Progressing"}}`), metav1.PatchOptions{}, "status")
		}},
		{"metadata merge patch", func() (*unstructured.Unstructured, error) {
			return ri.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`), metav1.PatchOptions{})
		}},
		{"spec JSON patch", func() (*unstructured.Unstructured, error) {
			return ri.Patch(ctx, "web", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/replicas","value":3}]`), metav1.PatchOptions{})
		}},
	}
	for _, w := range writes {
		got, err := w.write()
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if n := rv(t, got); n <= last {
			t.Errorf("%s: resourceVersion %d, not above the previous %d", w.name, n, last)
		} else {
			last = n
		}
	}
	// A write that changes nothing is no write: same version, no event.
	same, err := ri.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rv(t, same) != last {
		t.Errorf("a no-op patch moved resourceVersion from %d to %s", last, same.GetResourceVersion())
	}
	// One sequence for every resource, as etcd has.
	pod, err := c.Kube.CoreV1().Pods(testNS).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rv(t, pod) <= last {
		t.Errorf("pod resourceVersion %s is not after the rollout's %d", pod.ResourceVersion, last)
	}
}

func TestStaleWritesGetAConflict(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("web")); err != nil {
		t.Fatal(err)
	}
	ri := c.rollouts(testNS)
	read, err := ri.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := read.GetResourceVersion()
	// A client changes the rollout after the controller read it (a promote).
	if _, err := ri.Patch(ctx, "web", types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	// Patches computed from the stale read carry its resourceVersion.
	for name, p := range map[string]struct {
		pt   types.PatchType
		body string
	}{
		"merge patch": {types.MergePatchType, fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"status":{"phase":"Paused"}}`, stale)},
		"JSON patch":  {types.JSONPatchType, fmt.Sprintf(`[{"op":"replace","path":"/metadata/resourceVersion","value":%q},{"op":"add","path":"/status/phase","value":"Paused"}]`, stale)},
	} {
		_, err := ri.Patch(ctx, "web", p.pt, []byte(p.body), metav1.PatchOptions{}, "status")
		if !apierrors.IsConflict(err) {
			t.Errorf("%s to /status with a stale resourceVersion: got %v, want 409 Conflict", name, err)
		}
	}
	if _, err := ri.Update(ctx, read, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: got %v, want 409 Conflict", err)
	}
	cur, err := ri.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if phase, _, _ := unstructured.NestedString(cur.Object, "status", "phase"); phase == "Paused" {
		t.Error("a refused patch was applied")
	}
	fresh := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"status":{"phase":"Paused"}}`, cur.GetResourceVersion())
	if _, err := ri.Patch(ctx, "web", types.MergePatchType, []byte(fresh), metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("patch with the current resourceVersion: %v", err)
	}

	uid := types.UID("not-the-uid")
	err = c.Kube.CoreV1().Namespaces().Delete(ctx, testNS, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a wrong uid precondition: got %v, want 409 Conflict", err)
	}
}

func TestStatusSubresourceAndGeneration(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	r := canary("web")
	r.Status.Phase = v1alpha1.PhaseHealthy
	if err := c.CreateRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
	ri := c.rollouts(testNS)
	get := func() *v1alpha1.Rollout {
		t.Helper()
		return rolloutState(t, c, "web")
	}
	if got := get(); got.Status.Phase != "" {
		t.Errorf("create kept status.phase %q; a status subresource drops the status of a create", got.Status.Phase)
	}
	steps := []struct {
		name    string
		patch   string
		sub     []string
		gen     int64
		phase   v1alpha1.RolloutPhase
		replica int32
	}{
		{"status patch", `{"status":{"phase":"Progressing","observedGeneration":"1"}}`, []string{"status"}, 1, "Progressing", 10},
		{"spec patch", `{"spec":{"replicas":4}}`, nil, 2, "Progressing", 4},
		{"metadata patch", `{"metadata":{"labels":{"team":"checkout"}}}`, nil, 2, "Progressing", 4},
		{"status in a main-resource patch is ignored", `{"status":{"phase":"Healthy"}}`, nil, 2, "Progressing", 4},
		{"spec in a status patch is ignored", `{"spec":{"replicas":9},"status":{"phase":"Paused"}}`, []string{"status"}, 2, "Paused", 4},
	}
	for _, s := range steps {
		if _, err := ri.Patch(ctx, "web", types.MergePatchType, []byte(s.patch), metav1.PatchOptions{}, s.sub...); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := get()
		if got.Generation != s.gen || got.Status.Phase != s.phase || got.GetReplicas() != s.replica {
			t.Errorf("after %s: generation %d, phase %q, replicas %d; want %d, %q, %d",
				s.name, got.Generation, got.Status.Phase, got.GetReplicas(), s.gen, s.phase, s.replica)
		}
	}
	if _, err := ri.Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{}); err == nil || !strings.Contains(err.Error(), "JSON merge patch") {
		t.Errorf("strategic merge patch of a custom resource: got %v, want 415 naming the fix", err)
	}
}

func TestPodLifecycleRulesOfTheAPIServer(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	pods := c.Kube.CoreV1().Pods(testNS)
	p, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-abc-"},
		Spec:       corev1.PodSpec{NodeName: "sim-node-1", Containers: []corev1.Container{{Name: "web", Image: "shop:v1"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	suffix, ok := strings.CutPrefix(p.Name, "web-abc-")
	if !ok || len(suffix) != 5 || strings.Trim(suffix, nameAlphabet) != "" {
		t.Errorf("generated name %q; want web-abc- and 5 of %q", p.Name, nameAlphabet)
	}
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("a new pod is %s; the API server makes it Pending", p.Status.Phase)
	}
	c0 := p.Spec.Containers[0]
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || *p.Spec.TerminationGracePeriodSeconds != 30 || c0.ImagePullPolicy != corev1.PullIfNotPresent || c0.TerminationMessagePath == "" {
		t.Errorf("pod spec not defaulted: %+v", p.Spec)
	}
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create of %s: got %v, want AlreadyExists", p.Name, err)
	}
	if _, err := pods.Create(ctx, &corev1.Pod{}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("create without a name: got %v, want 422 naming metadata.name", err)
	}

	// A pod on a node goes gracefully: deletionTimestamp now + grace, and it stays.
	before := time.Now()
	if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(20))}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a gracefully deleted pod must stay until its kubelet stops it: %v", err)
	}
	if got.DeletionTimestamp == nil || got.DeletionTimestamp.Time.Before(before.Add(19*time.Second)) || ptr.Deref(got.DeletionGracePeriodSeconds, 0) != 20 {
		t.Errorf("deletionTimestamp %v, grace %v; want about now+20s, 20", got.DeletionTimestamp, got.DeletionGracePeriodSeconds)
	}
	if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, p.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after a delete with grace 0: got %v, want NotFound", err)
	}
}

func TestEventsAndStrategicMergePatches(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	events := c.Kube.CoreV1().Events(testNS)
	for i, kind := range []string{"Rollout", "Pod"} {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("e%d", i)},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: testNS, Name: "web"},
			Reason:         "Test", Count: 1,
		}
		if _, err := events.Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := events.List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Rollout"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "e0" {
		t.Errorf("field selector involvedObject.kind=Rollout listed %d events; want e0 only", len(l.Items))
	}
	// The event recorder counts repeats with a strategic merge patch.
	ev, err := events.Patch(ctx, "e0", types.StrategicMergePatchType, []byte(`{"count":2,"message":"again"}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Count != 2 || ev.Message != "again" || ev.Reason != "Test" {
		t.Errorf("after a strategic merge patch: count %d, message %q, reason %q", ev.Count, ev.Message, ev.Reason)
	}
	if _, err := events.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("a field selector on an unindexed field: got %v, want 400", err)
	}
}

func TestWatchesResumeAndFollowSelectors(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	rss := c.Kube.AppsV1().ReplicaSets(testNS)
	mk := func(name, role string) {
		t.Helper()
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"role": role}}}
		if _, err := rss.Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("a", "canary")
	list, err := rss.List(ctx, metav1.ListOptions{LabelSelector: "role=canary"})
	if err != nil {
		t.Fatal(err)
	}
	// Changes between the list and the watch are replayed from its version.
	mk("b", "canary")
	mk("c", "stable")
	if _, err := rss.Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"labels":{"role":"stable"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := rss.Watch(ctx, metav1.ListOptions{LabelSelector: "role=canary", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := rss.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED b", "DELETED a", "DELETED b"}
	for _, exp := range want {
		select {
		case ev := <-w.ResultChan():
			got := fmt.Sprintf("%s %s", ev.Type, ev.Object.(*appsv1.ReplicaSet).Name)
			if got != exp {
				t.Fatalf("watch event %q, want %q (all: %v)", got, exp, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %q event", exp)
		}
	}

	// Older than the history: 410 Gone, so that the reflector lists again.
	for i := 0; i < historySize+1; i++ {
		if _, err := rss.Patch(ctx, "c", types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"annotations":{"n":"%d"}}}`, i)), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rss.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion}); !apierrors.IsResourceExpired(err) {
		t.Errorf("watch from a version older than the history: got %v, want 410 Expired", err)
	}
	w2, err := rss.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	for _, exp := range []string{"a", "c"} {
		if ev := <-w2.ResultChan(); ev.Type != watch.Added || ev.Object.(*appsv1.ReplicaSet).Name != exp {
			t.Errorf("watch without a version starts with %s %s, want ADDED %s", ev.Type, ev.Object.(*appsv1.ReplicaSet).Name, exp)
		}
	}
}

func TestDynamicClientIsForRollouts(t *testing.T) {
	c := idle(t)
	_, err := c.Dynamic.Resource(podsGVR).Namespace(testNS).Get(context.Background(), "x", metav1.GetOptions{})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "Cluster.Kube") {
		t.Errorf("dynamic get of pods: got %v, want 400 pointing at Cluster.Kube", err)
	}
}
