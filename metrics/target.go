package metrics

import "github.com/roost-dev/roost/watch"

// TargetOf is what the poller needs to know of a rollout from the watch
// layer's read model: what to query (annotations, pod template labels), since
// when (its canary's start), and whether its canary is under way.
func TargetOf(r *watch.Rollout) Target {
	t := Target{
		Namespace: r.Namespace, Name: r.Name,
		Annotations: r.Annotations, TemplateLabels: r.TemplateLabels,
		Poll: r.CanaryUnderWay(), Cluster: r.Cluster,
	}
	if r.Canary != nil {
		t.Since = r.Canary.Created
		t.CanaryPods = int(r.Canary.Ready)
	}
	if r.Stable != nil {
		t.StablePods = int(r.Stable.Ready)
	}
	return t
}
