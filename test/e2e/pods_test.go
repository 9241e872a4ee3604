//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/cluster"
	"github.com/roost-dev/roost/watch"
)

// crashLoop makes pod ns/name look as a kubelet shows a container that
// keeps dying: not ready, its container waiting in CrashLoopBackOff after
// restarts restarts, its last run ended in Error. kwok's stages leave a
// Running pod's status alone (they act on Pending pods, Jobs' pods and
// deleted ones), so the status stays as written.
func crashLoop(t *testing.T, ns, name string, restarts int32) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	kube := env.Client()
	p, err := kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			p.Status.Conditions[i].Status, p.Status.Conditions[i].Reason = corev1.ConditionFalse, "ContainersNotReady"
			p.Status.Conditions[i].LastTransitionTime = now
		}
	}
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		cs.Ready, cs.RestartCount = false, restarts
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "CrashLoopBackOff", Message: "back-off 2m40s restarting failed container=" + cs.Name + " pod=" + name + "_" + ns,
		}}
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: now}}
	}
	updated, err := kube.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("pod %s/%s: crash-loop its status: %v", ns, name, err)
	}
	return updated
}

// flat is a screen's text without the frames and the line breaks, spaces
// removed: text the screen wrapped is found whole in it.
func flat(screen string) string {
	var b strings.Builder
	for _, l := range strings.Split(screen, "\n") {
		b.WriteString(strings.Trim(l, " ┃│"))
	}
	return strings.Join(strings.Fields(b.String()), "")
}

// TestCockpitPodsCrashLoop: a canary pod crash-loops; the pods panel lists
// it first, with CrashLoopBackOff and its restarts, and enter on it opens
// the pod screen with its Events and, as kwok's nodes have no kubelet to
// serve logs (the simulated cluster's do: tui's TestPodScreenOnTheCluster
// reads one there), a message that says so and what to do.
func TestCockpitPodsCrashLoop(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const name = "checkout"

	ck := startCockpit(t, ns, "cockpit", nil)
	ck.awaitText("you step the canaries (this roost leads as ")
	_, _, canaryPod := startCanary(t, ns, name, cockpitSteps())
	pod := crashLoop(t, ns, canaryPod, 5)
	// A kubelet records BackOff Events; kwok records none.
	now := metav1.Now()
	if _, err := env.Client().CoreV1().Events(ns).Create(context.Background(), &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: canaryPod + ".backoff", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: canaryPod, UID: pod.UID},
		Reason:         "BackOff", Message: "Back-off restarting failed container app in pod " + canaryPod + "_" + ns + "(" + string(pod.UID) + ")",
		Type: corev1.EventTypeWarning, Count: 5, Source: corev1.EventSource{Component: "kubelet", Host: cluster.FakeNodeName},
		FirstTimestamp: now, LastTimestamp: now,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ck.awaitLine(name, "promote?", "2/4")
	ck.keys("Enter")
	ck.awaitLine(ns+"/"+name, "Step 2/4")
	// The list, then the pods panel.
	ck.keys("Tab", "Tab")
	screen := ck.awaitScreen("the crash-looping canary pod first in the focused pods panel", func(s string) bool {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if strings.Contains(l, "▸ Pods 5") && i+1 < len(lines) {
				return containsAll(lines[i+1], "▌ ◆ "+canaryPod, "0/1", "CrashLoopBackOff", " 5 ", cluster.FakeNodeName)
			}
		}
		return false
	})
	if n := strings.Count(screen, "CrashLoopBackOff"); n != 1 {
		t.Errorf("%d pods show CrashLoopBackOff, want the one canary pod", n)
	}
	// kwok left the status as written.
	p, err := env.Client().CoreV1().Pods(ns).Get(context.Background(), canaryPod, metav1.GetOptions{})
	if err != nil || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
		t.Fatalf("the crash-looping status did not stay: %+v (%v)", p.Status.ContainerStatuses, err)
	}

	ck.keys("Enter")
	ck.awaitText("◆ "+ns+"/"+canaryPod, "CrashLoopBackOff · 5 restarts · ready 0/1 · canary of "+name)
	ck.awaitLine("BackOff (5×)", "Back-off restarting failed container app")
	ck.awaitLine("Scheduled", "Successfully assigned "+ns+"/"+canaryPod)
	want := []string{
		"logs: the node's kubelet did not answer (no preferred addresses found; known addresses: [])",
		"try `kubectl logs -n " + ns + " " + canaryPod + "`",
		"`kubectl logs -n " + ns + " " + canaryPod + " --previous`",
	}
	ck.awaitScreen("the pod screen saying the log cannot be read and what to do", func(s string) bool {
		f := flat(s)
		for _, w := range want {
			if !strings.Contains(f, strings.Join(strings.Fields(w), "")) {
				return false
			}
		}
		return true
	})

	// Back to the pods panel.
	ck.keys("h")
	ck.awaitLine("▸ Pods 5")
}

