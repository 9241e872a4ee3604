package watch

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/roost-dev/roost/api/v1alpha1"
)

var managed = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}}

// fatPod is a pod as the API server sends it, with much roost never reads.
func fatPod() *corev1.Pod {
	a := newApp("shop", "checkout", 1, 0)
	p := a.pods[0].DeepCopy()
	p.ResourceVersion = "42"
	p.ManagedFields = managed
	p.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "now", lastAppliedAnnotation: "{}"}
	p.DeletionTimestamp = ptr(metav1.NewTime(now))
	p.Spec = corev1.PodSpec{
		NodeName: "node-1",
		Containers: []corev1.Container{{Name: "app", Image: "checkout:1", Env: []corev1.EnvVar{{Name: "A", Value: "b"}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}},
		Volumes: []corev1.Volume{{Name: "v"}},
	}
	p.Status = corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, Message: "long"},
		},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 3, Image: "checkout:1", ImageID: "sha256:…"}},
		PodIPs:            []corev1.PodIP{{IP: "10.0.0.1"}},
	}
	return p
}

func fatReplicaSet() *appsv1.ReplicaSet {
	a := newApp("shop", "checkout", 1, 0)
	rs := a.canary.DeepCopy()
	rs.ResourceVersion = "7"
	rs.ManagedFields = managed
	rs.Annotations[v1alpha1.EphemeralMetadataAnnotation] = `{"labels":{"role":"canary"}}`
	rs.Annotations["rollout.argoproj.io/desired-replicas"] = "10"
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}}
	rs.Spec.MinReadySeconds = 5
	rs.Spec.Template.Annotations = map[string]string{"big": "annotation"}
	rs.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
	rs.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Message: "quota"}}
	return rs
}

func TestTrimPod(t *testing.T) {
	in := fatPod()
	out, err := TrimPod(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*Pod)
	// Kept: everything Snapshot, the key mapping and the indexes read.
	if p.Name != in.Name || p.Namespace != in.Namespace || p.UID != in.UID || p.ResourceVersion != "42" ||
		!reflect.DeepEqual(p.Labels, in.Labels) || !reflect.DeepEqual(p.OwnerReferences, in.OwnerReferences) ||
		!p.DeletionTimestamp.Equal(in.DeletionTimestamp) || p.Phase != corev1.PodRunning || !p.Ready {
		t.Errorf("identity, labels, owner, phase or readiness lost: %+v", p)
	}
	// Dropped.
	if p.ManagedFields != nil || p.Annotations != nil {
		t.Errorf("kept what roost does not read: %+v", p)
	}
	// A pod without a Ready=True condition is not ready.
	in.Status.Conditions[1].Status = corev1.ConditionFalse
	if out, _ := TrimPod(in); out.(*Pod).Ready {
		t.Error("a pod with Ready=False is kept as ready")
	}
	in.Status.Conditions = nil
	if out, _ := TrimPod(in); out.(*Pod).Ready {
		t.Error("a pod without conditions is kept as ready")
	}
	// The cache's copies are deep.
	cp := p.DeepCopyObject().(*Pod)
	cp.Labels[RoleLabel] = "changed"
	if p.Labels[RoleLabel] == "changed" {
		t.Error("DeepCopyObject shares the labels")
	}
}

