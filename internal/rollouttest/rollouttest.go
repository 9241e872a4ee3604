package rollouttest

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Builder holds a Rollout under construction; each method changes it and
// returns the Builder, and Rollout hands out a copy.
type Builder struct {
	r v1alpha1.Rollout
}

// New starts a basic canary namespace/name: 10 replicas selecting app=name,
// one container "app" running name:v1, canary pods labelled role=canary and
// stable pods role=stable, no steps.
func New(namespace, name string) *Builder {
	labels := map[string]string{"app": name}
	return &Builder{r: v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](10),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: name + ":v1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				CanaryMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}},
				StableMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}},
			}},
		},
	}}
}

// Replicas sets spec.replicas.
func (b *Builder) Replicas(n int32) *Builder {
	b.r.Spec.Replicas = ptr.To(n)
	return b
}

// Container sets the one container's name and image.
func (b *Builder) Container(name, image string) *Builder {
	c := &b.r.Spec.Template.Spec.Containers[0]
	c.Name, c.Image = name, image
	return b
}

// Image sets the one container's image.
func (b *Builder) Image(image string) *Builder {
	b.r.Spec.Template.Spec.Containers[0].Image = image
	return b
}

// Tolerations sets the pods' tolerations (kwok's node in the end-to-end tests).
func (b *Builder) Tolerations(t ...corev1.Toleration) *Builder {
	b.r.Spec.Template.Spec.Tolerations = t
	return b
}

// Steps sets the canary's steps.
func (b *Builder) Steps(steps ...v1alpha1.CanaryStep) *Builder {
	b.r.Spec.Strategy.Canary.Steps = steps
	return b
}

// NoRoleLabels drops the canary and stable pod metadata: pods carry only the
// selector's labels and the pod-template hash.
func (b *Builder) NoRoleLabels() *Builder {
	b.r.Spec.Strategy.Canary.CanaryMetadata = nil
	b.r.Spec.Strategy.Canary.StableMetadata = nil
	return b
}

// Canary changes the canary strategy in place, for the fields no other method
// sets (maxSurge, abortScaleDownDelaySeconds…).
func (b *Builder) Canary(f func(c *v1alpha1.CanaryStrategy)) *Builder {
	f(b.r.Spec.Strategy.Canary)
	return b
}

// Identity sets what an API server would: a UID and a generation. Tests that
// run on fake clientsets need them for owner references.
func (b *Builder) Identity(uid types.UID, generation int64) *Builder {
	b.r.UID, b.r.Generation = uid, generation
	return b
}

// Rollout returns a copy of the Rollout built so far.
func (b *Builder) Rollout() *v1alpha1.Rollout {
	return b.r.DeepCopy()
}

// SetWeight is a setWeight step.
func SetWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }

// Pause is a pause step that waits for a promote.
func Pause() v1alpha1.CanaryStep { return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}} }

// PauseFor is a timed pause step, d as Argo writes it ("30s", "2m", "1h").
func PauseFor(d string) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString(d))}}
}
