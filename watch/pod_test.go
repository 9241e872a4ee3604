package watch

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}
}

var running = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}

func TestPodReason(t *testing.T) {
	tests := []struct {
		name       string
		pod        func(p *corev1.Pod)
		want       string
		severity   PodSeverity
		containers []corev1.ContainerState
		inits      []corev1.ContainerState
	}{
		{name: "running", containers: []corev1.ContainerState{running}, want: "", severity: PodFine},
		{name: "no status yet", want: "", severity: PodFine},
		{name: "creating", containers: []corev1.ContainerState{waiting("ContainerCreating")}, want: "ContainerCreating", severity: PodTransient},
		{name: "crash loop", containers: []corev1.ContainerState{waiting("CrashLoopBackOff")}, want: "CrashLoopBackOff", severity: PodBad},
		{name: "image pull back-off", containers: []corev1.ContainerState{waiting("ImagePullBackOff")}, want: "ImagePullBackOff", severity: PodBad},
		{name: "image pull error", containers: []corev1.ContainerState{waiting("ErrImagePull")}, want: "ErrImagePull", severity: PodBad},
		{name: "bad config", containers: []corev1.ContainerState{waiting("CreateContainerConfigError")}, want: "CreateContainerConfigError", severity: PodBad},
		{name: "waiting without a reason", containers: []corev1.ContainerState{waiting("")}, want: "", severity: PodFine},
		{name: "OOM killed", containers: []corev1.ContainerState{terminated("OOMKilled", 137)}, want: "OOMKilled", severity: PodBad},
		{name: "error exit", containers: []corev1.ContainerState{terminated("Error", 1)}, want: "Error", severity: PodBad},
		{name: "exit code without a reason", containers: []corev1.ContainerState{terminated("", 2)}, want: "ExitCode:2", severity: PodBad},
		{name: "a service's container completed", containers: []corev1.ContainerState{terminated("Completed", 0)}, want: "Completed", severity: PodWarn},
		{name: "the worst container wins, whatever its place",
			containers: []corev1.ContainerState{running, waiting("ContainerCreating"), waiting("CrashLoopBackOff"), terminated("Completed", 0)},
			want:       "CrashLoopBackOff", severity: PodBad},
		{name: "of two failures, the first", containers: []corev1.ContainerState{waiting("ImagePullBackOff"), waiting("CrashLoopBackOff")}, want: "ImagePullBackOff", severity: PodBad},
		{name: "an init container that completed is fine", inits: []corev1.ContainerState{terminated("Completed", 0)}, containers: []corev1.ContainerState{running}, want: "", severity: PodFine},
		{name: "a failing init container", inits: []corev1.ContainerState{waiting("CrashLoopBackOff")}, containers: []corev1.ContainerState{waiting("PodInitializing")},
			want: "Init:CrashLoopBackOff", severity: PodBad},
		{name: "evicted", pod: func(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" },
			containers: []corev1.ContainerState{terminated("Error", 137)}, want: "Evicted", severity: PodBad},
		{name: "terminating, whatever else", pod: func(p *corev1.Pod) { p.DeletionTimestamp = ptr(metav1.NewTime(now)) },
			containers: []corev1.ContainerState{waiting("CrashLoopBackOff")}, want: "Terminating", severity: PodTransient},
		{name: "unschedulable", pod: func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
		}, want: "Unschedulable", severity: PodBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}
			for i, st := range tt.containers {
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: fmt.Sprint("c", i), State: st})
			}
			for i, st := range tt.inits {
				p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: fmt.Sprint("i", i), State: st})
			}
			if tt.pod != nil {
				tt.pod(p)
			}
			got, sev := PodReason(p)
			if got != tt.want || sev != tt.severity {
				t.Errorf("PodReason = %q, %d; want %q, %d", got, sev, tt.want, tt.severity)
			}
			if kept := PodOf(p, false); kept.Reason != tt.want || kept.Severity != tt.severity {
				t.Errorf("PodOf keeps %q, %d; want %q, %d", kept.Reason, kept.Severity, tt.want, tt.severity)
			}
		})
	}
}

func TestPodOfCountsAndShares(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop"},
		Spec:       corev1.PodSpec{NodeName: "node-7", Containers: []corev1.Container{{Name: "app"}, {Name: "proxy"}}},
		Status: corev1.PodStatus{
			Phase:                 corev1.PodRunning,
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", RestartCount: 1, State: terminated("Completed", 0)}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", RestartCount: 7, State: waiting("CrashLoopBackOff")},
				{Name: "proxy", Ready: true, RestartCount: 2, State: running},
			},
		},
	}
	got := PodOf(p, false)
	if got.Restarts != 10 || got.ReadyContainers != 1 || got.Containers != 2 || got.NodeName != "node-7" || got.Reason != "CrashLoopBackOff" || got.Ready {
		t.Errorf("PodOf = restarts %d, ready %d/%d, node %q, reason %q, ready %v", got.Restarts, got.ReadyContainers, got.Containers, got.NodeName, got.Reason, got.Ready)
	}
	cp := got.DeepCopyObject().(*Pod)
	if cp.Restarts != got.Restarts || cp.Reason != got.Reason || cp.NodeName != got.NodeName || cp.ReadyContainers != 1 || cp.Containers != 2 || cp.Severity != PodBad {
		t.Errorf("DeepCopyObject lost fields: %+v", cp)
	}
	// Another pod on the same node holds the same copy of its name.
	q := p.DeepCopy()
	q.Spec.NodeName = string([]byte("node-7"))
	other := PodOf(q, false)
	if unsafe.StringData(other.NodeName) != unsafe.StringData(got.NodeName) {
		t.Error("two pods on one node keep two copies of its name")
	}
}