// TestPodClientReadsWhatPodOfKeeps: on the real API server, the pods'
// client (watch.PodClient), reading pods straight from the protobuf watch
// stream, keeps of each pod exactly what watch.PodOf keeps of the same pod
// listed by the typed client: over a watch-list's initial events (to its
// bookmark) of pods in many states, a status change and a deletion.
func TestPodClientReadsWhatPodOfKeeps(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	kube := env.Client()
	states := map[string]corev1.ContainerState{
		"running": {Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
		"crash":   {Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off"}},
		"oom":     {Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}},
		"signal":  {Terminated: &corev1.ContainerStateTerminated{Signal: 9, ExitCode: 0}},
		"pulling": {Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}},
	}
	for name, st := range states {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: "abc123", "app": "shop"},
				Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "payments"}},
			Spec: corev1.PodSpec{
				// No scheduler picks it up, and kwok acts on no pod of
				// no node: the status stays as written.
				SchedulerName: "roost-test-none",
				Containers:    []corev1.Container{{Name: "app", Image: "shop:1"}, {Name: "proxy", Image: "envoy:1"}},
			},
		}
		created, err := kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status = corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", RestartCount: 1,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", RestartCount: 3, State: st},
				{Name: "proxy", Ready: true, State: states["running"]},
			},
		}
		if _, err := kube.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pods, err := watch.NewPodClient(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, annotations := range []bool{false, true} {
		w, err := pods.Watch(ctx, ns, metav1.ListOptions{
			LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey, SendInitialEvents: ptr.To(true),
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true,
		}, annotations)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*watch.Pod{}
		rv := ""
		for rv == "" {
			e := <-w.ResultChan()
			p, ok := e.Object.(*watch.Pod)
			if !ok {
				t.Fatalf("a %s event of %T, want *watch.Pod: %+v", e.Type, e.Object, e.Object)
			}
			if e.Type == apiwatch.Bookmark && p.Annotations[metav1.InitialEventsAnnotationKey] == "true" {
				rv = p.ResourceVersion
				continue
			}
			got[p.Name] = p
		}
		list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(states) || len(list.Items) != len(states) {
			t.Fatalf("annotations %v: the watch gave %d pods and the list %d, want %d", annotations, len(got), len(list.Items), len(states))
		}
		for i := range list.Items {
			want := watch.PodOf(&list.Items[i], annotations)
			if !equality.Semantic.DeepEqual(got[want.Name], want) {
				t.Errorf("annotations %v, pod %s:\n watched %+v\n  listed %+v", annotations, want.Name, got[want.Name], want)
			}
		}
		if annotations && got["crash"].Annotations["team"] != "payments" {
			t.Errorf("the reconciler's pods lost their annotations: %v", got["crash"].Annotations)
		}

		// A change and a deletion arrive read the same way.
		p, err := kube.CoreV1().Pods(ns).Get(ctx, "running", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Conditions[0].Status = corev1.ConditionTrue
		p.Status.ContainerStatuses[0].Ready = true
		if p, err = kube.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e := <-w.ResultChan()
		if mod, ok := e.Object.(*watch.Pod); e.Type != apiwatch.Modified || !ok || !equality.Semantic.DeepEqual(mod, watch.PodOf(p, annotations)) {
			t.Errorf("annotations %v: after a status change, %s %+v, want it modified as %+v", annotations, e.Type, e.Object, watch.PodOf(p, annotations))
		}
		if annotations {
			if err := kube.CoreV1().Pods(ns).Delete(ctx, "oom", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatal(err)
			}
			deleted := false
			for e := range w.ResultChan() {
				if p, ok := e.Object.(*watch.Pod); ok && p.Name == "oom" && e.Type == apiwatch.Deleted {
					deleted = true
					break
				}
			}
			if !deleted {
				t.Error("the deleted pod never arrived as deleted")
			}
		} else {
			p.Status.Conditions[0].Status = corev1.ConditionFalse
			if _, err := kube.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		w.Stop()
	}
}
