package controller

import (
	"encoding/json"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// injectedMetadata is the record, kept in the ReplicaSet annotation
// rollout.argoproj.io/ephemeral-metadata, of the labels and annotations that the
// controller put on a ReplicaSet's pod template and pods. Only those are ever
// removed, so labels the user or another tool set stay untouched.
type injectedMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func canaryMetadata(r *v1alpha1.Rollout) injectedMetadata {
	return fromPodTemplateMetadata(r.Spec.Strategy.Canary.CanaryMetadata)
}

func stableMetadata(r *v1alpha1.Rollout) injectedMetadata {
	return fromPodTemplateMetadata(r.Spec.Strategy.Canary.StableMetadata)
}

func fromPodTemplateMetadata(m *v1alpha1.PodTemplateMetadata) injectedMetadata {
	if m == nil {
		return injectedMetadata{}
	}
	return injectedMetadata{Labels: m.Labels, Annotations: m.Annotations}
}

func (m injectedMetadata) empty() bool { return len(m.Labels) == 0 && len(m.Annotations) == 0 }

// recordedMetadata reads what was injected into rs; nil rs (not created yet) or
// an unreadable record means nothing.
func recordedMetadata(rs *appsv1.ReplicaSet) injectedMetadata {
	var m injectedMetadata
	if rs == nil {
		return m
	}
	if v, ok := rs.Annotations[v1alpha1.EphemeralMetadataAnnotation]; ok {
		_ = json.Unmarshal([]byte(v), &m)
	}
	return m
}

// overlay removes the keys of had that want does not carry, then sets want's
// keys; it returns a new map, or m itself when nothing changes.
func overlay(m, had, want map[string]string) map[string]string {
	changed := false
	for k := range had {
		if _, keep := want[k]; !keep {
			if _, ok := m[k]; ok {
				changed = true
			}
		}
	}
	for k, v := range want {
		if cur, ok := m[k]; !ok || cur != v {
			changed = true
		}
	}
	if !changed {
		return m
	}
	out := make(map[string]string, len(m)+len(want))
	for k, v := range m {
		if _, drop := had[k]; drop {
			if _, keep := want[k]; !keep {
				continue
			}
		}
		out[k] = v
	}
	maps.Copy(out, want)
	return out
}

// podPatch is a merge patch of one pod's labels and annotations.
type podPatch struct {
	namespace, name string
	labels          map[string]any
	annotations     map[string]any
}

// diffForPatch is the merge-patch form of going from cur to next: changed keys
// with their value, removed keys with null.
func diffForPatch(cur, next map[string]string) map[string]any {
	d := map[string]any{}
	for k, v := range next {
		if c, ok := cur[k]; !ok || c != v {
			d[k] = v
		}
	}
	for k := range cur {
		if _, ok := next[k]; !ok {
			d[k] = nil
		}
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

// ephemeralMetadata makes desired (the ReplicaSet about to be written) carry
// want on its pod template, records it, and returns the patches that bring the
// existing pods of current in line. Pods are patched in place: labels and
// annotations are mutable, so no pod restarts.
func (s *syncContext) ephemeralMetadata(current, desired *appsv1.ReplicaSet, want injectedMetadata) []podPatch {
	had := recordedMetadata(current)
	if had.empty() && want.empty() {
		return nil
	}
	tm := &desired.Spec.Template.ObjectMeta
	tm.Labels = overlay(tm.Labels, had.Labels, want.Labels)
	tm.Annotations = overlay(tm.Annotations, had.Annotations, want.Annotations)
	if want.empty() {
		delete(desired.Annotations, v1alpha1.EphemeralMetadataAnnotation)
	} else {
		b, err := json.Marshal(want)
		if err == nil {
			setAnnotation(&desired.ObjectMeta, v1alpha1.EphemeralMetadataAnnotation, string(b))
		}
	}
	if current == nil {
		return nil
	}
	pods, err := s.c.podsOf(current)
	if err != nil {
		return nil
	}
	var patches []podPatch
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		l := diffForPatch(p.Labels, overlay(p.Labels, had.Labels, want.Labels))
		a := diffForPatch(p.Annotations, overlay(p.Annotations, had.Annotations, want.Annotations))
		if l == nil && a == nil {
			continue
		}
		patches = append(patches, podPatch{namespace: p.Namespace, name: p.Name, labels: l, annotations: a})
	}
	return patches
}

// patchPods applies pod metadata patches; a pod that went away meanwhile is fine.
func (s *syncContext) patchPods(patches []podPatch) error {
	for _, pp := range patches {
		md := map[string]any{}
		if pp.labels != nil {
			md["labels"] = pp.labels
		}
		if pp.annotations != nil {
			md["annotations"] = pp.annotations
		}
		body, err := json.Marshal(map[string]any{"metadata": md})
		if err != nil {
			return err
		}
		_, err = s.c.kube.CoreV1().Pods(pp.namespace).Patch(s.ctx, pp.name, types.MergePatchType, body, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("rollout %s: update metadata of pod %s: %w", s.key, pp.name, err)
		}
	}
	if len(patches) > 0 {
		s.normal(EventReasonEphemeralMetadataSet, "Updated labels and annotations of %s in place", countOf(len(patches), "pod", "pods"))
	}
	return nil
}
