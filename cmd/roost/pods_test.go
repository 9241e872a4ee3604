package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/tui"
)

func TestKubePodsLogs(t *testing.T) {
	pod := func(name string, annotations map[string]string, containers ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Annotations: annotations}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		}
		return p
	}
	kube := kubefake.NewClientset(
		pod("one", nil, "app"),
		pod("sidecar-first", map[string]string{defaultContainerAnnotation: "app"}, "proxy", "app"),
		pod("bad-annotation", map[string]string{defaultContainerAnnotation: "gone"}, "web", "proxy"),
	)
	var asked []*corev1.PodLogOptions
	pods := newKubePods(kube, func(_ context.Context, ns, name string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
		asked = append(asked, o)
		return io.NopCloser(strings.NewReader(ns + "/" + name + "/" + o.Container + "\n")), nil
	})
	for _, c := range []struct {
		pod, container, want string
	}{
		{"one", "", "app"},
		{"sidecar-first", "", "app"},
		{"bad-annotation", "", "web"},
		{"sidecar-first", "proxy", "proxy"},
	} {
		s, err := pods.PodLogs(context.Background(), "shop", c.pod, tui.LogOptions{Container: c.container, TailLines: 200, Follow: true})
		if err != nil {
			t.Fatalf("%s: %v", c.pod, err)
		}
		b, _ := io.ReadAll(s)
		if s.Container != c.want || string(b) != "shop/"+c.pod+"/"+c.want+"\n" {
			t.Errorf("%s (container %q): read %q of %q, want %s", c.pod, c.container, b, s.Container, c.want)
		}
	}
	if o := asked[0]; !o.Follow || o.TailLines == nil || *o.TailLines != 200 || o.LimitBytes != nil {
		t.Errorf("options sent %+v, want a follow of the last 200 lines without a byte cap", o)
	}
	if _, err := pods.PodLogs(context.Background(), "shop", "one", tui.LogOptions{TailLines: 200, LimitBytes: 1 << 18}); err != nil || asked[4].LimitBytes == nil || *asked[4].LimitBytes != 1<<18 || asked[4].Follow {
		t.Errorf("a capped read sent %+v (%v)", asked[len(asked)-1], err)
	}
	if _, err := pods.PodLogs(context.Background(), "shop", "missing", tui.LogOptions{}); err == nil {
		t.Error("a missing pod's log: no error")
	}
}

func TestKubePodsEvents(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ev := func(name, kind, about, reason string, ago time.Duration) runtime.Object {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "shop"},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: "shop", Name: about},
			Reason:         reason, Type: corev1.EventTypeWarning, LastTimestamp: metav1.NewTime(now.Add(-ago)),
		}
	}
	kube := kubefake.NewClientset(
		ev("a", "Pod", "web-1", "BackOff", time.Second),
		ev("b", "Pod", "web-1", "Pulled", time.Minute),
		ev("c", "Pod", "web-2", "BackOff", time.Second),
		ev("d", "Rollout", "web-1", "RolloutPaused", time.Second),
	)
	var selector string
	kube.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		selector = a.(k8stesting.ListAction).GetListRestrictions().Fields.String()
		return false, nil, nil
	})
	got, err := newKubePods(kube, nil).PodEvents(context.Background(), "shop", "web-1")
	if err != nil {
		t.Fatal(err)
	}
	if selector != "involvedObject.kind=Pod,involvedObject.name=web-1" {
		t.Errorf("field selector %q", selector)
	}
	if len(got) != 2 || got[0].Reason != "BackOff" || got[1].Reason != "Pulled" {
		t.Errorf("events %+v, want web-1's BackOff then Pulled", got)
	}
}
