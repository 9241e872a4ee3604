package controller

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Canary anti-affinity (spec.strategy.canary.antiAffinity), as Argo Rollouts
// injects it: while a ReplicaSet is the canary (the Rollout has a stable
// ReplicaSet and it is another one), its pod template gets one inter-pod
// anti-affinity term against the stable ReplicaSet's pods, on the node:
//
//	labelSelector: {matchExpressions: [{key: rollouts-pod-template-hash, operator: In, values: [<stable hash>]}]}
//	namespaces: [<rollout namespace>]
//	topologyKey: kubernetes.io/hostname
//
// appended to podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution
// with the configured weight, or to requiredDuringSchedulingIgnoredDuringExecution,
// after the template's own terms. The pod-template hash is computed over
// spec.template, so the term never changes it. The stable ReplicaSet is never
// touched. The term follows the stable hash while the ReplicaSet is the canary,
// and goes when the ReplicaSet becomes the stable one (Argo leaves it until it
// next rewrites that ReplicaSet; both agree on a ReplicaSet without it).

// antiAffinityTopologyKey is the topology of the injected term: one node.
const antiAffinityTopologyKey = "kubernetes.io/hostname"

// replicaSetAffinity is the affinity of the pod template of the ReplicaSet
// whose pod-template hash is podHash: base (the template's own affinity), plus
// the injected term while that ReplicaSet is the canary.
func replicaSetAffinity(r *v1alpha1.Rollout, base *corev1.Affinity, podHash string) *corev1.Affinity {
	affinity := base.DeepCopy()
	var anti *v1alpha1.AntiAffinity
	if c := r.Spec.Strategy.Canary; c != nil {
		anti = c.AntiAffinity
	}
	stable := r.Status.StableRS
	if anti == nil || stable == "" || stable == podHash {
		return affinity
	}
	term := injectedAntiAffinityTerm(r.Namespace, stable)
	switch {
	case anti.PreferredDuringSchedulingIgnoredDuringExecution != nil:
		if affinity == nil {
			affinity = &corev1.Affinity{}
		}
		if affinity.PodAntiAffinity == nil {
			affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		pa := affinity.PodAntiAffinity
		pa.PreferredDuringSchedulingIgnoredDuringExecution = append(pa.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: anti.PreferredDuringSchedulingIgnoredDuringExecution.Weight, PodAffinityTerm: term})
	case anti.RequiredDuringSchedulingIgnoredDuringExecution != nil:
		if affinity == nil {
			affinity = &corev1.Affinity{}
		}
		if affinity.PodAntiAffinity == nil {
			affinity.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		pa := affinity.PodAntiAffinity
		pa.RequiredDuringSchedulingIgnoredDuringExecution = append(pa.RequiredDuringSchedulingIgnoredDuringExecution, term)
	}
	return affinity
}

// injectedAntiAffinityTerm keeps a pod off the nodes running pods of the
// ReplicaSet whose pod-template hash is stableHash.
func injectedAntiAffinityTerm(namespace, stableHash string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key:      v1alpha1.DefaultRolloutUniqueLabelKey,
				Operator: metav1.LabelSelectorOpIn,
				Values:   []string{stableHash},
			}},
		},
		Namespaces:  []string{namespace},
		TopologyKey: antiAffinityTopologyKey,
	}
}

// isInjectedAntiAffinityTerm recognises a term injectedAntiAffinityTerm made
// (for any stable hash), and only those: a template's own terms stay.
func isInjectedAntiAffinityTerm(t *corev1.PodAffinityTerm) bool {
	if t.TopologyKey != antiAffinityTopologyKey || t.LabelSelector == nil ||
		len(t.LabelSelector.MatchLabels) != 0 || len(t.LabelSelector.MatchExpressions) != 1 ||
		t.NamespaceSelector != nil || len(t.Namespaces) != 1 || len(t.MatchLabelKeys) != 0 || len(t.MismatchLabelKeys) != 0 {
		return false
	}
	e := t.LabelSelector.MatchExpressions[0]
	return e.Key == v1alpha1.DefaultRolloutUniqueLabelKey && e.Operator == metav1.LabelSelectorOpIn && len(e.Values) == 1
}

// withoutInjectedAntiAffinity is affinity less the injected terms; nil when
// nothing else is left, as the template that had none.
func withoutInjectedAntiAffinity(affinity *corev1.Affinity) *corev1.Affinity {
	if affinity == nil || affinity.PodAntiAffinity == nil {
		return affinity
	}
	out := affinity.DeepCopy()
	pa := out.PodAntiAffinity
	var preferred []corev1.WeightedPodAffinityTerm
	for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
		if w := pa.PreferredDuringSchedulingIgnoredDuringExecution[i]; !isInjectedAntiAffinityTerm(&w.PodAffinityTerm) {
			preferred = append(preferred, w)
		}
	}
	var required []corev1.PodAffinityTerm
	for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
		if t := pa.RequiredDuringSchedulingIgnoredDuringExecution[i]; !isInjectedAntiAffinityTerm(&t) {
			required = append(required, t)
		}
	}
	if len(preferred) == len(pa.PreferredDuringSchedulingIgnoredDuringExecution) &&
		len(required) == len(pa.RequiredDuringSchedulingIgnoredDuringExecution) {
		return affinity
	}
	pa.PreferredDuringSchedulingIgnoredDuringExecution = preferred
	pa.RequiredDuringSchedulingIgnoredDuringExecution = required
	if len(preferred) == 0 && len(required) == 0 {
		out.PodAntiAffinity = nil
	}
	if out.PodAntiAffinity == nil && out.PodAffinity == nil && out.NodeAffinity == nil {
		return nil
	}
	return out
}

// affinityChanged compares two pod template affinities; most templates have
// none, which costs no reflection.
func affinityChanged(cur, desired *corev1.Affinity) bool {
	if cur == nil && desired == nil {
		return false
	}
	return !apiequality.Semantic.DeepEqual(cur, desired)
}