func TestTrimReplicaSet(t *testing.T) {
	in := fatReplicaSet()
	out, err := TrimReplicaSet(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	rs := out.(*appsv1.ReplicaSet)
	wantAnn := map[string]string{v1alpha1.RevisionAnnotation: "2", v1alpha1.EphemeralMetadataAnnotation: `{"labels":{"role":"canary"}}`}
	if !reflect.DeepEqual(rs.Annotations, wantAnn) {
		t.Errorf("annotations %v, want %v", rs.Annotations, wantAnn)
	}
	if rs.Name != in.Name || rs.UID != in.UID || rs.ResourceVersion != "7" || !reflect.DeepEqual(rs.Labels, in.Labels) ||
		!reflect.DeepEqual(rs.OwnerReferences, in.OwnerReferences) || *rs.Spec.Replicas != *in.Spec.Replicas ||
		!reflect.DeepEqual(rs.Spec.Template.Labels, in.Spec.Template.Labels) {
		t.Errorf("identity, labels, owner, replicas or template labels lost: %+v", rs)
	}
	if want := []corev1.Container{{Name: "app", Image: "checkout:2"}}; !reflect.DeepEqual(rs.Spec.Template.Spec.Containers, want) {
		t.Errorf("containers %+v, want %+v", rs.Spec.Template.Spec.Containers, want)
	}
	if rs.Status.Replicas != in.Status.Replicas || rs.Status.ReadyReplicas != in.Status.ReadyReplicas || rs.Status.AvailableReplicas != in.Status.AvailableReplicas {
		t.Errorf("status counts lost: %+v", rs.Status)
	}
	if rs.ManagedFields != nil || rs.Spec.Selector != nil || rs.Spec.Template.Annotations != nil || rs.Status.Conditions != nil {
		t.Errorf("kept what roost does not read: %+v", rs)
	}
}

func TestTrimEvent(t *testing.T) {
	in := event("RolloutAborted", "aborted by alice", "alice@bastion", time.Minute)
	in.ManagedFields = managed
	in.Annotations["other"] = "x"
	in.Source = corev1.EventSource{Component: "roost", Host: "bastion"}
	in.Related = &corev1.ObjectReference{Kind: "Pod"}
	out, err := TrimEvent(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	e := out.(*corev1.Event)
	if e.ManagedFields != nil || e.Related != nil || e.Source != (corev1.EventSource{Component: "roost"}) || len(e.Annotations) != 1 {
		t.Errorf("kept what roost does not read: %+v", e)
	}
	ro := rollout(nil)
	got := Snapshot(ro, nil, nil, []*corev1.Event{e}, now).Events
	want := Snapshot(ro, nil, nil, []*corev1.Event{in}, now).Events
	if !reflect.DeepEqual(got, want) || len(got) != 1 || got[0].Actor != "alice@bastion" || got[0].Source != "roost" {
		t.Errorf("events after the transform %+v, want %+v", got, want)
	}
}

func TestTrimRollout(t *testing.T) {
	ro := rollout(nil)
	ro.ManagedFields = managed
	ro.Annotations = map[string]string{lastAppliedAnnotation: "{…}", abortReasonAnnotation: "p99 latency"}
	u, err := v1alpha1.ToUnstructured(ro)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := v1alpha1.FromUnstructured(u)
	out, err := TrimRollout(u.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	tu := out.(*unstructured.Unstructured)
	if tu.GetManagedFields() != nil {
		t.Error("managedFields kept")
	}
	if want := map[string]string{abortReasonAnnotation: "p99 latency"}; !reflect.DeepEqual(tu.GetAnnotations(), want) {
		t.Errorf("annotations %v, want %v", tu.GetAnnotations(), want)
	}
	back, errs := v1alpha1.FromUnstructured(tu)
	if len(errs) != 0 {
		t.Fatalf("the trimmed rollout no longer decodes: %v", errs)
	}
	if !reflect.DeepEqual(back.Spec, whole.Spec) || !reflect.DeepEqual(back.Status, whole.Status) {
		t.Error("spec or status changed by the transform")
	}
}

// TestTrimmedSnapshotIsTheSame is the contract of the transforms: the read
// model derived from trimmed objects equals the one from whole objects.
func TestTrimmedSnapshotIsTheSame(t *testing.T) {
	a := newApp("shop", "checkout", 3, 1)
	rss := []*appsv1.ReplicaSet{fatReplicaSet(), a.stable}
	pods := append([]*corev1.Pod{fatPod()}, a.pods...)
	events := []*corev1.Event{event("RolloutPaused", "paused", "bob", time.Second)}
	ro := a.ro
	ro.Status.StableRS, ro.Status.CurrentPodHash = "old", "new"

	trimmedRS := make([]*appsv1.ReplicaSet, len(rss))
	for i, rs := range rss {
		o, _ := TrimReplicaSet(rs.DeepCopy())
		trimmedRS[i] = o.(*appsv1.ReplicaSet)
	}
	trimmedPods := make([]*Pod, len(pods))
	for i, p := range pods {
		o, _ := TrimPod(p.DeepCopy())
		trimmedPods[i] = o.(*Pod)
	}
	trimmedEvents := make([]*corev1.Event, len(events))
	for i, e := range events {
		o, _ := TrimEvent(e.DeepCopy())
		trimmedEvents[i] = o.(*corev1.Event)
	}
	// Snapshot reads pods only as roost keeps them; what it reads of them
	// is the same with the reconciler's annotations kept.
	whole := make([]*Pod, len(pods))
	for i, p := range pods {
		whole[i] = PodOf(p, true)
	}
	want := Snapshot(ro, rss, whole, events, now)
	got := Snapshot(ro, trimmedRS, trimmedPods, trimmedEvents, now)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot from trimmed objects:\n%+v\nwant\n%+v", got, want)
	}
	if want.Canary == nil || want.Stable == nil {
		t.Fatal("test data has no stable and canary ReplicaSets")
	}
	// The key mapping and indexes read the same from trimmed objects.
	for i := range rss {
		if k1, k2 := replicaSetKeys(rss[i]), replicaSetKeys(trimmedRS[i]); !reflect.DeepEqual(k1, k2) || len(k1) != 1 {
			t.Errorf("replicaSetKeys: %v from trimmed, %v from whole", k2, k1)
		}
	}
	for i := range pods {
		i1, _ := indexPodByReplicaSet(pods[i])
		i2, _ := indexPodByReplicaSet(trimmedPods[i])
		if !reflect.DeepEqual(i1, i2) || len(i1) != 1 {
			t.Errorf("pod index: %v from trimmed, %v from whole", i2, i1)
		}
	}
}

func TestFullObjectsKeepsWhatTheReconcilerWrites(t *testing.T) {
	tr := transforms(true)
	in := fatReplicaSet()
	out, err := tr.replicaSet(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := in.DeepCopy()
	want.ManagedFields = nil
	if !reflect.DeepEqual(out, want) {
		t.Errorf("full ReplicaSet changed beyond managedFields:\n%+v", out)
	}
	p := fatPod()
	pout, _ := tr.pod(p.DeepCopy())
	// The reconciler reads a pod's metadata (it relabels and evicts pods);
	// nothing else of it needs caching.
	got := pout.(*Pod)
	if got.Annotations["kubectl.kubernetes.io/restartedAt"] != "now" || got.Annotations[lastAppliedAnnotation] != "" || got.ManagedFields != nil {
		t.Errorf("full pod lost its annotations or kept managedFields: %+v", got)
	}
	if !reflect.DeepEqual(got.Labels, p.Labels) || !reflect.DeepEqual(got.OwnerReferences, p.OwnerReferences) || !got.CreationTimestamp.Equal(&p.CreationTimestamp) {
		t.Errorf("full pod lost metadata the reconciler reads: %+v", got.ObjectMeta)
	}
	if got.Phase != corev1.PodRunning || !got.Ready {
		t.Errorf("full pod lost its phase or readiness: %+v", got)
	}
	if p.Annotations[lastAppliedAnnotation] == "" {
		t.Errorf("the transform changed the informer's input")
	}
}

func TestTransformsPassOtherObjectsThrough(t *testing.T) {
	tomb := cache.DeletedFinalStateUnknown{Key: "shop/x"}
	for name, f := range map[string]cache.TransformFunc{"rollout": TrimRollout, "replicaset": TrimReplicaSet, "pod": TrimPod, "event": TrimEvent} {
		out, err := f(tomb)
		if err != nil || !reflect.DeepEqual(out, tomb) {
			t.Errorf("%s transform of a tombstone: %v, %v", name, out, err)
		}
	}
}
