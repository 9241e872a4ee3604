package watch

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Pod is what roost keeps of a pod in its caches: its metadata — the read
// model maps a pod to its rollout by its owner and counts it by its role
// label, the reconciler relabels and evicts pods by it — its phase and
// whether it is Ready. A typed corev1.Pod, however trimmed, carries
// kilobytes of empty spec and status fields: over 10,000 pods they were
// most of a dashboard's memory.
type Pod struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	Phase corev1.PodPhase
	Ready bool
}

// DeepCopyObject implements runtime.Object, for the informers' caches.
func (p *Pod) DeepCopyObject() runtime.Object {
	out := &Pod{TypeMeta: p.TypeMeta, Phase: p.Phase, Ready: p.Ready}
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return out
}

// PodOf is what roost keeps of p; annotations keeps its annotations too
// (bar kubectl's last-applied copy), which only the reconciler reads.
func PodOf(p *corev1.Pod, annotations bool) *Pod {
	out := &Pod{TypeMeta: p.TypeMeta, ObjectMeta: trimMeta(&p.ObjectMeta), Phase: p.Status.Phase}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Ready = c.Status == corev1.ConditionTrue
			break
		}
	}
	if annotations && len(p.Annotations) > 0 {
		out.Annotations = p.Annotations
		if _, ok := out.Annotations[lastAppliedAnnotation]; ok {
			out.Annotations = maps.Clone(out.Annotations)
			delete(out.Annotations, lastAppliedAnnotation)
		}
	}
	return out
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
