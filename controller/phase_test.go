package controller

import (
	"testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestCalculatePhase(t *testing.T) {
	invalid := v1alpha1.RolloutCondition{Type: v1alpha1.InvalidSpec, Status: "True", Reason: v1alpha1.ReasonInvalidSpec, Message: "bad spec"}
	aborted := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: "False", Reason: v1alpha1.ReasonRolloutAborted, Message: "Rollout aborted update to revision 2: slow"}
	deadline := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: "False", Reason: v1alpha1.ReasonProgressDeadlineExceeded, Message: "timed out"}
	pauses := []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	healthy := phaseInput{Desired: 3, Replicas: 3, Updated: 3, Available: 3, StableRS: "a", CurrentPodHash: "a"}
	with := func(f func(*phaseInput)) phaseInput { in := healthy; f(&in); return in }

	tests := []struct {
		name      string
		in        phaseInput
		wantPhase v1alpha1.RolloutPhase
		wantMsg   string
	}{
		{"healthy", healthy, v1alpha1.PhaseHealthy, ""},
		{"invalid spec wins over everything", with(func(in *phaseInput) {
			in.Conditions = []v1alpha1.RolloutCondition{aborted, invalid}
			in.SpecPaused = true
		}), v1alpha1.PhaseDegraded, "bad spec"},
		{"an InvalidSpec condition that is False does not count", with(func(in *phaseInput) {
			c := invalid
			c.Status = "False"
			in.Conditions = []v1alpha1.RolloutCondition{c}
		}), v1alpha1.PhaseHealthy, ""},
		{"aborted", with(func(in *phaseInput) {
			in.Conditions = []v1alpha1.RolloutCondition{aborted}
			in.PauseConditions = pauses
		}),
			v1alpha1.PhaseDegraded, aborted.Message},
		{"progress deadline", with(func(in *phaseInput) { in.Conditions = []v1alpha1.RolloutCondition{deadline} }),
			v1alpha1.PhaseDegraded, "timed out"},
		{"spec.paused before pause conditions", with(func(in *phaseInput) { in.SpecPaused = true; in.PauseConditions = pauses }),
			v1alpha1.PhasePaused, "manually paused"},
		{"pause step", with(func(in *phaseInput) { in.PauseConditions = pauses; in.Updated = 1 }),
			v1alpha1.PhasePaused, "CanaryPauseStep"},
		{"more replicas to update", with(func(in *phaseInput) { in.Updated = 1 }),
			v1alpha1.PhaseProgressing, "more replicas need to be updated"},
		{"updated not yet available", with(func(in *phaseInput) { in.Available = 2 }),
			v1alpha1.PhaseProgressing, "updated replicas are still becoming available"},
		{"old replicas terminating", with(func(in *phaseInput) { in.Replicas = 5 }),
			v1alpha1.PhaseProgressing, "old replicas are pending termination"},
		{"stable differs from current", with(func(in *phaseInput) { in.StableRS = "b" }),
			v1alpha1.PhaseProgressing, "waiting for all steps to complete"},
		{"zero replicas is healthy", phaseInput{StableRS: "a", CurrentPodHash: "a"}, v1alpha1.PhaseHealthy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phase, msg := calculatePhase(tt.in)
			if phase != tt.wantPhase || msg != tt.wantMsg {
				t.Fatalf("calculatePhase = %q %q, want %q %q", phase, msg, tt.wantPhase, tt.wantMsg)
			}
		})
	}
}
