package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Phase messages, word for word as Argo Rollouts writes them (CalculateRolloutPhase
// in its utils/rollout/rolloututil.go), so that every client, and Argo taking
// over, reads the same.
const (
	messageManuallyPaused      = "manually paused"
	messageRestarting          = "rollout is restarting"
	messageMoreReplicasNeeded  = "more replicas need to be updated"
	messageUpdatedNotAvailable = "updated replicas are still becoming available"
	messageOldReplicasPending  = "old replicas are pending termination"
	messageWaitingForSteps     = "waiting for all steps to complete"
)

// phaseInput is what the phase depends on; the status fields are the new ones.
type phaseInput struct {
	Conditions      []v1alpha1.RolloutCondition
	SpecPaused      bool
	PauseConditions []v1alpha1.PauseCondition
	// RestartAt is spec.restartAt, RestartedAt status.restartedAt.
	RestartAt, RestartedAt *metav1.Time
	// Desired is spec.replicas.
	Desired int32
	// Replicas, Updated and Available are status.replicas, updatedReplicas and
	// availableReplicas.
	Replicas, Updated, Available int32
	StableRS, CurrentPodHash     string
}

// phaseInputOf is the phase's view of a Rollout whose new status is st.
func phaseInputOf(r *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) phaseInput {
	return phaseInput{
		Conditions:      st.Conditions,
		SpecPaused:      r.Spec.Paused,
		PauseConditions: st.PauseConditions,
		RestartAt:       r.Spec.RestartAt,
		RestartedAt:     st.RestartedAt,
		Desired:         r.GetReplicas(),
		Replicas:        st.Replicas,
		Updated:         st.UpdatedReplicas,
		Available:       st.AvailableReplicas,
		StableRS:        st.StableRS,
		CurrentPodHash:  st.CurrentPodHash,
	}
}

// calculatePhase applies Argo's phase rules for a basic canary in Argo's order;
// the first that matches wins.
//
// Conditions are read once, in their order: the first that is an InvalidSpec
// condition (whatever its status) or has reason RolloutAborted or
// ProgressDeadlineExceeded makes the phase Degraded, and the message is that
// condition's message after its reason ("InvalidSpec: …", "RolloutAborted: …").
func calculatePhase(in phaseInput) (v1alpha1.RolloutPhase, string) {
	for _, c := range in.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return v1alpha1.PhaseDegraded, string(v1alpha1.InvalidSpec) + ": " + c.Message
		}
		if c.Reason == v1alpha1.ReasonRolloutAborted || c.Reason == v1alpha1.ReasonProgressDeadlineExceeded {
			return v1alpha1.PhaseDegraded, c.Reason + ": " + c.Message
		}
	}
	if in.SpecPaused {
		return v1alpha1.PhasePaused, messageManuallyPaused
	}
	if len(in.PauseConditions) > 0 {
		return v1alpha1.PhasePaused, string(in.PauseConditions[0].Reason)
	}
	if restartPending(in.RestartAt, in.RestartedAt) {
		return v1alpha1.PhaseProgressing, messageRestarting
	}
	switch {
	case in.Updated < in.Desired:
		return v1alpha1.PhaseProgressing, messageMoreReplicasNeeded
	case in.Available < in.Updated:
		return v1alpha1.PhaseProgressing, messageUpdatedNotAvailable
	case in.Replicas > in.Updated:
		return v1alpha1.PhaseProgressing, messageOldReplicasPending
	}
	if in.StableRS == "" || in.StableRS != in.CurrentPodHash {
		return v1alpha1.PhaseProgressing, messageWaitingForSteps
	}
	return v1alpha1.PhaseHealthy, ""
}

// restartPending is Argo's test for "rollout is restarting": a restartAt that
// status.restartedAt does not record exactly, in the future included.
func restartPending(at, done *metav1.Time) bool {
	return at != nil && (done == nil || !at.Time.Equal(done.Time))
}
