package analysis

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// NoDataAnnotation, on an AnalysisTemplate (and so on the runs made from
// it), says what a measurement that came back without data is: "inconclusive"
// (the default) or "error". It is never a pass and never a number: Argo
// Rollouts reads an empty Datadog answer as 0 or lets a condition such as
// `default(result, 0) < 0.05` pass it, and so promotes a canary nobody
// measured.
const NoDataAnnotation = "rollouts.roost.dev/no-data"

// WaitingPrefix starts the message of a metric whose measurement is held
// back by a rate limit: it is not being judged until the time given.
const WaitingPrefix = "waiting, not measured: "

// Plan is a run made ready to measure: its metrics with their arguments
// substituted, and what each one's fields say once resolved.
type Plan struct {
	Run     *v1alpha1.AnalysisRun
	Metrics []v1alpha1.Metric
	limits  []Limits
	timing  []Timing
	dryRun  map[string]bool
	keep    map[string]int32
	// noDataError makes a measurement without data an Error instead of
	// Inconclusive.
	noDataError bool
}

// RunError is a run that cannot be measured at all: its arguments do not
// resolve or its spec is invalid. The run ends Error with Message, as Argo
// ends it.
type RunError struct{ Message string }

func (e *RunError) Error() string { return e.Message }

// PlanRun resolves run's metrics with the argument values given (read from
// the run's args, their Secrets included). A *RunError says the run can
// never measure.
func PlanRun(run *v1alpha1.AnalysisRun, args map[string]string) (*Plan, error) {
	if errs := v1alpha1.ValidateAnalysisRun(run); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, &RunError{Message: "Analysis spec invalid: " + strings.Join(msgs, "; ")}
	}
	p := &Plan{Run: run, noDataError: strings.EqualFold(strings.TrimSpace(run.Annotations[NoDataAnnotation]), "error")}
	for _, m := range run.Spec.Metrics {
		resolved, err := ResolveArgs(m, args)
		if err != nil {
			return nil, &RunError{Message: "Unable to resolve metric arguments: " + err.Error()}
		}
		l, err := LimitsOf(&resolved)
		if err != nil {
			return nil, &RunError{Message: fmt.Sprintf("Analysis spec invalid: metric %q: %v", m.Name, err)}
		}
		var t Timing
		if d, ok, err := resolved.IntervalDuration(); err != nil {
			return nil, &RunError{Message: fmt.Sprintf("Analysis spec invalid: metric %q: interval: %v", m.Name, err)}
		} else if ok {
			t.Interval = d
		}
		if d, ok, err := resolved.InitialDelayDuration(); err != nil {
			return nil, &RunError{Message: fmt.Sprintf("Analysis spec invalid: metric %q: initialDelay: %v", m.Name, err)}
		} else if ok {
			t.InitialDelay = d
		}
		p.Metrics = append(p.Metrics, resolved)
		p.limits = append(p.limits, l)
		p.timing = append(p.timing, t)
	}
	var err error
	if p.dryRun, err = DryRunMetrics(run.Spec.Metrics, run.Spec.DryRun); err != nil {
		return nil, &RunError{Message: "Analysis spec invalid: dryRun: " + err.Error()}
	}
	if p.keep, err = RetentionLimits(run.Spec.Metrics, run.Spec.MeasurementRetention); err != nil {
		return nil, &RunError{Message: "Analysis spec invalid: measurementRetention: " + err.Error()}
	}
	return p, nil
}

// Fail ends a run that cannot measure: phase Error with the reason.
func Fail(st *v1alpha1.AnalysisRunStatus, why string, now time.Time) {
	t := metav1.NewTime(now)
	if st.StartedAt == nil {
		st.StartedAt = &t
	}
	st.Phase, st.Message, st.CompletedAt = v1alpha1.AnalysisPhaseError, why, &t
}

// Start prepares st for a pass at now: the start time, and one result per
// metric in the spec's order (results of metrics no longer in the spec are
// dropped), each flagged dry run or not.
func (p *Plan) Start(st *v1alpha1.AnalysisRunStatus, now time.Time) {
	if st.StartedAt == nil {
		t := metav1.NewTime(now)
		st.StartedAt = &t
	}
	if st.Phase == "" {
		st.Phase = v1alpha1.AnalysisPhasePending
	}
	byName := make(map[string]v1alpha1.MetricResult, len(st.MetricResults))
	for _, r := range st.MetricResults {
		byName[r.Name] = r
	}
	results := make([]v1alpha1.MetricResult, len(p.Metrics))
	for i, m := range p.Metrics {
		r, ok := byName[m.Name]
		if !ok {
			r = v1alpha1.MetricResult{Name: m.Name, Phase: v1alpha1.AnalysisPhasePending}
		}
		r.DryRun = p.dryRun[m.Name]
		results[i] = r
	}
	st.MetricResults = results
}

