package controller

import (
	"github.com/roost-dev/roost/api/v1alpha1"
)

// Phase messages, as Argo Rollouts words them so that every client shows the same.
const (
	messageManuallyPaused      = "manually paused"
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
	// Desired is spec.replicas.
	Desired int32
	// Replicas, Updated and Available are status.replicas, updatedReplicas and
	// availableReplicas.
	Replicas, Updated, Available int32
	StableRS, CurrentPodHash     string
}

// calculatePhase applies the facts' phase rules in order; the first that matches
// wins.
func calculatePhase(in phaseInput) (v1alpha1.RolloutPhase, string) {
	for _, c := range in.Conditions {
		if c.Type == v1alpha1.InvalidSpec && c.Status == "True" {
			return v1alpha1.PhaseDegraded, c.Message
		}
	}
	for _, c := range in.Conditions {
		if c.Reason == v1alpha1.ReasonRolloutAborted || c.Reason == v1alpha1.ReasonProgressDeadlineExceeded {
			return v1alpha1.PhaseDegraded, c.Message
		}
	}
	if in.SpecPaused {
		return v1alpha1.PhasePaused, messageManuallyPaused
	}
	if len(in.PauseConditions) > 0 {
		return v1alpha1.PhasePaused, string(in.PauseConditions[0].Reason)
	}
	switch {
	case in.Updated < in.Desired:
		return v1alpha1.PhaseProgressing, messageMoreReplicasNeeded
	case in.Available < in.Updated:
		return v1alpha1.PhaseProgressing, messageUpdatedNotAvailable
	case in.Replicas > in.Updated:
		return v1alpha1.PhaseProgressing, messageOldReplicasPending
	}
	if in.StableRS != in.CurrentPodHash {
		return v1alpha1.PhaseProgressing, messageWaitingForSteps
	}
	return v1alpha1.PhaseHealthy, ""
}
