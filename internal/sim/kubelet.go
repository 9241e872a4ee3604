package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// runPod is the kubelet of the pod's node. A new pod is accepted at once
// (PodScheduled, containers ContainerCreating), then Running and Ready once
// its containers are up, after a random start delay. A deleted pod stops
// after a random delay, within its grace period, and its kubelet then
// removes it from the API server.
func (l *loops) runPod(t task) error {
	pod, ok := l.api.peek(podsGVR, t.namespace, t.name).(*corev1.Pod)
	if !ok {
		return nil
	}
	now := l.now()
	if pod.DeletionTimestamp != nil {
		at := l.kubelet.stopAt(pod, now)
		if wait := at.Sub(now); wait > 0 {
			l.queue.AddAfter(t, wait)
			return nil
		}
		uid := pod.UID
		err := l.api.delete(podsGVR, pod.Namespace, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0)), Preconditions: &metav1.Preconditions{UID: &uid}})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	node, ok := l.nodes.byName(pod.Spec.NodeName)
	if !ok || pod.Status.Phase != corev1.PodPending {
		// No kubelet of this cluster runs it, or it is past starting.
		return nil
	}
	at := l.kubelet.startAt(pod.UID, now)
	next := pod.DeepCopy()
	if wait := at.Sub(now); wait > 0 {
		if !hasCondition(pod, corev1.PodScheduled) {
			next.Status = creatingStatus(pod, node, now)
			if _, err := l.api.update(podsGVR, pod.Namespace, next, "status"); err != nil {
				return err
			}
		}
		l.queue.AddAfter(t, wait)
		return nil
	}
	next.Status = runningStatus(pod, node, l.kubelet.podIP(node), l.kubelet.containerID, now)
	if _, err := l.api.update(podsGVR, pod.Namespace, next, "status"); err != nil {
		return err
	}
	if l.kubelet.events {
		l.recordStarted(pod, node, now)
	}
	return nil
}

// recordStarted records the Events a scheduler and a kubelet record for a
// pod that started: where it was placed, and each container started.
func (l *loops) recordStarted(pod *corev1.Pod, n node, now time.Time) {
	record := func(source, reason, message string, at time.Time) {
		t := metav1.NewTime(at)
		e := &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", pod.Name, at.UnixNano()), Namespace: pod.Namespace},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
				UID: pod.UID, ResourceVersion: pod.ResourceVersion},
			Reason: reason, Message: message, Type: corev1.EventTypeNormal, Count: 1,
			Source:         corev1.EventSource{Component: source, Host: n.name},
			FirstTimestamp: t, LastTimestamp: t,
		}
		_, _ = l.api.create(eventsGVR, pod.Namespace, e)
	}
	created := pod.CreationTimestamp.Time
	if created.IsZero() || created.After(now) {
		created = now
	}
	record("default-scheduler", "Scheduled", "Successfully assigned "+pod.Namespace+"/"+pod.Name+" to "+n.name, created)
	for i, c := range pod.Spec.Containers {
		at := now.Add(time.Duration(i) * time.Microsecond)
		record("kubelet", "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image), at)
		record("kubelet", "Started", "Started container "+c.Name, at.Add(time.Nanosecond))
	}
}

// kubelet holds what the kubelets decided about each pod: when its
// containers are up, when it has stopped.
type kubelet struct {
	// events is Options.PodEvents.
	events             bool
	startMin, startMax time.Duration
	stopMin, stopMax   time.Duration
	rand               *lockedRand

	mu    sync.Mutex
	start map[types.UID]time.Time
	stop  map[types.UID]time.Time
	ips   atomic.Uint64
}

func newKubelet(r *lockedRand, startMin, startMax, stopMin, stopMax time.Duration, events bool) *kubelet {
	return &kubelet{
		events: events,
		rand:   r, startMin: startMin, startMax: startMax, stopMin: stopMin, stopMax: stopMax,
		start: map[types.UID]time.Time{}, stop: map[types.UID]time.Time{},
	}
}

