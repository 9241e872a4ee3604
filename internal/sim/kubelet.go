package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
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
	_, err := l.api.update(podsGVR, pod.Namespace, next, "status")
	return err
}

// kubelet holds what the kubelets decided about each pod: when its
// containers are up, when it has stopped.
type kubelet struct {
	startMin, startMax time.Duration
	stopMin, stopMax   time.Duration
	rand               *lockedRand

	mu    sync.Mutex
	start map[types.UID]time.Time
	stop  map[types.UID]time.Time
	ips   atomic.Uint64
}

func newKubelet(r *lockedRand, startMin, startMax, stopMin, stopMax time.Duration) *kubelet {
	return &kubelet{
		rand: r, startMin: startMin, startMax: startMax, stopMin: stopMin, stopMax: stopMax,
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

// node is one simulated node.
type node struct {
	name  string
	ip    string
	index int
}

// nodePool is the cluster's nodes; pods are spread over them in turn.
type nodePool struct {
	nodes []node
	turn  atomic.Uint64
}

func newNodePool(n int) *nodePool {
	p := &nodePool{}
	for i := 1; i <= n; i++ {
		p.nodes = append(p.nodes, node{name: fmt.Sprintf("sim-node-%d", i), ip: fmt.Sprintf("10.0.0.%d", 10+i), index: i})
	}
	return p
}

func (p *nodePool) next() node {
	return p.nodes[(p.turn.Add(1)-1)%uint64(len(p.nodes))]
}

func (p *nodePool) byName(name string) (node, bool) {
	for _, n := range p.nodes {
		if n.name == name {
			return n, true
		}
	}
	return node{}, false
}

// object is the Node object of n, Ready, as its kubelet registers it.
func (n node) object(now time.Time) *corev1.Node {
	t := metav1.NewTime(now)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods:   resource.MustParse("1000"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.name,
			Labels: map[string]string{"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "sim"},
		},
		Spec: corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.%d.0.0/16", 100+n.index), PodCIDRs: []string{fmt.Sprintf("10.%d.0.0/16", 100+n.index)}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: t, LastTransitionTime: t},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: t, LastTransitionTime: t},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: t, LastTransitionTime: t},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: t, LastTransitionTime: t},
			},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.ip}, {Type: corev1.NodeHostName, Address: n.name}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: serverVersion.GitVersion, ContainerRuntimeVersion: "containerd://2.1.0", OperatingSystem: "linux", Architecture: "amd64", OSImage: "roost demo"},
		},
	}
}

// lockedRand is a random source safe for the loops' workers.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// between is a uniform duration in [lo, hi].
func (l *lockedRand) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return lo + time.Duration(l.r.Int64N(int64(hi-lo)+1))
}

func (l *lockedRand) uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

// nameAlphabet is the API server's alphabet for generated name suffixes: no
// vowels (no words), no 0, 1 or 3 (no look-alikes).
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffix is a generateName suffix: 5 characters of nameAlphabet.
func (l *lockedRand) suffix() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := make([]byte, 5)
	for i := range b {
		b[i] = nameAlphabet[l.r.IntN(len(nameAlphabet))]
	}
	return string(b)
}

// uid is a random version-4 UUID.
func (l *lockedRand) uid() types.UID {
	hi, lo := l.uint64(), l.uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return types.UID(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff))
}
