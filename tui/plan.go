package tui

import (
	"fmt"
	"strings"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/watch"
)

// verb is an action the cockpit sends.
type verb int

const (
	verbPromote verb = iota
	verbPromoteFull
	verbAbort
	verbRetry
	verbHold
	verbContinue
	verbRestart
	verbUndo
	verbTerminate
)

func (v verb) String() string {
	switch v {
	case verbPromote:
		return "promote"
	case verbPromoteFull:
		return "promote fully"
	case verbAbort:
		return "abort"
	case verbHold:
		return "hold"
	case verbContinue:
		return "continue"
	case verbRestart:
		return "restart"
	case verbUndo:
		return "undo"
	case verbTerminate:
		return "terminate analysis"
	}
	return "retry"
}

// gerund is the verb while it runs: "promoting".
func (v verb) gerund() string {
	switch v {
	case verbPromote:
		return "promoting"
	case verbPromoteFull:
		return "fully promoting"
	case verbAbort:
		return "aborting"
	case verbHold:
		return "holding"
	case verbContinue:
		return "continuing"
	case verbRestart:
		return "restarting"
	case verbUndo:
		return "undoing"
	case verbTerminate:
		return "terminating the analysis of"
	}
	return "retrying"
}

// plannedAction is what an action will do to one rollout, said before it is
// sent so that the person confirms knowing.
type plannedAction struct {
	key rolloutKey
	// effect is what will happen, e.g. "releases the pause at step 2/4;
	// next: setWeight 50 (canary 5 of 10 pods)".
	effect string
	// skip, when set, is why nothing will be sent for this rollout.
	skip string
	// expect is the state the effect was predicted from: the action is
	// sent only if the rollout is still in it (actions.WithExpect).
	expect actions.Expect
	// changed is set when the rollout moved on while the dialog was open
	// and the plan was made again.
	changed bool
	// evidence says, for a promote, what roost's judge thinks of the
	// canary; fail is set when it scores it Fail.
	evidence string
	fail     bool
	// reverted, when set, says that Argo CD will revert the change.
	reverted string
	// undoTo is the revision an undo goes back to.
	undoTo string
	// runs are the AnalysisRuns a terminate ends.
	runs []string
}

// planAction predicts v on r from its snapshot. The prediction follows the
// reconciler's rules; the action itself decides on the live object.
func planAction(v verb, r *watch.Rollout) plannedAction {
	p := plannedAction{key: keyOf(r), expect: expectFor(v, r)}
	// The snapshot has a Canary only while its template differs from the
	// stable one.
	canaryActive := r.Canary != nil
	fullyPromoted := r.Canary == nil && r.Stable != nil
	switch v {
	case verbPromote:
		switch {
		case r.Aborted:
			p.skip = "aborted: retry it first (r)"
		case r.PauseUntilPromoted || (r.Paused && !r.ManuallyPaused && r.PauseRemaining > 0):
			p.effect = fmt.Sprintf("releases the pause at step %d/%d%s", r.StepIndex+1, r.StepsTotal, nextStep(r, int(r.StepIndex)+1))
		case r.ManuallyPaused:
			p.effect = "lifts the manual pause (spec.paused); the canary goes on from step " + fmt.Sprintf("%d/%d", r.StepIndex+1, r.StepsTotal)
		case fullyPromoted || r.StepsTotal == 0 || int(r.StepIndex) >= r.StepsTotal:
			p.skip = "no step left to promote"
		default:
			p.effect = fmt.Sprintf("skips step %d/%d (%s)%s", r.StepIndex+1, r.StepsTotal, r.Steps[r.StepIndex].Text, nextStep(r, int(r.StepIndex)+1))
		}
	case verbPromoteFull:
		switch {
		case fullyPromoted:
			p.skip = "already fully promoted"
		case r.PromoteFull:
			p.skip = "full promotion already requested"
		default:
			left := max(r.StepsTotal-int(r.StepIndex), 0)
			p.effect = fmt.Sprintf("skips the %s left: the canary takes all %s and becomes stable", plural(left, "step", "steps"), plural(int(r.Replicas), "pod", "pods"))
		}
	case verbAbort:
		switch {
		case r.Aborted:
			p.skip = "already aborted"
		case !canaryActive:
			p.skip = "no canary is running"
		default:
			p.effect = fmt.Sprintf("scales the canary to 0 (now %s) and stable back to %d; the rollout turns Degraded until retried or updated", plural(int(r.Canary.Total), "pod", "pods"), r.Replicas)
		}
	case verbRetry:
		switch {
		case !r.Aborted:
			p.skip = "not aborted"
		default:
			// Say why it stopped: a retry should be a decision, not a reflex.
			p.effect = abortText(r) + "; retry restarts the canary from step 1" + nextStep(r, 0)
		}
	case verbHold:
		switch {
		case r.ManuallyPaused:
			p.skip = "already held (spec.paused)"
		case !canaryActive:
			p.skip = "no canary is running"
		default:
			p.effect = fmt.Sprintf("holds the canary where it is, at step %d/%d with %d of %s (spec.paused): no timed pause carries it further until you continue (c), promote or abort it", min(int(r.StepIndex)+1, r.StepsTotal), r.StepsTotal, r.Canary.Total, plural(int(r.Replicas), "pod", "pods"))
		}
	case verbContinue:
		switch {
		case !r.ManuallyPaused:
			p.skip = "not held (a pause step is released with p)"
		default:
			p.effect = fmt.Sprintf("lifts the hold (spec.paused); the canary goes on from step %d/%d", min(int(r.StepIndex)+1, r.StepsTotal), r.StepsTotal)
		}
	case verbRestart:
		p.effect = fmt.Sprintf("replaces the pods of every ReplicaSet, one at a time within maxUnavailable (%s)", plural(int(r.Replicas), "pod", "pods"))
	case verbTerminate:
		p.effect, p.runs, p.skip = planTerminate(r)
	case verbUndo:
		switch {
		case !canaryActive || r.Stable == nil:
			p.skip = "no canary to undo; go back to an older revision with `roost undo NAME --to-revision N`"
		default:
			p.effect = fmt.Sprintf("puts back the template of the stable revision %s (%s): the canary is replaced by it and the rollout completes on it", r.Stable.Revision, strings.Join(r.Stable.Images, ", "))
			p.undoTo = r.Stable.Revision
		}
	}
	return p
}

