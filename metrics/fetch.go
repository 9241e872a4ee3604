package metrics

// One round: the calls to Datadog and Bugsnag within the budget, merging and
// judging what they answer, and the freshness readers see.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// round is one poll of one side of one rollout, as dispatch starts it.
type round struct {
	key   Key
	entry *entry
	side  side
	// first is set for the first round since polling started.
	first bool
	// plan, since and prev are the entry's as of the dispatch: the entry
	// itself is read only under p.mu.
	plan  Plan
	since time.Time
	prev  []Metric
	// pods are the ready pods of canary and stable at the dispatch.
	pods [2]int
}

// poll runs round r and stores what it learnt.
func (p *Poller) poll(ctx context.Context, r round) {
	e, s := r.entry, r.side
	var (
		ms         []Metric
		tolerances []Tolerance
		errs       []Error
		failures   []error
	)
	if s == sideMetrics {
		ms, tolerances, failures = p.fetchMetrics(ctx, r.plan, r.since, r.prev, r.pods)
	} else {
		var err error
		errs, err = p.fetchErrors(ctx, r.plan, r.since)
		if err != nil {
			failures = []error{err}
		}
	}
	now := p.clock.Now()
	p.mu.Lock()
	e.sched[s].running = false
	// A poll cut short by Run's end, or of a rollout that went away or
	// started a new canary meanwhile, tells nothing.
	if ctx.Err() == nil && p.entries[r.key] == e && e.target.Since.Equal(r.since) {
		if s == sideMetrics {
			e.metrics, e.tolerances = ms, tolerances
		} else if len(failures) == 0 {
			e.errors = errs
		}
		state := e.state(s)
		var wait time.Duration
		*state, e.sched[s].next, e.sched[s].fails, wait = nextFreshness(*state, failures, now, e.sched[s].next, e.sched[s].fails, p.cfg.Datadog.Interval)
		if wait > 0 && now.Add(wait).After(p.holds[s].until) {
			p.holds[s] = hold{until: now.Add(wait), reason: state.Reason}
		}
		if r.first && s == sideMetrics && len(failures) == 0 && !anyCanaryData(ms) {
			e.sched[s].next = now.Add(firstSpread)
		}
		p.markDirty(r.key)
	}
	p.mu.Unlock()
	signal(p.wake)
}

// anyCanaryData reports whether some metric has a canary value.
func anyCanaryData(ms []Metric) bool {
	for _, m := range ms {
		if _, ok := m.Canary.Latest(); ok {
			return true
		}
	}
	return false
}

// minRetry is the first retry of a round that failed on the way (a 5xx, a
// timeout): retries double from it, at most an interval apart.
const minRetry = 2 * time.Second

// retryIn is how long after the n-th failed round in a row (from 1) the
// next is tried: 2 s, 4 s, 8 s… never more than interval, so that a
// recovering service is seen within one interval.
func retryIn(n int, interval time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 16 {
		return interval
	}
	return min(minRetry<<(n-1), interval)
}

// nextFreshness is a side's freshness after a round at now, when the next
// round is due, how many rounds in a row have failed (fails before it),
// and how long the service asked every caller to wait.
//
// Success: fresh as of now, next round as planned. Failure: the previous
// data's time, stale, with the first failure's reason. A round that failed
// on the way is retried sooner than planned, on its own schedule (retryIn):
// one failing rollout never holds back the others. The service's own wait
// (RetryAfter: a 429, a rate limit used up) is always honoured, and when it
// is the service's for every caller (Global) it is returned as the hold.
func nextFreshness(prev Freshness, failures []error, now, next time.Time, fails int, interval time.Duration) (Freshness, time.Time, int, time.Duration) {
	if len(failures) == 0 {
		return Freshness{FetchedAt: now}, next, 0, 0
	}
	f := Freshness{FetchedAt: prev.FetchedAt, Stale: true, Reason: reasonOf(failures[0])}
	transient := false
	var wait, hold time.Duration
	for _, err := range failures {
		se, ok := AsSourceError(err)
		if ok && se.Permanent {
			continue
		}
		transient = true
		if ok && se.RetryAfter > wait {
			wait = se.RetryAfter
		}
		if ok && se.Global && se.RetryAfter > hold {
			hold = se.RetryAfter
		}
	}
	if transient {
		fails++
		if at := now.Add(retryIn(fails, interval)); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if at := now.Add(wait); wait > 0 && at.After(next) {
		next = at
	}
	f.RetryAt = next
	return f, next, fails, hold
}

func reasonOf(err error) string {
	if se, ok := AsSourceError(err); ok {
		return se.Reason
	}
	return err.Error()
}

// metricResult is one metric's call.
type metricResult struct {
	metric Metric
	err    error
}

// fetchMetrics asks for every metric of plan, one call each, concurrently
// within the bound, and merges the answers with prev.
func (p *Poller) fetchMetrics(ctx context.Context, plan Plan, since time.Time, prev []Metric, pods [2]int) ([]Metric, []Tolerance, []error) {
	from, to := p.cfg.Window(since, p.clock.Now())
	results := make([]metricResult, len(plan.Metrics))
	var wg sync.WaitGroup
	for i, pm := range plan.Metrics {
		if pm.Err != "" {
			continue
		}
		q := pm.Query
		q.From, q.To = from, to
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.call(ctx, "Datadog", p.budget, func(ctx context.Context) error {
				m, err := p.metrics.QueryMetric(ctx, q)
				results[i] = metricResult{metric: m, err: err}
				return err
			})
			results[i].err = err
		}()
	}
	wg.Wait()
	ms, tolerances, failures := mergeMetrics(prev, plan.Metrics, results, p.judge, pods)
	// A metric whose call failed still links to its graph: what Datadog's
	// web app shows is where to look next.
	for i, pm := range plan.Metrics {
		if pm.Err == "" {
			q := pm.Query
			q.From, q.To = from, to
			ms[i].Link = ExplorerURL(p.datadogApp, q)
		}
	}
	return ms, tolerances, failures
}

