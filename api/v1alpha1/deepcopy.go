package v1alpha1

import (
	"maps"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// DeepCopy copies a Rollout; listers hand out shared objects, so the reconciler
// copies before it changes anything.
func (r *Rollout) DeepCopy() *Rollout {
	if r == nil {
		return nil
	}
	out := new(Rollout)
	r.DeepCopyInto(out)
	return out
}

// DeepCopyInto copies r into out.
func (r *Rollout) DeepCopyInto(out *Rollout) {
	*out = *r
	out.TypeMeta = r.TypeMeta
	r.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	r.Spec.DeepCopyInto(&out.Spec)
	r.Status.DeepCopyInto(&out.Status)
}

// DeepCopyObject makes Rollout a runtime.Object (for event recording).
func (r *Rollout) DeepCopyObject() runtime.Object { return r.DeepCopy() }

// DeepCopyObject makes RolloutList a runtime.Object.
func (l *RolloutList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := &RolloutList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]Rollout, len(l.Items))
		for i := range l.Items {
			l.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
	return out
}

func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func copyIntOrString(p *intstr.IntOrString) *intstr.IntOrString {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DeepCopyInto copies s into out.
func (s *RolloutSpec) DeepCopyInto(out *RolloutSpec) {
	*out = *s
	out.Replicas = copyInt32(s.Replicas)
	out.Selector = s.Selector.DeepCopy()
	s.Template.DeepCopyInto(&out.Template)
	out.RevisionHistoryLimit = copyInt32(s.RevisionHistoryLimit)
	out.ProgressDeadlineSeconds = copyInt32(s.ProgressDeadlineSeconds)
	out.RestartAt = s.RestartAt.DeepCopy()
	if s.Strategy.Canary != nil {
		out.Strategy.Canary = s.Strategy.Canary.DeepCopy()
	}
}

// DeepCopy copies a canary strategy.
func (c *CanaryStrategy) DeepCopy() *CanaryStrategy {
	if c == nil {
		return nil
	}
	out := *c
	out.MaxSurge = copyIntOrString(c.MaxSurge)
	out.MaxUnavailable = copyIntOrString(c.MaxUnavailable)
	out.CanaryMetadata = c.CanaryMetadata.DeepCopy()
	out.StableMetadata = c.StableMetadata.DeepCopy()
	out.ScaleDownDelaySeconds = copyInt32(c.ScaleDownDelaySeconds)
	out.AbortScaleDownDelaySeconds = copyInt32(c.AbortScaleDownDelaySeconds)
	if c.Steps != nil {
		out.Steps = make([]CanaryStep, len(c.Steps))
		for i, st := range c.Steps {
			out.Steps[i] = CanaryStep{SetWeight: copyInt32(st.SetWeight)}
			if st.Pause != nil {
				out.Steps[i].Pause = &RolloutPause{Duration: copyIntOrString(st.Pause.Duration)}
			}
		}
	}
	return &out
}

// DeepCopy copies ephemeral metadata.
func (m *PodTemplateMetadata) DeepCopy() *PodTemplateMetadata {
	if m == nil {
		return nil
	}
	return &PodTemplateMetadata{Labels: maps.Clone(m.Labels), Annotations: maps.Clone(m.Annotations)}
}

// DeepCopyInto copies s into out.
func (s *RolloutStatus) DeepCopyInto(out *RolloutStatus) {
	*out = *s
	if s.PauseConditions != nil {
		out.PauseConditions = make([]PauseCondition, len(s.PauseConditions))
		for i, pc := range s.PauseConditions {
			out.PauseConditions[i] = PauseCondition{Reason: pc.Reason, StartTime: *pc.StartTime.DeepCopy()}
		}
	}
	out.AbortedAt = s.AbortedAt.DeepCopy()
	out.CurrentStepIndex = copyInt32(s.CurrentStepIndex)
	out.CollisionCount = copyInt32(s.CollisionCount)
	if s.Conditions != nil {
		out.Conditions = make([]RolloutCondition, len(s.Conditions))
		copy(out.Conditions, s.Conditions)
	}
	if s.Canary.Weights != nil {
		out.Canary.Weights = append([]byte(nil), s.Canary.Weights...)
	}
	out.RestartedAt = s.RestartedAt.DeepCopy()
}