// startAt is when the pod's containers are up: a random delay after the
// kubelet first saw it.
func (k *kubelet) startAt(uid types.UID, now time.Time) time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.start[uid]
	if !ok {
		at = now.Add(k.rand.between(k.startMin, k.startMax))
		k.start[uid] = at
	}
	return at
}

// stopAt is when the deleted pod's containers have exited: a random delay
// after the kubelet saw the deletion, and never after the grace period.
func (k *kubelet) stopAt(pod *corev1.Pod, now time.Time) time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.stop[pod.UID]
	if !ok {
		at = now.Add(k.rand.between(k.stopMin, k.stopMax))
		if deadline := pod.DeletionTimestamp.Time; deadline.Before(at) {
			at = deadline
		}
		k.stop[pod.UID] = at
	}
	return at
}

// forget drops what was kept about a pod that is gone.
func (k *kubelet) forget(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.start, uid)
	delete(k.stop, uid)
}

// podIP hands out the next address of the node's pod range.
func (k *kubelet) podIP(n node) string {
	i := k.ips.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", 100+n.index, (i/250)%250, i%250+2)
}

// containerID is a runtime's name for a started container.
func (k *kubelet) containerID() string {
	return fmt.Sprintf("containerd://%016x%016x", k.rand.uint64(), k.rand.uint64())
}

// creatingStatus is a pod its kubelet accepted and is pulling images for.
func creatingStatus(pod *corev1.Pod, n node, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now)
	st := corev1.PodStatus{
		Phase:     corev1.PodPending,
		HostIP:    n.ip,
		HostIPs:   []corev1.HostIP{{IP: n.ip}},
		StartTime: &t,
		QOSClass:  qosClass(&pod.Spec),
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse, LastTransitionTime: t},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: t, Reason: "ContainersNotReady", Message: "containers with unready status: " + containerNames(pod)},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: t, Reason: "ContainersNotReady", Message: "containers with unready status: " + containerNames(pod)},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t},
		},
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: ptr.To(false),
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		})
	}
	return st
}

// runningStatus is a pod whose containers all run and pass readiness.
func runningStatus(pod *corev1.Pod, n node, ip string, containerID func() string, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now)
	st := creatingStatus(pod, n, now)
	if pod.Status.StartTime != nil {
		st.StartTime = pod.Status.StartTime.DeepCopy()
	}
	st.Phase = corev1.PodRunning
	st.PodIP = ip
	st.PodIPs = []corev1.PodIP{{IP: ip}}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if old := condition(pod, c.Type); old != nil && old.Status == corev1.ConditionTrue {
			c.LastTransitionTime = old.LastTransitionTime
		}
		c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
	}
	for i := range st.ContainerStatuses {
		cs := &st.ContainerStatuses[i]
		cs.Ready = true
		cs.Started = ptr.To(true)
		cs.ContainerID = containerID()
		cs.ImageID = imageID(cs.Image)
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t}}
	}
	return st
}

// imageID is a repository digest standing for the image.
func imageID(image string) string {
	sum := sha256.Sum256([]byte(image))
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}

func containerNames(pod *corev1.Pod) string {
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return "[" + strings.Join(names, " ") + "]"
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func hasCondition(pod *corev1.Pod, t corev1.PodConditionType) bool {
	c := condition(pod, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// qosClass is BestEffort without requests or limits, Guaranteed when every
// container's requests equal its cpu and memory limits, else Burstable.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	specified, guaranteed := false, true
	for _, c := range spec.Containers {
		r := c.Resources
		if len(r.Requests) > 0 || len(r.Limits) > 0 {
			specified = true
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			lim, ok := r.Limits[name]
			if !ok {
				guaranteed = false
				continue
			}
			if req, ok := r.Requests[name]; ok && req.Cmp(lim) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !specified:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
