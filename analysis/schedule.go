package analysis

import (
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Timing is a metric's timing, resolved: the gap after a finished measurement
// and the wait before the first one (both 0 when the metric has none).
type Timing struct {
	Interval     time.Duration
	InitialDelay time.Duration
}

// Next is when a metric is next measured.
type Next struct {
	// Now: measure it now. Resume is set when that means finishing the
	// measurement already started rather than taking a new one.
	Now    bool
	Resume bool
	// At is when to look again when it is not due now; zero when the metric
	// takes no more measurements.
	At time.Time
}

// NextMeasurement says whether a metric with result r is due at now, or when
// it will be, by Argo's rules in Argo's order: a completed metric takes no
// more; an unfinished measurement is resumed (at its resumeAt, if later); a
// terminating run starts nothing new; the first measurement waits for
// initialDelay after the run started; a metric that took its count takes no
// more (errors do not use it up); otherwise the next is due once interval has
// passed since the last finished (10 s after an Error, so that a blip is
// retried soon without spending the count).
func NextMeasurement(r *v1alpha1.MetricResult, l Limits, t Timing, runStarted time.Time, terminating bool, now time.Time) Next {
	if r.Phase.Completed() {
		return Next{}
	}
	if n := len(r.Measurements); n > 0 && r.Measurements[n-1].FinishedAt == nil {
		last := r.Measurements[n-1]
		if last.ResumeAt != nil && last.ResumeAt.After(now) {
			return Next{At: last.ResumeAt.Time}
		}
		return Next{Now: true, Resume: true}
	}
	if terminating {
		return Next{}
	}
	if len(r.Measurements) == 0 {
		at := runStarted.Add(t.InitialDelay)
		if now.Before(at) {
			return Next{At: at}
		}
		return Next{Now: true}
	}
	if l.Bounded && r.Count >= l.Count {
		return Next{}
	}
	last := r.Measurements[len(r.Measurements)-1]
	gap := t.Interval
	if last.Phase == v1alpha1.AnalysisPhaseError {
		gap = v1alpha1.DefaultErrorRetryInterval
	}
	at := last.FinishedAt.Add(gap)
	if now.After(at) {
		return Next{Now: true}
	}
	return Next{At: at}
}
