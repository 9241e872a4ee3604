package watch

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// lastAppliedAnnotation is kubectl apply's copy of the whole object: often the
// largest thing in a Rollout's metadata, and never read by roost.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// transformSet holds one cache.TransformFunc per informer.
type transformSet struct {
	rollout, replicaSet, pod, event cache.TransformFunc
}

// transforms returns the informers' transforms. Trimmed (full false), the
// caches hold only what Snapshot, the key mapping and the indexes read, which
// is what keeps a dashboard over thousands of pods small. Full, only
// managedFields and last-applied go from Rollouts, ReplicaSets and Events,
// so that a reconciler that writes them back from the cache loses nothing;
// pods, which it only reads the metadata of (and patches), keep their
// annotations on top of what the dashboard reads.
func transforms(full bool) transformSet {
	if full {
		return transformSet{rollout: TrimRollout, replicaSet: stripMeta, pod: trimPodKeepAnnotations, event: stripMeta}
	}
	return transformSet{rollout: TrimRollout, replicaSet: TrimReplicaSet, pod: TrimPod, event: TrimEvent}
}

// TrimRollout drops a Rollout's managedFields and last-applied annotation. The
// rest stays: the reconciler decodes the whole spec (strictly) and the
// dashboard shows most of it.
func TrimRollout(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	md, ok := u.Object["metadata"].(map[string]any)
	if !ok {
		return u, nil
	}
	delete(md, "managedFields")
	if ann, ok := md["annotations"].(map[string]any); ok {
		delete(ann, lastAppliedAnnotation)
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	return u, nil
}

// stripMeta drops managedFields and the last-applied annotation of a typed object.
func stripMeta(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if ann := m.GetAnnotations(); ann != nil {
			if _, ok := ann[lastAppliedAnnotation]; ok {
				delete(ann, lastAppliedAnnotation)
				m.SetAnnotations(ann)
			}
		}
	}
	return obj, nil
}

// trimMeta keeps the identity and the ownership of an object; annotations are
// left to the caller.
func trimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
		Labels:            m.Labels,
		OwnerReferences:   m.OwnerReferences,
	}
}

// TrimReplicaSet keeps what the dashboard reads of a ReplicaSet: its identity,
// labels and owner, the revision and ephemeral-metadata annotations,
// spec.replicas, the template's labels and container images, and the status
// counts.
func TrimReplicaSet(obj any) (any, error) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return obj, nil
	}
	out := &appsv1.ReplicaSet{
		TypeMeta:   rs.TypeMeta,
		ObjectMeta: trimMeta(&rs.ObjectMeta),
		Spec: appsv1.ReplicaSetSpec{
			Replicas: rs.Spec.Replicas,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: rs.Spec.Template.Labels}},
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas:             rs.Status.Replicas,
			FullyLabeledReplicas: rs.Status.FullyLabeledReplicas,
			ReadyReplicas:        rs.Status.ReadyReplicas,
			AvailableReplicas:    rs.Status.AvailableReplicas,
			ObservedGeneration:   rs.Status.ObservedGeneration,
		},
	}
	out.Annotations = keepKeys(rs.Annotations, v1alpha1.RevisionAnnotation, v1alpha1.EphemeralMetadataAnnotation)
	if cs := rs.Spec.Template.Spec.Containers; len(cs) > 0 {
		out.Spec.Template.Spec.Containers = make([]corev1.Container, len(cs))
		for i, c := range cs {
			out.Spec.Template.Spec.Containers[i] = corev1.Container{Name: c.Name, Image: c.Image}
		}
	}
	return out, nil
}

// TrimPod keeps what the dashboard reads of a pod, as a Pod: identity,
// labels and owner, the phase and whether it is Ready.
func TrimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return PodOf(p, false), nil
}

// trimPodKeepAnnotations is TrimPod with the pod's annotations, which the
// reconciler's ephemeral metadata reads.
func trimPodKeepAnnotations(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return PodOf(p, true), nil
}

// TrimEvent keeps what the dashboard shows of an Event: what it is about,
// when, its type, reason, message, count and recording component, and roost's
// actor annotation.
func TrimEvent(obj any) (any, error) {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return obj, nil
	}
	md := trimMeta(&e.ObjectMeta)
	md.Annotations = keepKeys(e.Annotations, ActorAnnotation)
	return &corev1.Event{
		TypeMeta:       e.TypeMeta,
		ObjectMeta:     md,
		InvolvedObject: e.InvolvedObject,
		Reason:         e.Reason,
		Message:        e.Message,
		Type:           e.Type,
		Count:          e.Count,
		Source:         corev1.EventSource{Component: e.Source.Component},

		ReportingController: e.ReportingController,
		FirstTimestamp:      e.FirstTimestamp,
		LastTimestamp:       e.LastTimestamp,
		EventTime:           e.EventTime,
	}, nil
}

// keepKeys returns the entries of m under keys, or nil when there are none.
func keepKeys(m map[string]string, keys ...string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = make(map[string]string, len(keys))
			}
			out[k] = v
		}
	}
	return out
}
