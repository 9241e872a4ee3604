package analysis

import (
	"fmt"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Limits are a metric's count and limits with its arguments resolved.
type Limits struct {
	// Count is how many measurements the metric takes; Bounded is false for
	// a metric with an interval and no count, which measures until the run
	// ends.
	Count   int32
	Bounded bool
	// FailureLimit -1 turns the failure limit off.
	FailureLimit            int32
	InconclusiveLimit       int32
	ConsecutiveErrorLimit   int32
	ConsecutiveSuccessLimit int32
}

// LimitsOf resolves m's count and limits, their defaults included.
func LimitsOf(m *v1alpha1.Metric) (Limits, error) {
	var l Limits
	var err error
	if l.Count, l.Bounded, err = m.EffectiveCount(); err != nil {
		return l, err
	}
	for _, f := range []struct {
		get func() (int32, error)
		to  *int32
	}{
		{m.GetFailureLimit, &l.FailureLimit},
		{m.GetInconclusiveLimit, &l.InconclusiveLimit},
		{m.GetConsecutiveErrorLimit, &l.ConsecutiveErrorLimit},
		{m.GetConsecutiveSuccessLimit, &l.ConsecutiveSuccessLimit},
	} {
		if *f.to, err = f.get(); err != nil {
			return l, err
		}
	}
	return l, nil
}

// Record counts one finished measurement of phase p into r, as Argo does: an
// Error never uses up the metric's count, and resets the successes in a row;
// Failed and Inconclusive reset both runs.
func Record(r *v1alpha1.MetricResult, p v1alpha1.AnalysisPhase) {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful:
		r.Successful++
		r.Count++
		r.ConsecutiveSuccess++
		r.ConsecutiveError = 0
	case v1alpha1.AnalysisPhaseFailed:
		r.Failed++
		r.Count++
		r.ConsecutiveSuccess, r.ConsecutiveError = 0, 0
	case v1alpha1.AnalysisPhaseInconclusive:
		r.Inconclusive++
		r.Count++
		r.ConsecutiveSuccess, r.ConsecutiveError = 0, 0
	case v1alpha1.AnalysisPhaseError:
		r.Error++
		r.ConsecutiveError++
		r.ConsecutiveSuccess = 0
	}
}

// MetricPhase is the phase of a metric with result r and limits l, and the
// reason when a limit decided it. The first rule that applies wins, except
// among the three limits, where a later one overrides an earlier one (Argo
// checks failed, then inconclusive, then consecutive errors).
func MetricPhase(r *v1alpha1.MetricResult, l Limits, terminating bool) (v1alpha1.AnalysisPhase, string) {
	switch {
	case r.Phase.Completed():
		return r.Phase, r.Message
	case len(r.Measurements) == 0:
		if terminating {
			return v1alpha1.AnalysisPhaseSuccessful, ""
		}
		return v1alpha1.AnalysisPhasePending, ""
	case r.Measurements[len(r.Measurements)-1].FinishedAt == nil:
		return v1alpha1.AnalysisPhaseRunning, ""
	}
	phase, why := v1alpha1.AnalysisPhase(""), ""
	if l.FailureLimit >= 0 && r.Failed > l.FailureLimit {
		phase, why = v1alpha1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)", r.Failed, l.FailureLimit)
	}
	if r.Inconclusive > l.InconclusiveLimit {
		phase, why = v1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", r.Inconclusive, l.InconclusiveLimit)
	}
	if r.ConsecutiveError > l.ConsecutiveErrorLimit {
		phase, why = v1alpha1.AnalysisPhaseError, fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", r.ConsecutiveError, l.ConsecutiveErrorLimit)
	}
	switch {
	case phase != "":
		return phase, why
	case l.ConsecutiveSuccessLimit > 0 && r.ConsecutiveSuccess >= l.ConsecutiveSuccessLimit:
		return v1alpha1.AnalysisPhaseSuccessful, fmt.Sprintf("consecutiveSuccess (%d) >= consecutiveSuccessLimit (%d)", r.ConsecutiveSuccess, l.ConsecutiveSuccessLimit)
	case l.Bounded && r.Count >= l.Count:
		// All measurements taken without the successes in a row the metric
		// asks for: not a pass.
		if l.ConsecutiveSuccessLimit > 0 {
			if l.FailureLimit < 0 {
				return v1alpha1.AnalysisPhaseFailed, fmt.Sprintf("count (%d) reached without %d successes in a row", l.Count, l.ConsecutiveSuccessLimit)
			}
			return v1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("count (%d) reached without %d successes in a row", l.Count, l.ConsecutiveSuccessLimit)
		}
		return v1alpha1.AnalysisPhaseSuccessful, ""
	case terminating:
		return v1alpha1.AnalysisPhaseSuccessful, ""
	}
	return v1alpha1.AnalysisPhaseRunning, ""
}

// severity orders phases from best to worst, as Argo ranks them to pick the
// run's phase from its metrics'.
var severity = map[v1alpha1.AnalysisPhase]int{
	v1alpha1.AnalysisPhaseSuccessful:   0,
	v1alpha1.AnalysisPhaseRunning:      1,
	v1alpha1.AnalysisPhasePending:      2,
	v1alpha1.AnalysisPhaseInconclusive: 3,
	v1alpha1.AnalysisPhaseError:        4,
	v1alpha1.AnalysisPhaseFailed:       5,
}

// Terminating says whether a run takes no new measurements: it was asked to
// stop (spec.terminate), or a metric that counts (not a dry run) already
// decided against the canary.
func Terminating(results []v1alpha1.MetricResult, terminate bool) bool {
	if terminate {
		return true
	}
	for _, r := range results {
		if r.DryRun {
			continue
		}
		switch r.Phase {
		case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return false
}

// RunPhase is the phase of a run whose metrics are assessed (results hold
// each metric's phase), and its message. Dry-run metrics never count. The
// run is the worst of its completed metrics once every metric is complete,
// or as soon as it is terminating, when an unfinished metric counts as
// Successful and a run with nothing worse says "Run Terminated".
func RunPhase(results []v1alpha1.MetricResult, terminate bool) (v1alpha1.AnalysisPhase, string) {
	terminating := Terminating(results, terminate)
	worst, message, complete := v1alpha1.AnalysisPhaseSuccessful, "", true
	var worstResult *v1alpha1.MetricResult
	for i := range results {
		r := &results[i]
		if r.DryRun {
			continue
		}
		if !r.Phase.Completed() {
			complete = false
			continue
		}
		if severity[r.Phase] > severity[worst] {
			worst, worstResult = r.Phase, r
		}
	}
	if !complete && !terminating {
		return v1alpha1.AnalysisPhaseRunning, ""
	}
	if worstResult == nil {
		if terminating {
			message = "Run Terminated"
		}
		return v1alpha1.AnalysisPhaseSuccessful, message
	}
	message = fmt.Sprintf("Metric %q assessed %s due to %s", worstResult.Name, worstResult.Phase, worstResult.Message)
	if n := len(worstResult.Measurements); n > 0 && worstResult.Measurements[n-1].Message != "" {
		message += fmt.Sprintf(": \"Error Message: %s\"", worstResult.Measurements[n-1].Message)
	}
	return worst, message
}
