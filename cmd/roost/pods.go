package main

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/tui"
	"github.com/roost-dev/roost/watch"
)

// defaultContainerAnnotation names the container kubectl logs reads when
// none is given.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// logStream opens one container's log, as client-go's
// Pods(ns).GetLogs(name, o).Stream(ctx) does.
type logStream func(ctx context.Context, ns, name string, o *corev1.PodLogOptions) (io.ReadCloser, error)

// kubePods reads pods' logs and Events for the cockpit's pod screen
// (tui.PodLogs, tui.PodEvents), through the API server: the logs with
// pods/log (get), which the API server asks the pod's kubelet for, the
// Events with a list by involvedObject.
type kubePods struct {
	kube kubernetes.Interface
	// stream opens a log: the API server's pods/log unless set (the
	// demo's simulated kubelets).
	stream logStream
}

func newKubePods(kube kubernetes.Interface, stream logStream) kubePods {
	if stream == nil {
		stream = func(ctx context.Context, ns, name string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
			return kube.CoreV1().Pods(ns).GetLogs(name, o).Stream(ctx)
		}
	}
	return kubePods{kube: kube, stream: stream}
}

// PodLogs implements tui.PodLogs. Without a container named, it reads the
// pod's default one, as kubectl logs does.
func (k kubePods) PodLogs(ctx context.Context, ns, name string, o tui.LogOptions) (tui.LogStream, error) {
	container := o.Container
	if container == "" {
		pod, err := k.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return tui.LogStream{}, err
		}
		container = defaultContainer(pod)
	}
	opts := &corev1.PodLogOptions{Container: container, Follow: o.Follow}
	if o.TailLines > 0 {
		opts.TailLines = &o.TailLines
	}
	if o.LimitBytes > 0 {
		opts.LimitBytes = &o.LimitBytes
	}
	body, err := k.stream(ctx, ns, name, opts)
	if err != nil {
		return tui.LogStream{}, err
	}
	return tui.LogStream{Container: container, ReadCloser: body}, nil
}

// defaultContainer is the container kubectl logs reads: the one the pod's
// annotation names, else its first.
func defaultContainer(pod *corev1.Pod) string {
	if name := pod.Annotations[defaultContainerAnnotation]; name != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == name {
				return name
			}
		}
	}
	if len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Name
	}
	return ""
}

// PodEvents implements tui.PodEvents: the Events whose involvedObject is
// the pod, newest first.
func (k kubePods) PodEvents(ctx context.Context, ns, name string) ([]watch.Event, error) {
	sel := fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.kind", "Pod"), fields.OneTermEqualSelector("involvedObject.name", name))
	list, err := k.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	return watch.PodEventsOf(list.Items, name, ""), nil
}
