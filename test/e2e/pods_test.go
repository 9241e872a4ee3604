//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/internal/cluster"
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