// abortText says who aborted r and why: "aborted by alice: p99 3x stable".
func abortText(r *watch.Rollout) string {
	s := "aborted"
	if r.AbortedBy != "" {
		s += " by " + r.AbortedBy
	}
	if r.AbortReason == "" {
		return s + " (no reason given)"
	}
	return s + ": " + r.AbortReason
}

// expectOf is the state of r an action is confirmed against.
func expectOf(r *watch.Rollout) actions.Expect {
	return actions.Expect{
		PodHash: r.PodHash, Step: int64(r.StepIndex), Steps: r.StepsTotal,
		Pausing: r.Pausing, Paused: r.ManuallyPaused, Aborted: r.Aborted,
	}
}

// expectFor is expectOf as verb v binds it: abort holds for the canary
// revision shown whatever step it took since.
func expectFor(v verb, r *watch.Rollout) actions.Expect {
	e := expectOf(r)
	e.Revision = v == verbAbort || v == verbTerminate
	return e
}

// planTerminate says what ending r's running AnalysisRuns does, and which
// they are; skip when none runs.
func planTerminate(r *watch.Rollout) (effect string, runs []string, skip string) {
	var parts []string
	for i := range r.Analysis {
		a := &r.Analysis[i]
		if !a.Running() || !a.Current {
			continue
		}
		runs = append(runs, a.Name)
		ok, failed, _, _, planned := a.Tally()
		done := fmt.Sprintf("%d measured, %d failed", ok+failed, failed)
		if planned > 0 {
			done = fmt.Sprintf("%d of %d measured, %d failed", ok+failed, planned, failed)
		}
		what := fmt.Sprintf("ends AnalysisRun %s (%s, %s): no more measurements; ", a.Name, a.Where(), done)
		switch {
		case failed > 0:
			what += "a metric already failed, so it ends Failed and the canary is aborted"
		case a.Kind == watch.AnalysisStep:
			what += fmt.Sprintf("what is not yet decided counts as passed, so step %d/%d completes%s", a.Step, r.StepsTotal, nextStep(r, a.Step))
		default:
			what += "it counts as passed and the canary goes on without it"
		}
		parts = append(parts, what)
	}
	if len(runs) == 0 {
		return "", nil, "no analysis is running"
	}
	return strings.Join(parts, "; and "), runs, ""
}

// nextStep says what step i will do, e.g. "; next: setWeight 50 (canary 5
// of 10 pods)", or that the canary will be done.
func nextStep(r *watch.Rollout, i int) string {
	if i >= len(r.Steps) {
		return fmt.Sprintf("; then the canary takes all %s and becomes stable", plural(int(r.Replicas), "pod", "pods"))
	}
	s := r.Steps[i]
	if s.Weight == nil {
		return "; next: " + s.Text
	}
	canary, _ := controller.BasicCanaryReplicas(r.Replicas, *s.Weight, r.MaxSurge, r.MaxUnavailable)
	return fmt.Sprintf("; next: %s (canary %d of %s)", s.Text, canary, plural(int(r.Replicas), "pod", "pods"))
}
