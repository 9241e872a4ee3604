package sim

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// testPod is a pod created at t0+created seconds; ready ≥ 0 makes it Ready
// since t0+ready seconds.
func testPod(name string, created, ready int, node string, phase corev1.PodPhase, restarts int32) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(created) * time.Second)), Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{RestartCount: restarts}}},
	}
	if ready >= 0 {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(ready) * time.Second))}}
	}
	return p
}

func TestPodsToDelete(t *testing.T) {
	const n = "sim-node-1"
	tests := []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"unscheduled first", []*corev1.Pod{testPod("on-node", 0, -1, n, corev1.PodPending, 0), testPod("nowhere", 0, -1, "", corev1.PodPending, 0)}, "nowhere"},
		{"pending before running", []*corev1.Pod{testPod("running", 5, -1, n, corev1.PodRunning, 0), testPod("pending", 0, -1, n, corev1.PodPending, 0)}, "pending"},
		{"not ready before ready", []*corev1.Pod{testPod("ready", 9, 10, n, corev1.PodRunning, 0), testPod("unready", 0, -1, n, corev1.PodRunning, 0)}, "unready"},
		{"ready for less time first", []*corev1.Pod{testPod("long", 0, 1, n, corev1.PodRunning, 0), testPod("short", 0, 50, n, corev1.PodRunning, 0)}, "short"},
		{"more restarts first", []*corev1.Pod{testPod("calm", 0, 1, n, corev1.PodRunning, 0), testPod("crashy", 0, 1, n, corev1.PodRunning, 3)}, "crashy"},
		{"newest first", []*corev1.Pod{testPod("old", 0, 1, n, corev1.PodRunning, 0), testPod("new", 30, 1, n, corev1.PodRunning, 0)}, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := podsToDelete(tt.pods, 1)
			if len(got) != 1 || got[0].Name != tt.want {
				t.Errorf("deletes %v, want %s", names(got), tt.want)
			}
		})
	}
	all := []*corev1.Pod{testPod("a", 0, 1, n, corev1.PodRunning, 0), testPod("b", 10, -1, n, corev1.PodPending, 0), testPod("c", 5, 7, n, corev1.PodRunning, 0)}
	if got := names(podsToDelete(all, 2)); got != "b,c" {
		t.Errorf("two of three: %s, want b,c", got)
	}
	if got := podsToDelete(all, 5); len(got) != 3 {
		t.Errorf("more than there are: %d pods", len(got))
	}
}

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, ",")
}

func TestReplicaSetStatus(t *testing.T) {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Generation: 4},
		Spec: appsv1.ReplicaSetSpec{
			MinReadySeconds: 10,
			Template:        corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "role": "canary"}}},
		},
	}
	canaryPod := func(name string, ready int) *corev1.Pod {
		p := testPod(name, 0, ready, "sim-node-1", corev1.PodRunning, 0)
		p.Labels["role"] = "canary"
		return p
	}
	relabelled := canaryPod("relabelled", 0)
	relabelled.Labels["role"] = "stable"
	now := t0.Add(20 * time.Second)
	pods := []*corev1.Pod{canaryPod("available", 0), canaryPod("ready-recently", 15), canaryPod("starting", -1), relabelled}
	st, recheck := replicaSetStatus(rs, pods, 2, now)
	want := appsv1.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, ObservedGeneration: 4, TerminatingReplicas: ptr.To(int32(2))}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("status %+v, want %+v", st, want)
	}
	if recheck != 5*time.Second {
		t.Errorf("recheck in %s, want 5s (ready at 15s + minReadySeconds 10s - now 20s)", recheck)
	}
	rs.Spec.MinReadySeconds = 0
	if st, recheck := replicaSetStatus(rs, pods, 0, now); st.AvailableReplicas != 3 || recheck != 0 {
		t.Errorf("without minReadySeconds: available %d, recheck %s; want 3, none", st.AvailableReplicas, recheck)
	}
}

// replicaSet is a ReplicaSet of n pods of app=web, role=canary.
func replicaSet(name string, n int32) *appsv1.ReplicaSet {
	sel := map[string]string{"app": "web"}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: sel},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "role": "canary"}, Annotations: map[string]string{"team": "checkout"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "shop:v1"}}},
			},
		},
	}
}

