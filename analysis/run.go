package analysis

import (
	"fmt"
	"maps"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Labels Argo Rollouts puts on the AnalysisRuns it creates for a Rollout;
// roost puts the same, so that either controller adopts the other's runs and
// `kubectl argo rollouts get rollout` lists them.
const (
	// RolloutTypeLabel says whether a run is a step's or the background one.
	RolloutTypeLabel = "rollout-type"
	RolloutTypeStep  = "Step"
	// RolloutTypeBackground is a run for the whole canary
	// (strategy.canary.analysis).
	RolloutTypeBackground = "Background"
	// StepIndexLabel is the step a step run belongs to.
	StepIndexLabel = "step-index"
	// ControllerInstanceIDLabel scopes objects to one controller instance
	// (Argo's --instance-id); copied from the Rollout when it has it.
	ControllerInstanceIDLabel = "argo-rollouts.argoproj.io/controller-instance-id"
)

// RunFor says which run of a rollout is meant.
type RunFor struct {
	// Rollout is the owner.
	Rollout *v1alpha1.Rollout
	// PodHash is the pod-template hash of the canary's ReplicaSet.
	PodHash string
	// Revision is the Rollout's revision (its rollout.argoproj.io/revision
	// annotation).
	Revision int64
	// Step is the step index of a step run; nil for the background run.
	Step *int32
	// Metadata is the Rollout's analysisRunMetadata for this run.
	Labels, Annotations map[string]string
}

// Name is the run's name: <rollout>-<podHash>-<revision>, and -<step> for a
// step run. When a completed or foreign run already holds it, Argo tries
// <name>.1, <name>.2…: attempt is that suffix (0 for none).
func (f RunFor) Name(attempt int) string {
	name := fmt.Sprintf("%s-%s-%d", f.Rollout.Name, f.PodHash, f.Revision)
	if f.Step != nil {
		name += fmt.Sprintf("-%d", *f.Step)
	}
	if attempt > 0 {
		name += fmt.Sprintf(".%d", attempt)
	}
	return name
}

// ObjectMeta is the run's metadata, in Argo's order of precedence: its own
// labels (pod-template hash, type, step, instance id), then the Rollout's
// analysisRunMetadata, then every label of the Rollout's selector; the
// revision annotation, then analysisRunMetadata's; the Rollout as its one
// controlling owner.
func (f RunFor) ObjectMeta(attempt int) metav1.ObjectMeta {
	labels := map[string]string{
		v1alpha1.DefaultRolloutUniqueLabelKey: f.PodHash,
		RolloutTypeLabel:                      RolloutTypeBackground,
	}
	if f.Step != nil {
		labels[RolloutTypeLabel] = RolloutTypeStep
		labels[StepIndexLabel] = strconv.Itoa(int(*f.Step))
	}
	if id, ok := f.Rollout.Labels[ControllerInstanceIDLabel]; ok {
		labels[ControllerInstanceIDLabel] = id
	}
	maps.Copy(labels, f.Labels)
	if f.Rollout.Spec.Selector != nil {
		maps.Copy(labels, f.Rollout.Spec.Selector.MatchLabels)
	}
	annotations := map[string]string{v1alpha1.RevisionAnnotation: strconv.FormatInt(f.Revision, 10)}
	maps.Copy(annotations, f.Annotations)
	return metav1.ObjectMeta{
		Name:        f.Name(attempt),
		Namespace:   f.Rollout.Namespace,
		Labels:      labels,
		Annotations: annotations,
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion:         v1alpha1.SchemeGroupVersion.String(),
			Kind:               v1alpha1.Kind,
			Name:               f.Rollout.Name,
			UID:                f.Rollout.UID,
			Controller:         ptr.To(true),
			BlockOwnerDeletion: ptr.To(true),
		}},
	}
}