// fetchErrors asks for the errors of the canary since it started (or over
// the window, when its start is unknown).
func (p *Poller) fetchErrors(ctx context.Context, plan Plan, since time.Time) ([]Error, error) {
	q := plan.Errors
	q.Since = since
	if q.Since.IsZero() {
		q.Since, _ = p.cfg.Window(since, p.clock.Now())
	}
	var errs []Error
	err := p.call(ctx, "Bugsnag", nil, func(ctx context.Context) error {
		var err error
		errs, err = p.errors.CanaryErrors(ctx, q)
		return err
	})
	return errs, err
}

// call makes one call within the budget, the concurrency bound and the
// timeout. A call that overruns its timeout is a SourceError saying so.
func (p *Poller) call(ctx context.Context, source string, budget *callBudget, f func(context.Context) error) error {
	if budget != nil {
		if err := budget.wait(ctx, p.clock); err != nil {
			return err
		}
	}
	select {
	case p.calls <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.calls }()
	timeout := p.cfg.Datadog.Timeout
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := f(cctx)
	if _, ok := AsSourceError(err); err != nil && !ok && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return &SourceError{Source: source, Reason: fmt.Sprintf("timed out after %s", timeout), Err: err}
	}
	return err
}

// mergeMetrics builds a rollout's metrics from one round's results: an
// answer replaces the metric and is judged; a failed call keeps the
// metric's previous data (and verdict), or, when there is none, leaves the
// metric empty with the error. A metric whose query could not be rendered
// carries that error. It returns the failures, in metric order.
func mergeMetrics(prev []Metric, plan []PlannedMetric, results []metricResult, j Judge, pods [2]int) ([]Metric, []Tolerance, []error) {
	out := make([]Metric, len(plan))
	tolerances := make([]Tolerance, len(plan))
	var failures []error
	for i, pm := range plan {
		q := pm.Query
		tolerances[i] = pm.Tolerance
		empty := Metric{ID: q.ID, Name: q.Name, Unit: q.Unit, HigherIsWorse: q.HigherIsWorse, Query: q.Expression(), Verdict: VerdictNoData}
		if pm.Err != "" {
			empty.Error = pm.Err
			out[i] = empty
			continue
		}
		r := results[i]
		if r.err != nil {
			failures = append(failures, r.err)
			if old, ok := findMetric(prev, q.ID); ok && old.Error == "" {
				out[i] = old
				continue
			}
			empty.Error = reasonOf(r.err)
			out[i] = empty
			continue
		}
		m := r.metric
		m.ID, m.Name, m.Unit, m.HigherIsWorse, m.Error = q.ID, q.Name, q.Unit, q.HigherIsWorse, ""
		if m.Query == "" {
			m.Query = empty.Query
		}
		if q.PerPod {
			m = perPod(m, pods)
		}
		if e, ok := j.(Explainer); ok {
			m.Verdict, m.Reason = e.Explain(m, pm.Tolerance)
		} else {
			m.Verdict = j.Verdict(m, pm.Tolerance)
		}
		out[i] = m
	}
	return out, tolerances, failures
}

