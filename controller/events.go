package controller

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Reasons of the Events the reconciler records on a Rollout. Warnings are
// marked; the rest are Normal.
const (
	EventReasonInvalidSpec          = "InvalidSpec" // Warning
	EventReasonReplicaSetCreated    = "NewReplicaSetCreated"
	EventReasonScalingReplicaSet    = "ScalingReplicaSet"
	EventReasonAdopted              = "ReplicaSetAdopted"
	EventReasonHashCollision        = "HashCollision" // Warning
	EventReasonStepReached          = "RolloutStepReached"
	EventReasonStepCompleted        = "RolloutStepCompleted"
	EventReasonPaused               = "RolloutPaused"
	EventReasonResumed              = "RolloutResumed"
	EventReasonPromotingFull        = "RolloutPromotingFull"
	EventReasonAborted              = "RolloutAborted" // Warning
	EventReasonRetrying             = "RolloutRetrying"
	EventReasonRollbackToStable     = "RollbackToStable"
	EventReasonCompleted            = "RolloutCompleted"
	EventReasonProgressDeadline     = "ProgressDeadlineExceeded" // Warning
	EventReasonEphemeralMetadataSet = "EphemeralMetadataUpdated"
	EventReasonRestarting           = "RestartingPods"
	EventReasonRestarted            = "RolloutRestarted"
)

// statusReasons are the Events that describe the status a sync computes
// (steps, pauses, aborts): they wait for the status write.
var statusReasons = map[string]bool{
	EventReasonStepReached:      true,
	EventReasonStepCompleted:    true,
	EventReasonPaused:           true,
	EventReasonResumed:          true,
	EventReasonPromotingFull:    true,
	EventReasonAborted:          true,
	EventReasonRetrying:         true,
	EventReasonRollbackToStable: true,
	EventReasonCompleted:        true,
	EventReasonProgressDeadline: true,
	EventReasonRestarted:        true,
}

type pendingEvent struct {
	eventType, reason, message string
}

// event records an Event on the Rollout being synced: at once for what a
// write did (a ReplicaSet created or scaled), after the status write for
// what the status says.
func (s *syncContext) event(eventType, reason, format string, args ...any) {
	if statusReasons[reason] {
		s.pending = append(s.pending, pendingEvent{eventType, reason, fmt.Sprintf(format, args...)})
		return
	}
	s.c.recorder.Eventf(s.r, eventType, reason, format, args...)
}

func (s *syncContext) flushEvents() {
	for _, e := range s.pending {
		s.c.recorder.Event(s.r, e.eventType, e.reason, e.message)
	}
	s.pending = nil
}

func (s *syncContext) normal(reason, format string, args ...any) {
	s.event(corev1.EventTypeNormal, reason, format, args...)
}

func (s *syncContext) warning(reason, format string, args ...any) {
	s.event(corev1.EventTypeWarning, reason, format, args...)
}

// countOf is "1 pod", "3 pods": Events say counts as people do.
func countOf(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// describeStep is how a step reads in Events: "Step 2/5: set weight 50",
// "Step 3/5: pause 30s", "Step 4/5: pause".
func describeStep(steps []v1alpha1.CanaryStep, i int32) string {
	prefix := fmt.Sprintf("Step %d/%d", i+1, len(steps))
	if i < 0 || int(i) >= len(steps) {
		return prefix
	}
	st := steps[i]
	switch {
	case st.SetWeight != nil:
		return fmt.Sprintf("%s: set weight %d", prefix, *st.SetWeight)
	case st.Pause != nil:
		if d, ok, err := st.Pause.PauseDuration(); err == nil && ok {
			return fmt.Sprintf("%s: pause %s", prefix, shortDuration(d))
		}
		return prefix + ": pause"
	case st.Analysis != nil:
		names := make([]string, len(st.Analysis.Templates))
		for i, t := range st.Analysis.Templates {
			names[i] = t.TemplateName
		}
		return fmt.Sprintf("%s: analysis %s", prefix, strings.Join(names, ", "))
	}
	return prefix
}

// shortDuration prints 30s, 10m, 1h30m rather than Go's 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, suffix := range []string{"m0s", "h0m"} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s = s[:len(s)-len(suffix)+1]
		}
	}
	return s
}