// TestPodSize reports what the pods panel costs each cached pod: Restarts,
// Severity and the container counts fill the padding after Ready, so only
// Reason and NodeName (two string headers, 32 bytes) are new; the strings
// themselves are shared (interned), and Reason is empty for a healthy pod.
func TestPodSize(t *testing.T) {
	type before struct {
		metav1.TypeMeta
		metav1.ObjectMeta
		Phase corev1.PodPhase
		Ready bool
	}
	old, cur := unsafe.Sizeof(before{}), unsafe.Sizeof(Pod{})
	t.Logf("watch.Pod: %d bytes, was %d (+%d); 10,000 pods: +%d KiB", cur, old, cur-old, (cur-old)*10000/1024)
	if cur-old > 32 {
		t.Errorf("watch.Pod grew by %d bytes, more than the two strings (32) the pods panel needs", cur-old)
	}
}

func TestSnapshotListsPodsWorstFirst(t *testing.T) {
	mk := func(owner, name string, mutate func(p *Pod)) *Pod {
		p := &Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop",
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", UID: types.UID(owner), Controller: ptr(true)}}},
			Phase: corev1.PodRunning, Ready: true}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	bad := func(reason string, restarts int32) func(p *Pod) {
		return func(p *Pod) { p.Reason, p.Severity, p.Ready, p.Restarts = reason, PodBad, false, restarts }
	}
	notReady := func(p *Pod) { p.Ready = false }
	restarts := func(n int32) func(p *Pod) { return func(p *Pod) { p.Restarts = n } }
	all := []*Pod{
		mk("checkout-old", "s-fine", nil),
		mk("checkout-old", "s-restarts", restarts(4)),
		mk("checkout-old", "s-evicted", func(p *Pod) { p.Phase, p.Reason, p.Severity, p.Ready = corev1.PodFailed, "Evicted", PodBad, false }),
		mk("checkout-new", "c-fine", nil),
		mk("checkout-new", "c-creating", func(p *Pod) { p.Reason, p.Severity, p.Ready = "ContainerCreating", PodTransient, false }),
		mk("checkout-new", "c-crash", bad("CrashLoopBackOff", 5)),
		mk("checkout-new", "c-notready", notReady),
		mk("checkout-new", "c-oom", bad("OOMKilled", 9)),
		mk("checkout-new", "c-restarts", restarts(2)),
		mk("checkout-new", "c-completed", func(p *Pod) { p.Reason, p.Severity = "Completed", PodWarn }),
		mk("checkout-older", "o-terminating", func(p *Pod) { p.Reason, p.Severity, p.Ready = "Terminating", PodTransient, false }),
		mk("cart-x", "not-ours", bad("CrashLoopBackOff", 99)),
	}
	rss := []*appsv1.ReplicaSet{
		rs("checkout-old", "old", "1", "ro", 3, 2, 2),
		rs("checkout-new", "new", "3", "ro", 7, 2, 2),
		rs("checkout-older", "older", "2", "ro", 1, 0, 0),
		rs("cart-x", "x", "1", "other", 1, 0, 0),
	}
	v := Snapshot(rollout(nil), rss, all, nil, now)
	var got []string
	for _, p := range v.Pods {
		got = append(got, p.Role.String()+" "+p.Name)
	}
	want := []string{
		// The canary's: failing (the one with more restarts first among
		// equals), odd, then not Ready, then restarts.
		"canary c-oom", "canary c-crash", "canary c-completed", "canary c-creating", "canary c-notready", "canary c-restarts", "canary c-fine",
		"stable s-evicted", "stable s-restarts", "stable s-fine",
		"old o-terminating",
	}
	if !slices.Equal(got, want) {
		t.Errorf("pods\n%q\nwant\n%q", got, want)
	}
	crash := v.Pods[1]
	if want := (PodInfo{Name: "c-crash", ReplicaSet: "checkout-new", Role: PodOfCanary, Phase: corev1.PodRunning, Severity: PodBad, Restarts: 5, Reason: "CrashLoopBackOff"}); !reflect.DeepEqual(crash, want) {
		t.Errorf("pod %+v, want %+v", crash, want)
	}
	if crash.Status() != "CrashLoopBackOff" || v.Pods[6].Status() != "Running" {
		t.Errorf("status %q and %q", crash.Status(), v.Pods[6].Status())
	}
	// The counts by role are those of before: live pods only.
	if v.Stable.PodsByRole[""] != 2 || v.Canary.PodsByRole[""] != 7 {
		t.Errorf("pods by role: stable %v canary %v", v.Stable.PodsByRole, v.Canary.PodsByRole)
	}
}
