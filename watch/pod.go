package watch

import (
	"maps"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Pod is what roost keeps of a pod in its caches: its metadata — the read
// model maps a pod to its rollout by its owner and counts it by its role
// label, the reconciler relabels and evicts pods by it — its phase, whether
// it is Ready, and the few things the cockpit's pods panel shows: how many
// of its containers are ready, its restarts, the worst reason its status
// gives and its node. A typed corev1.Pod, however trimmed, carries
// kilobytes of empty spec and status fields: over 10,000 pods they were
// most of a dashboard's memory.
//
// The small fields sit together so that they fill one word: Ready,
// Severity, ReadyContainers, Containers and Restarts cost 8 bytes, what
// Ready alone took with its padding; Reason and NodeName are two strings
// (32 bytes), shared between pods (see intern), and Reason is empty for a
// pod that runs as it should.
type Pod struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	Phase corev1.PodPhase
	Ready bool
	// Severity says how much Reason needs a look.
	Severity PodSeverity
	// ReadyContainers of Containers are ready (at most 255 counted).
	ReadyContainers, Containers uint8
	// Restarts is the sum of its containers' restart counts.
	Restarts int32
	// Reason is the worst reason its status gives, as kubectl's STATUS
	// column does: "Terminating", the pod's status.reason (Evicted...),
	// "Unschedulable", a container's waiting or terminated reason
	// (CrashLoopBackOff, ImagePullBackOff, OOMKilled, Error...; "Init:"
	// before an init container's). Empty when nothing is wrong.
	Reason string
	// NodeName is spec.nodeName, "" until it is scheduled.
	NodeName string
}

// PodSeverity ranks a pod's Reason: higher needs a look sooner.
type PodSeverity int8

// Severities, least worrying first.
const (
	// PodFine: no reason, the pod runs (or is done) as it should.
	PodFine PodSeverity = iota
	// PodTransient: starting or stopping (ContainerCreating,
	// PodInitializing, Terminating).
	PodTransient
	// PodWarn: odd but not failing: a service's container that completed.
	PodWarn
	// PodBad: failing: CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
	// OOMKilled, Error, Evicted, Unschedulable...
	PodBad
)

// DeepCopyObject implements runtime.Object, for the informers' caches.
func (p *Pod) DeepCopyObject() runtime.Object {
	out := *p
	out.ObjectMeta = metav1.ObjectMeta{}
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return &out
}

// PodOf is what roost keeps of p; annotations keeps its annotations too
// (bar kubectl's last-applied copy), which only the reconciler reads.
func PodOf(p *corev1.Pod, annotations bool) *Pod {
	return podOf(p, len(p.Spec.Containers), annotations)
}

// podOf is PodOf of a pod with so many containers in its spec.
func podOf(p *corev1.Pod, containers int, annotations bool) *Pod {
	out := &Pod{TypeMeta: p.TypeMeta, ObjectMeta: trimMeta(&p.ObjectMeta), Phase: p.Status.Phase}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Ready = c.Status == corev1.ConditionTrue
			break
		}
	}
	out.Containers = clampUint8(max(containers, len(p.Status.ContainerStatuses)))
	ready := 0
	for _, c := range p.Status.ContainerStatuses {
		if c.Ready {
			ready++
		}
		out.Restarts += c.RestartCount
	}
	for _, c := range p.Status.InitContainerStatuses {
		out.Restarts += c.RestartCount
	}
	out.ReadyContainers = clampUint8(ready)
	out.Reason, out.Severity = PodReason(p)
	out.Reason = reasons.intern(out.Reason)
	out.NodeName = nodeNames.intern(p.Spec.NodeName)
	if annotations && len(p.Annotations) > 0 {
		out.Annotations = p.Annotations
		if _, ok := out.Annotations[lastAppliedAnnotation]; ok {
			out.Annotations = maps.Clone(out.Annotations)
			delete(out.Annotations, lastAppliedAnnotation)
		}
	}
	return out
}

// PodReason is the worst reason p's status gives and how bad it is, by
// kubectl's rules for its STATUS column: a pod being deleted is
// Terminating; then the pod's own status.reason (Evicted, NodeLost...); a
// pod the scheduler cannot place is Unschedulable; else the worst of its
// containers' waiting or terminated reasons, init containers' prefixed
// "Init:". A running container, a waiting one without a reason and an
// init container that completed give none.
func PodReason(p *corev1.Pod) (string, PodSeverity) {
	if p.DeletionTimestamp != nil {
		return "Terminating", PodTransient
	}
	if p.Status.Reason != "" {
		return p.Status.Reason, PodBad
	}
	reason, sev := "", PodFine
	consider := func(r string, s PodSeverity) {
		if r != "" && s > sev {
			reason, sev = r, s
		}
	}
	for _, c := range p.Status.InitContainerStatuses {
		r, s := containerReason(c.State, true)
		if r != "" {
			consider("Init:"+r, s)
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		consider(containerReason(c.State, false))
	}
	if sev == PodFine && p.Status.Phase == corev1.PodPending {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return corev1.PodReasonUnschedulable, PodBad
			}
		}
	}
	return reason, sev
}

// containerReason is what one container's state says: a waiting reason
// (ContainerCreating and PodInitializing are a start, any other is a
// failure: CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
// CreateContainerConfigError...), or a terminated one (a non-zero exit is a
// failure, named by its reason, else "Error"; an exit 0 is nothing for an
// init container and odd for a service's container).
func containerReason(st corev1.ContainerState, init bool) (string, PodSeverity) {
	switch {
	case st.Waiting != nil:
		switch r := st.Waiting.Reason; r {
		case "":
			return "", PodFine
		case "ContainerCreating", "PodInitializing":
			return r, PodTransient
		default:
			return r, PodBad
		}
	case st.Terminated != nil:
		t := st.Terminated
		switch {
		case t.ExitCode != 0 && t.Reason != "":
			return t.Reason, PodBad
		case t.ExitCode != 0:
			return "ExitCode:" + strconv.Itoa(int(t.ExitCode)), PodBad
		case t.Signal != 0:
			return "Signal:" + strconv.Itoa(int(t.Signal)), PodBad
		case init:
			return "", PodFine
		case t.Reason != "":
			return t.Reason, PodWarn
		}
		return "Completed", PodWarn
	}
	return "", PodFine
}

func clampUint8(n int) uint8 {
	return uint8(min(max(n, 0), 255))
}

// interner shares the strings that repeat across pods (reasons, node
// names): a cached pod then holds a pointer to one copy instead of its own.
// It keeps at most max strings; past that, strings are kept as they come.
type interner struct {
	mu  sync.Mutex
	m   map[string]string
	max int
}

var (
	reasons   = &interner{max: 1024}
	nodeNames = &interner{max: 20_000}
)

func (in *interner) intern(s string) string {
	if s == "" {
		return ""
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	if len(in.m) >= in.max {
		return s
	}
	if in.m == nil {
		in.m = map[string]string{}
	}
	in.m[s] = s
	return s
}

// PodsOf converts listed pods, for a Snapshot of objects read without the
// informers (`roost get`).
func PodsOf(pods []corev1.Pod) []*Pod {
	out := make([]*Pod, len(pods))
	for i := range pods {
		out[i] = PodOf(&pods[i], false)
	}
	return out
}