// Due says which metrics (indexes into Metrics) to measure at now, and the
// earliest later time one of the others is due (zero for none).
func (p *Plan) Due(st *v1alpha1.AnalysisRunStatus, now time.Time) (due []int, later time.Time) {
	terminating := Terminating(st.MetricResults, p.Run.Spec.Terminate)
	for i := range p.Metrics {
		n := NextMeasurement(&st.MetricResults[i], p.limits[i], p.timing[i], st.StartedAt.Time, terminating, now)
		switch {
		case n.Now:
			due = append(due, i)
		case !n.At.IsZero() && (later.IsZero() || n.At.Before(later)):
			later = n.At
		}
	}
	return due, later
}

// Measured is one measurement's outcome: what the provider read, and when
// the measurement started.
type Measured struct {
	Reading Reading
	Started time.Time
}

// Apply records the readings taken at now (by metric index), assesses every
// metric and the run, and trims the kept measurements. It returns the
// earliest time the run must be looked at again (zero when it completed),
// and whether the status changed in a way worth writing: a measurement was
// recorded or a phase moved. A throttled reading (RetryAfter) records
// nothing: it is taken again then.
func (p *Plan) Apply(st *v1alpha1.AnalysisRunStatus, readings map[int]Measured, now time.Time) (next time.Time, changed bool) {
	var retry time.Time
	for i, m := range readings {
		r := &st.MetricResults[i]
		if m.Reading.RetryAfter > 0 {
			at := now.Add(m.Reading.RetryAfter)
			if retry.IsZero() || at.Before(retry) {
				retry = at
			}
			// Said once per wait, so that whoever looks knows the metric
			// is not being judged, and why.
			if !strings.HasPrefix(r.Message, WaitingPrefix) {
				why := m.Reading.Reason
				if why == "" {
					why = "the provider asked to wait"
				}
				r.Message = fmt.Sprintf("%s%s; next try at %s", WaitingPrefix, why, at.UTC().Format(time.RFC3339))
				changed = true
			}
			continue
		}
		if strings.HasPrefix(r.Message, WaitingPrefix) {
			r.Message = ""
		}
		meas := p.judge(&p.Metrics[i], m.Reading)
		start, end := metav1.NewTime(m.Started), metav1.NewTime(now)
		meas.StartedAt, meas.FinishedAt = &start, &end
		if n := len(r.Measurements); n > 0 && r.Measurements[n-1].FinishedAt == nil {
			r.Measurements[n-1] = meas
		} else {
			r.Measurements = append(r.Measurements, meas)
		}
		Record(r, meas.Phase)
		changed = true
	}

	before := st.Phase
	terminating := Terminating(st.MetricResults, p.Run.Spec.Terminate)
	// closeOpen closes a measurement still open when the run terminates.
	closeOpen := func(r *v1alpha1.MetricResult) {
		if n := len(r.Measurements); n > 0 && r.Measurements[n-1].FinishedAt == nil {
			end := metav1.NewTime(now)
			r.Measurements[n-1].FinishedAt = &end
			r.Measurements[n-1].Phase = v1alpha1.AnalysisPhaseSuccessful
			r.Measurements[n-1].Message = "Metric Terminated"
			changed = true
		}
	}
	for i := range st.MetricResults {
		r := &st.MetricResults[i]
		if terminating {
			// Nothing new starts; a measurement still open is closed.
			closeOpen(r)
		}
		prev := r.Phase
		phase, why := MetricPhase(r, p.limits[i], terminating)
		if phase != prev || (phase.Completed() && !prev.Completed()) {
			r.Phase, r.Message = phase, why
			if r.DryRun && phase.Completed() && why != "" {
				r.Message = fmt.Sprintf("Metric assessed %s due to %s", phase, why)
			}
			changed = true
		}
		Trim(r, p.keep[r.Name])
		// A metric that just decided against the canary stops the others.
		if !terminating && Terminating(st.MetricResults, p.Run.Spec.Terminate) {
			terminating = true
		}
	}
	if terminating {
		// Re-assess with the run terminating: unfinished metrics end.
		for i := range st.MetricResults {
			r := &st.MetricResults[i]
			if r.Phase.Completed() {
				continue
			}
			// A metric before the one that terminated the run may still
			// have a measurement open.
			closeOpen(r)
			if phase, why := MetricPhase(r, p.limits[i], true); phase != r.Phase {
				r.Phase, r.Message = phase, why
				changed = true
			}
		}
	}

	phase, message := RunPhase(st.MetricResults, p.Run.Spec.Terminate)
	if phase != before || message != st.Message {
		changed = true
	}
	st.Phase, st.Message = phase, message
	st.RunSummary, st.DryRunSummary = summaries(st.MetricResults)
	if phase.Completed() {
		if st.CompletedAt == nil {
			t := metav1.NewTime(now)
			st.CompletedAt = &t
			changed = true
		}
		return time.Time{}, changed
	}
	due, next := p.Due(st, now)
	for _, i := range due {
		if _, read := readings[i]; !read {
			// Due since the readings were taken: look again at once.
			next = now
		}
	}
	if !retry.IsZero() && (next.IsZero() || retry.Before(next)) {
		next = retry
	}
	return next, changed
}