// perPod divides each side of m by its ready pods, so that a total (the
// request rate) compares like with like whatever the weight; the name says
// so. Without pods on a side, m stays a total.
func perPod(m Metric, pods [2]int) Metric {
	if pods[0] <= 0 || pods[1] <= 0 {
		return m
	}
	m.Canary.Points = dividePoints(m.Canary.Points, pods[0])
	m.Stable.Points = dividePoints(m.Stable.Points, pods[1])
	m.Name += " per pod"
	return m
}

func dividePoints(ps []Point, n int) []Point {
	out := make([]Point, len(ps))
	for i, p := range ps {
		if !p.Null {
			p.Value /= float64(n)
		}
		out[i] = p
	}
	return out
}

func findMetric(ms []Metric, id string) (Metric, bool) {
	for _, m := range ms {
		if m.ID == id {
			return m, true
		}
	}
	return Metric{}, false
}

// Why a rollout has no fresh evidence although its sources are on.
const (
	notPolledOff   = "not polled: the rollout is neither progressing nor paused"
	notPolledStale = "not polled since the rollout stopped progressing: this is its last evidence"
)

// present is the evidence of e as readers see it: a copy, with each side's
// reason for being off, and the score of fresh metrics only. p.mu is held.
func (p *Poller) present(e *entry) Evidence {
	ev := Evidence{Namespace: e.target.Namespace, Name: e.target.Name, Score: ScoreNoData}
	switch {
	case p.metrics == nil:
		ev.MetricsOff = p.metricsOff
	case e.plan.MetricsOff != "":
		ev.MetricsOff = e.plan.MetricsOff
	case !e.target.Poll && e.metrics == nil && e.metricsState.FetchedAt.IsZero():
		ev.MetricsOff = notPolledOff
	default:
		ev.MetricsFrom = p.metricsFrom
		ev.Metrics = copyMetrics(e.metrics)
		ev.MetricsState = e.metricsState
		ev.MetricLinksOff = p.linksOff
		if !e.target.Poll && !e.sched[sideMetrics].running {
			ev.MetricsState.Stale, ev.MetricsState.Reason, ev.MetricsState.RetryAt = true, notPolledStale, time.Time{}
		}
		if !ev.MetricsState.Stale && !ev.MetricsState.FetchedAt.IsZero() {
			ev.Score = p.judge.Score(ev.Metrics, e.tolerances)
		}
	}
	switch {
	case p.errors == nil:
		ev.ErrorsOff = p.errorsOff
	case e.plan.ErrorsOff != "":
		ev.ErrorsOff = e.plan.ErrorsOff
	case !e.target.Poll && e.errors == nil && e.errorsState.FetchedAt.IsZero():
		ev.ErrorsOff = notPolledOff
	default:
		ev.Errors = append([]Error(nil), e.errors...)
		ev.ErrorsState = e.errorsState
		if d, ok := p.errors.(ErrorDashboard); ok {
			q := e.plan.Errors
			q.Since = e.target.Since
			ev.ErrorsURL = d.ErrorsURL(q)
		}
		if !e.target.Poll && !e.sched[sideErrors].running {
			ev.ErrorsState.Stale, ev.ErrorsState.Reason, ev.ErrorsState.RetryAt = true, notPolledStale, time.Time{}
		}
	}
	p.scoreNewErrors(&ev, e.tolerances)
	return ev
}

// scoreNewErrors applies the new-error rule: an error class of the canary
// that stable never had counts in the score, fresh metrics or not (it is
// evidence of its own), when the judge can count it and the rule is on.
func (p *Poller) scoreNewErrors(ev *Evidence, tolerances []Tolerance) {
	scorer, ok := p.judge.(ErrorScorer)
	weight := p.cfg.Judge.NewErrorWeight
	if !ok || weight <= 0 || ev.ErrorsState.Stale || ev.ErrorsState.FetchedAt.IsZero() {
		return
	}
	n := ev.NewErrors()
	if n == 0 {
		return
	}
	ms := ev.Metrics
	if ev.MetricsState.Stale || ev.MetricsState.FetchedAt.IsZero() {
		ms = nil
	}
	ev.Score = scorer.ScoreWithErrors(ms, tolerances, n, weight)
}

func copyMetrics(ms []Metric) []Metric {
	if ms == nil {
		return nil
	}
	out := make([]Metric, len(ms))
	for i, m := range ms {
		m.Canary.Points = append([]Point(nil), m.Canary.Points...)
		m.Stable.Points = append([]Point(nil), m.Stable.Points...)
		out[i] = m
	}
	return out
}
