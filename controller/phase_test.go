package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// TestCalculatePhase holds calculatePhase to Argo Rollouts' CalculateRolloutPhase
// (utils/rollout/rolloututil.go); each row names the statement of it that it
// mirrors, and wants Argo's exact words.
func TestCalculatePhase(t *testing.T) {
	invalid := v1alpha1.RolloutCondition{Type: v1alpha1.InvalidSpec, Status: "True", Reason: v1alpha1.ReasonInvalidSpec, Message: `The Rollout "cart" is invalid: spec.strategy.canary.trafficRouting: Forbidden`}
	aborted := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: "False", Reason: v1alpha1.ReasonRolloutAborted, Message: "Rollout aborted update to revision 2: p99 up"}
	deadline := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: "False", Reason: v1alpha1.ReasonProgressDeadlineExceeded, Message: `ReplicaSet "cart-6d4f9b7c5" has timed out progressing.`}
	stepPause := []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	inconclusive := []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis}}
	at := metav1.NewTime(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	later := metav1.NewTime(at.Add(time.Minute))
	healthy := phaseInput{Desired: 3, Replicas: 3, Updated: 3, Available: 3, StableRS: "a", CurrentPodHash: "a"}
	with := func(f func(*phaseInput)) phaseInput { in := healthy; f(&in); return in }

	tests := []struct {
		name      string
		argo      string // the statement of CalculateRolloutPhase the row mirrors
		in        phaseInput
		wantPhase v1alpha1.RolloutPhase
		wantMsg   string
	}{
		{"healthy", `return v1alpha1.RolloutPhaseHealthy, ""`,
			healthy, v1alpha1.PhaseHealthy, ""},
		{"zero replicas is healthy", `return v1alpha1.RolloutPhaseHealthy, ""`,
			phaseInput{StableRS: "a", CurrentPodHash: "a"}, v1alpha1.PhaseHealthy, ""},

		{"invalid spec", `if cond.Type == v1alpha1.InvalidSpec { return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", v1alpha1.InvalidSpec, cond.Message) }`,
			with(func(in *phaseInput) { in.Conditions = []v1alpha1.RolloutCondition{invalid}; in.SpecPaused = true }),
			v1alpha1.PhaseDegraded, `InvalidSpec: The Rollout "cart" is invalid: spec.strategy.canary.trafficRouting: Forbidden`},
		{"an InvalidSpec condition counts whatever its status", `if cond.Type == v1alpha1.InvalidSpec (no status test)`,
			with(func(in *phaseInput) { c := invalid; c.Status = "False"; in.Conditions = []v1alpha1.RolloutCondition{c} }),
			v1alpha1.PhaseDegraded, `InvalidSpec: The Rollout "cart" is invalid: spec.strategy.canary.trafficRouting: Forbidden`},
		{"the first degrading condition in the list wins", `for _, cond := range ro.Status.Conditions (one pass, InvalidSpec and reasons together)`,
			with(func(in *phaseInput) { in.Conditions = []v1alpha1.RolloutCondition{aborted, invalid} }),
			v1alpha1.PhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2: p99 up"},
		{"aborted", `case conditions.RolloutAbortedReason, conditions.TimedOutReason: return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", cond.Reason, cond.Message)`,
			with(func(in *phaseInput) {
				in.Conditions = []v1alpha1.RolloutCondition{aborted}
				in.PauseConditions = stepPause
			}),
			v1alpha1.PhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2: p99 up"},
		{"degraded by the progress deadline", `case conditions.RolloutAbortedReason, conditions.TimedOutReason: return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", cond.Reason, cond.Message)`,
			with(func(in *phaseInput) { in.Conditions = []v1alpha1.RolloutCondition{deadline}; in.SpecPaused = true }),
			v1alpha1.PhaseDegraded, `ProgressDeadlineExceeded: ReplicaSet "cart-6d4f9b7c5" has timed out progressing.`},

		{"manually paused", `if ro.Spec.Paused { return v1alpha1.RolloutPhasePaused, "manually paused" }`,
			with(func(in *phaseInput) { in.SpecPaused = true; in.PauseConditions = stepPause }),
			v1alpha1.PhasePaused, "manually paused"},
		{"paused at a pause step", `for _, pauseCond := range ro.Status.PauseConditions { return v1alpha1.RolloutPhasePaused, string(pauseCond.Reason) }`,
			with(func(in *phaseInput) { in.PauseConditions = stepPause; in.Updated = 1 }),
			v1alpha1.PhasePaused, "CanaryPauseStep"},
		{"paused by an inconclusive analysis", `for _, pauseCond := range ro.Status.PauseConditions { return v1alpha1.RolloutPhasePaused, string(pauseCond.Reason) }`,
			with(func(in *phaseInput) { in.PauseConditions = inconclusive; in.StableRS = "b" }),
			v1alpha1.PhasePaused, "InconclusiveAnalysisRun"},

		{"restarting", `if ro.Spec.RestartAt != nil && (ro.Status.RestartedAt == nil || ...) { return v1alpha1.RolloutPhaseProgressing, "rollout is restarting" }`,
			with(func(in *phaseInput) { in.RestartAt = &at }),
			v1alpha1.PhaseProgressing, "rollout is restarting"},
		{"restarting until restartedAt records that very restartAt", `!ro.Spec.RestartAt.Time.Equal(ro.Status.RestartedAt.Time)`,
			with(func(in *phaseInput) { in.RestartAt = &later; in.RestartedAt = &at }),
			v1alpha1.PhaseProgressing, "rollout is restarting"},
		{"restarting before replicas are counted", `the restartAt test comes before the replica tests`,
			with(func(in *phaseInput) { in.RestartAt = &at; in.Updated = 1 }),
			v1alpha1.PhaseProgressing, "rollout is restarting"},
		{"a paused restart reads paused", `the pause tests come before the restartAt test`,
			with(func(in *phaseInput) { in.RestartAt = &at; in.SpecPaused = true }),
			v1alpha1.PhasePaused, "manually paused"},
		{"restart done", `ro.Spec.RestartAt.Time.Equal(ro.Status.RestartedAt.Time): no longer restarting`,
			with(func(in *phaseInput) { in.RestartAt = &at; done := at; in.RestartedAt = &done }),
			v1alpha1.PhaseHealthy, ""},

		{"more replicas to update", `if ro.Status.UpdatedReplicas < defaults.GetReplicasOrDefault(ro.Spec.Replicas) { ..., "more replicas need to be updated" }`,
			with(func(in *phaseInput) { in.Updated = 1; in.StableRS = "b" }),
			v1alpha1.PhaseProgressing, "more replicas need to be updated"},
		{"updated not yet available", `if ro.Status.AvailableReplicas < ro.Status.UpdatedReplicas { ..., "updated replicas are still becoming available" }`,
			with(func(in *phaseInput) { in.Available = 2 }),
			v1alpha1.PhaseProgressing, "updated replicas are still becoming available"},
		{"old replicas terminating", `if ro.Status.Replicas > ro.Status.UpdatedReplicas { ..., "old replicas are pending termination" } (no traffic router)`,
			with(func(in *phaseInput) { in.Replicas = 5 }),
			v1alpha1.PhaseProgressing, "old replicas are pending termination"},
		{"waiting for the steps", `if ro.Status.StableRS == "" || !IsFullyPromoted(&ro) { ..., "waiting for all steps to complete" }`,
			with(func(in *phaseInput) { in.StableRS = "b" }),
			v1alpha1.PhaseProgressing, "waiting for all steps to complete"},
		{"waiting for analysis: a canary says it waits for its steps", `"waiting for analysis to complete" is blue-green's only; a canary's analysis step reads "waiting for all steps to complete"`,
			with(func(in *phaseInput) { in.StableRS = "b" }),
			v1alpha1.PhaseProgressing, "waiting for all steps to complete"},
		{"no stable yet", `if ro.Status.StableRS == "" || ...`,
			with(func(in *phaseInput) { in.StableRS = "" }),
			v1alpha1.PhaseProgressing, "waiting for all steps to complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phase, msg := calculatePhase(tt.in)
			if phase != tt.wantPhase || msg != tt.wantMsg {
				t.Fatalf("calculatePhase = %q %q, want %q %q (Argo: %s)", phase, msg, tt.wantPhase, tt.wantMsg, tt.argo)
			}
		})
	}
}