// judge turns a reading into a measurement: an Error for a failed read, the
// conditions' verdict otherwise, and never a pass without data.
func (p *Plan) judge(m *v1alpha1.Metric, rd Reading) v1alpha1.Measurement {
	meas := v1alpha1.Measurement{Value: rd.Value, Metadata: rd.Metadata}
	if rd.Err != nil {
		meas.Phase, meas.Message = v1alpha1.AnalysisPhaseError, rd.Err.Error()
		meas.Value = ""
		return meas
	}
	phase, err := Evaluate(rd.Result, m.SuccessCondition, m.FailureCondition)
	if res := deref(rd.Result); res == nil || isEmptyList(res) {
		// A condition may fail a canary on missing data (isNil(result)),
		// never pass it: the failure condition decides alone when the
		// success condition cannot read the missing data.
		if phase != v1alpha1.AnalysisPhaseFailed && m.FailureCondition != "" {
			if f, _ := Evaluate(rd.Result, "", m.FailureCondition); f == v1alpha1.AnalysisPhaseFailed {
				phase = f
			}
		}
		if phase == v1alpha1.AnalysisPhaseFailed {
			meas.Phase = phase
			return meas
		}
		meas.Phase = v1alpha1.AnalysisPhaseInconclusive
		if p.noDataError {
			meas.Phase = v1alpha1.AnalysisPhaseError
		}
		meas.Message = fmt.Sprintf("no data: the provider answered without a value (%s); roost never counts missing data as a pass", orEmpty(rd.Value))
		return meas
	}
	if err != nil {
		meas.Phase, meas.Message = v1alpha1.AnalysisPhaseError, err.Error()
		return meas
	}
	meas.Phase = phase
	return meas
}

func isEmptyList(v any) bool {
	switch l := v.(type) {
	case []float64:
		return len(l) == 0
	case []any:
		return len(l) == 0
	}
	return false
}

func orEmpty(s string) string {
	if s == "" {
		return "empty"
	}
	return s
}

// summaries counts the metrics by phase: the run's summary of the metrics
// that count, and the dry runs' apart (nil when there are none).
func summaries(results []v1alpha1.MetricResult) (run v1alpha1.RunSummary, dry *v1alpha1.RunSummary) {
	for _, r := range results {
		s := &run
		if r.DryRun {
			if dry == nil {
				dry = &v1alpha1.RunSummary{}
			}
			s = dry
		}
		s.Count++
		switch r.Phase {
		case v1alpha1.AnalysisPhaseSuccessful:
			s.Successful++
		case v1alpha1.AnalysisPhaseFailed:
			s.Failed++
		case v1alpha1.AnalysisPhaseInconclusive:
			s.Inconclusive++
		case v1alpha1.AnalysisPhaseError:
			s.Error++
		}
	}
	return run, dry
}

// Evidence is a completed run's verdict in words for the Rollout: the
// run's message, then the last values of the metric that decided it, so
// that an abort says what was measured and against which limit.
func Evidence(st *v1alpha1.AnalysisRunStatus) string {
	msg := st.Message
	if msg == "" {
		msg = fmt.Sprintf("analysis %s", st.Phase)
	}
	for _, r := range st.MetricResults {
		if r.DryRun || r.Phase != st.Phase {
			continue
		}
		var vals []string
		for _, m := range r.Measurements {
			if m.Value != "" {
				vals = append(vals, m.Value)
			}
		}
		if len(vals) > 5 {
			vals = vals[len(vals)-5:]
		}
		if len(vals) > 0 {
			msg += fmt.Sprintf(" (%s: last values %s)", r.Name, strings.Join(vals, ", "))
		}
		break
	}
	return msg
}

// statusJSON is the status as it is written: used to tell whether a pass
// changed it.
func statusJSON(st *v1alpha1.AnalysisRunStatus) string {
	b, _ := json.Marshal(st)
	return string(b)
}
