package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/watch"
)

// simPods reads the simulated cluster's pod logs (its kubelets make them
// up) and Events, as cmd/roost's kubePods does through an API server.
type simPods struct{ c *sim.Cluster }

func (s simPods) PodLogs(ctx context.Context, ns, name string, o LogOptions) (LogStream, error) {
	container := o.Container
	if container == "" {
		pod, err := s.c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return LogStream{}, err
		}
		container = pod.Spec.Containers[0].Name
	}
	opts := &corev1.PodLogOptions{Container: container, Follow: o.Follow}
	if o.TailLines > 0 {
		opts.TailLines = &o.TailLines
	}
	if o.LimitBytes > 0 {
		opts.LimitBytes = &o.LimitBytes
	}
	r, err := s.c.PodLogs(ctx, ns, name, opts)
	if err != nil {
		return LogStream{}, err
	}
	return LogStream{Container: container, ReadCloser: r}, nil
}

func (s simPods) PodEvents(ctx context.Context, ns, name string) ([]watch.Event, error) {
	l, err := s.c.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,involvedObject.name=" + name})
	if err != nil {
		return nil, err
	}
	return watch.PodEventsOf(l.Items, name, ""), nil
}

// TestPodScreenOnTheCluster opens a canary pod's log and Events in the
// cockpit over the simulated cluster, whose kubelets log each request (the
// real cluster of the end-to-end tests, kwok, serves no logs: its test
// checks the screen's "no logs" message instead). The canary's version
// fails its requests; its pods come first in the pods panel.
func TestPodScreenOnTheCluster(t *testing.T) {
	opt := sim.Options{LogInterval: 50 * time.Millisecond, PodEvents: true}
	s := startSimCockpit(t, opt, nil, canaryRollout("cart", 4, weight(25), untilPromoted()))
	s.c.SetLogProfile(func(pod *corev1.Pod, _ time.Time) sim.LogProfile {
		if pod.Spec.Containers[0].Image == "cart:2" {
			return sim.LogProfile{ErrorRate: 1, Errors: []string{"NoMethodError: undefined method 'price' for nil"}}
		}
		return sim.LogProfile{}
	})
	s.newRevision("cart")
	s.until(30*time.Second, "promote?", "1/1", "3/3")
	s.focus("cart")
	s.press("enter")
	for range panels {
		if s.m.focus == panelPods {
			break
		}
		s.press("tab")
	}
	s.until(5*time.Second, "▸ Pods 4", "enter pod log")
	canary := s.m.current().Pods[0]
	if canary.Role != watch.PodOfCanary || !strings.HasPrefix(canary.Name, s.m.current().Canary.Name+"-") {
		t.Fatalf("first pod %+v, want the canary's", canary)
	}
	s.press("enter")
	s.until(10*time.Second, "◆ shop/"+canary.Name, "Log of app, last 200 lines", "following (f stops)",
		" ERROR ", "NoMethodError: undefined method 'price'", "canary of cart",
		"Scheduled Successfully assigned shop/"+canary.Name, "Started Started container app")
	// New lines come while it is shown.
	n := len(s.m.pod.logs.lines)
	s.eventually(5*time.Second, "more lines followed", func() bool { return len(s.m.pod.logs.lines) > n })
	// f stops: no more lines.
	s.press("f")
	s.until(time.Second, "not following (f follows)")
	n = len(s.m.pod.logs.lines)
	time.Sleep(300 * time.Millisecond)
	s.eventually(time.Second, "no new lines", func() bool { return len(s.m.pod.logs.lines) == n })
	s.press("backspace")
	s.until(time.Second, "▸ Pods 4")
	if s.m.pod != nil {
		t.Error("the pod screen is still open")
	}
}