func livePods(t *testing.T, c *Cluster, rs *appsv1.ReplicaSet) []corev1.Pod {
	t.Helper()
	pods, err := c.Pods(testNS, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == rs.UID && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func podNames(pods []corev1.Pod) map[string]bool {
	out := map[string]bool{}
	for _, p := range pods {
		out[p.Name] = true
	}
	return out
}

func TestReplicaSetControllerAndKubelets(t *testing.T) {
	o := fast
	o.PodStartMin, o.PodStartMax = 300*time.Millisecond, 300*time.Millisecond
	c := running(t, o)
	ctx := context.Background()
	rsc := c.Kube.AppsV1().ReplicaSets(testNS)
	rs, err := rsc.Create(ctx, replicaSet("web-6d4f8", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := func(what string, n int32) *appsv1.ReplicaSet {
		t.Helper()
		var got *appsv1.ReplicaSet
		eventually(t, 10*time.Second, what, func() (bool, string) {
			got, err = rsc.Get(ctx, rs.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st := got.Status
			return st.Replicas == n && st.ReadyReplicas == n && st.AvailableReplicas == n && st.ObservedGeneration == got.Generation,
				fmt.Sprintf("%+v generation %d", st, got.Generation)
		})
		return got
	}
	ready("3 pods ready", 3)
	first := livePods(t, c, rs)
	nodes := map[string]bool{}
	for _, p := range first {
		suffix, ok := strings.CutPrefix(p.Name, rs.Name+"-")
		if !ok || len(suffix) != 5 {
			t.Errorf("pod name %s, want %s-<5 characters>", p.Name, rs.Name)
		}
		ref := metav1.GetControllerOf(&p)
		if p.Labels["role"] != "canary" || p.Annotations["team"] != "checkout" || ref.UID != rs.UID || ref.Kind != "ReplicaSet" {
			t.Errorf("pod %s: labels %v, annotations %v, controller %+v", p.Name, p.Labels, p.Annotations, ref)
		}
		cs := p.Status.ContainerStatuses
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || len(cs) != 1 || !cs[0].Ready || cs[0].State.Running == nil || cs[0].ContainerID == "" {
			t.Errorf("pod %s not running and ready: %+v", p.Name, p.Status)
		}
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) != 3 || !nodes["sim-node-1"] {
		t.Errorf("3 pods on nodes %v; want them spread over sim-node-1..3", nodes)
	}

	// Surplus goes newest and not ready first: scale up, and back before the
	// new pods start.
	scale := func(n int32) {
		t.Helper()
		if _, err := rsc.Patch(ctx, rs.Name, types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scale(5)
	eventually(t, 5*time.Second, "5 pods", func() (bool, string) {
		n := len(livePods(t, c, rs))
		return n == 5, fmt.Sprint(n)
	})
	scale(3)
	got := ready("back to 3", 3)
	if got.Generation != 3 {
		t.Errorf("generation %d after two spec changes, want 3", got.Generation)
	}
	after := podNames(livePods(t, c, rs))
	for name := range podNames(first) {
		if !after[name] {
			t.Errorf("scale-down deleted %s, a ready old pod, instead of a new one; pods now %v", name, after)
		}
	}

	// A label patched in place stays; fullyLabeledReplicas says so.
	target := first[0].Name
	if _, err := c.Kube.CoreV1().Pods(testNS).Patch(ctx, target, types.MergePatchType, []byte(`{"metadata":{"labels":{"role":"stable"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "fullyLabeledReplicas 2", func() (bool, string) {
		got, _ := rsc.Get(ctx, rs.Name, metav1.GetOptions{})
		return got.Status.FullyLabeledReplicas == 2, fmt.Sprintf("%+v", got.Status)
	})
	p, err := c.Kube.CoreV1().Pods(testNS).Get(ctx, target, metav1.GetOptions{})
	if err != nil || p.Labels["role"] != "stable" {
		t.Fatalf("relabelled pod %s: %v, labels %v; want it kept with role=stable", target, err, p.Labels)
	}

	// A pod that leaves the selector is released and replaced.
	leaver := first[1].Name
	if _, err := c.Kube.CoreV1().Pods(testNS).Patch(ctx, leaver, types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"debug"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the pod released and replaced", func() (bool, string) {
		p, err := c.Kube.CoreV1().Pods(testNS).Get(ctx, leaver, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("released pod %s: %v; want it kept, without owner", leaver, err)
		}
		owned := podNames(livePods(t, c, rs))
		return metav1.GetControllerOf(p) == nil && len(owned) == 3 && !owned[leaver], fmt.Sprintf("controller %v, owned %v", metav1.GetControllerOf(p), owned)
	})
	ready("3 ready again", 3)

	// minReadySeconds: a ready pod becomes available 2s later (at least 1s:
	// the Ready condition's time is kept in whole seconds, as on a real server).
	if _, err := rsc.Patch(ctx, rs.Name, types.MergePatchType, []byte(`{"spec":{"minReadySeconds":2,"replicas":4}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "4 ready, not all available yet", func() (bool, string) {
		got, _ := rsc.Get(ctx, rs.Name, metav1.GetOptions{})
		return got.Status.ReadyReplicas == 4 && got.Status.AvailableReplicas < 4, fmt.Sprintf("%+v", got.Status)
	})
	ready("the new pod available after minReadySeconds", 4)
}

func TestGarbageCollection(t *testing.T) {
	c := running(t, fast)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("web")); err != nil {
		t.Fatal(err)
	}
	ro := rolloutState(t, c, "web")
	owned := replicaSet("web-abc", 2)
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.Kind, Name: "web", UID: ro.UID, Controller: ptr.To(true)}}
	rsc := c.Kube.AppsV1().ReplicaSets(testNS)
	for _, rs := range []*appsv1.ReplicaSet{owned, replicaSet("loose", 2)} {
		if _, err := rsc.Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	loose, err := rsc.Get(ctx, "loose", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "4 pods", func() (bool, string) {
		pods, _ := c.Pods(testNS, "app=web")
		return len(pods) == 4, fmt.Sprint(len(pods))
	})

	// A deleted ReplicaSet's pods terminate and go.
	if err := rsc.Delete(ctx, "loose", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "pods of the deleted ReplicaSet gone", func() (bool, string) {
		pods, _ := c.Pods(testNS, "app=web")
		left := 0
		for _, p := range pods {
			if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == loose.UID {
				left++
			}
		}
		return left == 0, fmt.Sprintf("%d left", left)
	})
	// A deleted Rollout's ReplicaSets go, and their pods after them.
	if err := c.rollouts(testNS).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the rollout's ReplicaSet and pods gone", func() (bool, string) {
		rss, _ := rsc.List(ctx, metav1.ListOptions{})
		pods, _ := c.Pods(testNS, "")
		return len(rss.Items) == 0 && len(pods) == 0, fmt.Sprintf("%d ReplicaSets, %d pods", len(rss.Items), len(pods))
	})
}
