package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Expect is the state of a rollout a person confirmed an action against:
// the revision being rolled out, the step, whether it was paused (a pause
// step, or by hand) and aborted. An action that carries one (WithExpect) is
// sent only if the rollout is still in that state; otherwise nothing is
// sent and the error says how it moved on. A dialog held open while a timed
// pause ran out must never carry out a different step than the one it
// showed.
type Expect struct {
	PodHash string
	// Step is status.currentStepIndex (0 when unset); Steps how many there are.
	Step    int64
	Steps   int
	Pausing bool // status.pauseConditions not empty
	Paused  bool // spec.paused
	Aborted bool
	// Revision binds the action to the canary revision alone, as abort
	// is: "abort this canary" still holds when the canary took a step or
	// paused meanwhile, and an emergency abort is never refused for it. It
	// is refused when a new revision is rolling out, when someone aborted
	// or retried it, and when the canary completed (nothing left to abort).
	Revision bool
}

type expectKey struct{}

// WithExpect makes the actions run with ctx refuse a rollout that is no
// longer in state e.
func WithExpect(ctx context.Context, e Expect) context.Context {
	return context.WithValue(ctx, expectKey{}, e)
}

// ErrMovedOn is wrapped by every refusal of WithExpect.
var ErrMovedOn = errors.New("the rollout moved on")

// CheckExpect compares a rollout's state now with the expectation ctx
// carries (none: nil), as every action does before it sends anything.
func CheckExpect(ctx context.Context, ns, name string, now Expect) error {
	return checkExpect(ctx, ns, name, rolloutState{
		currentPodHash: now.PodHash, stepIndex: &now.Step, steps: now.Steps,
		pauseConds: boolInt(now.Pausing), paused: now.Paused, abort: now.Aborted,
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkExpect compares the rollout as read now with the expectation in ctx.
func checkExpect(ctx context.Context, ns, name string, s rolloutState) error {
	e, ok := ctx.Value(expectKey{}).(Expect)
	if !ok {
		return nil
	}
	var changes []string
	if s.currentPodHash != e.PodHash {
		changes = append(changes, fmt.Sprintf("a new revision is rolling out (%s, was %s)", orNone(s.currentPodHash), orNone(e.PodHash)))
	}
	if e.Revision {
		if e.Step < int64(e.Steps) && s.index() >= int64(s.steps) && s.steps > 0 {
			changes = append(changes, "the canary completed and is now stable (undo with U or `roost undo`)")
		}
	} else if s.index() != e.Step {
		changes = append(changes, fmt.Sprintf("now at step %s (you confirmed step %s)", stepText(s.index(), s.steps), stepText(e.Step, e.Steps)))
	}
	if (s.pauseConds > 0) != e.Pausing && !e.Revision {
		if e.Pausing {
			changes = append(changes, "its pause ended")
		} else {
			changes = append(changes, "it paused")
		}
	}
	if s.paused != e.Paused && !e.Revision {
		if e.Paused {
			changes = append(changes, "someone lifted its manual pause")
		} else {
			changes = append(changes, "someone paused it by hand")
		}
	}
	if s.abort != e.Aborted {
		if e.Aborted {
			changes = append(changes, "someone retried it")
		} else {
			changes = append(changes, "it was aborted")
		}
	}
	if len(changes) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s/%s: %s; nothing was sent: look at it again and confirm anew", ErrMovedOn, ns, name, strings.Join(changes, ", "))
}

func stepText(i int64, steps int) string {
	if int(i) >= steps {
		return fmt.Sprintf("%d/%d (all done)", steps, steps)
	}
	return fmt.Sprintf("%d/%d", i+1, steps)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
