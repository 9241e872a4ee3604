package metrics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Judge gives each metric its verdict and a canary its score. metrics/judge
// is roost's; the poller is handed it, since this package does not import
// its own subpackages.
type Judge interface {
	// Verdict compares the canary side of m with the stable side.
	Verdict(m Metric, t Tolerance) Verdict
	// Score sums the verdicts of one canary, tolerances[i] being ms[i]'s.
	Score(ms []Metric, tolerances []Tolerance) Score
}

// PollerOptions configure a Poller.
type PollerOptions struct {
	Config Config
	// Metrics is Datadog (metrics/datadog); nil turns metrics off, and
	// MetricsOff says why, for every rollout: "Datadog is not configured:
	// set DD_API_KEY and DD_APP_KEY, or datadog.secret in
	// ~/.config/roost/config.yaml".
	Metrics    MetricSource
	MetricsOff string
	// Errors is Bugsnag (metrics/bugsnag); nil turns errors off, and
	// ErrorsOff says why.
	Errors    ErrorSource
	ErrorsOff string
	// Judge gives the verdicts and scores (metrics/judge.Judge{}).
	Judge Judge
	// Clock paces the polls; nil is the real clock.
	Clock clock.WithTicker
	// Concurrency bounds the calls in flight, to both services together;
	// 0 is DefaultConcurrency.
	Concurrency int
}

// DefaultConcurrency is how many calls are in flight at most by default:
// enough for 50 rollouts × 4 calls within an interval at a few hundred
// milliseconds each, few enough not to look like a flood.
const DefaultConcurrency = 4

// Why a rollout has no fresh evidence although its sources are on.
const (
	notPolledOff   = "not polled: the rollout is neither progressing nor paused"
	notPolledStale = "not polled since the rollout stopped progressing: this is its last evidence"
)

// Poller keeps the evidence of the rollouts it is given, polling Datadog and
// Bugsnag for those that are progressing or paused: each at most once per
// interval, exactly one call per metric and one for errors, spread over the
// interval, a bounded number at a time, within the call budget and the
// services' own rate limits. A failed call leaves the previous evidence in
// place, marked stale with the reason and the time of the next attempt.
type Poller struct {
	cfg        Config
	metrics    MetricSource
	metricsOff string
	errors     ErrorSource
	errorsOff  string
	judge      Judge
	clock      clock.WithTicker
	// calls holds a token per call in flight.
	calls  chan struct{}
	budget *callBudget
	// wake makes Run look at the schedule again; changed wakes WaitChanged.
	wake    chan struct{}
	changed chan struct{}

	mu      sync.Mutex
	entries map[Key]*entry
	// holds keep a service's calls back for every rollout after it said to
	// wait: its rate limit is the organisation's, not one rollout's.
	holds [sides]hold
	dirty map[Key]struct{}
	// added counts the targets ever added, to spread their phases.
	added int
}

type side int

const (
	sideMetrics side = iota
	sideErrors
	sides
)

type hold struct {
	until  time.Time
	reason string
}

// entry is one target and what is known of it.
type entry struct {
	target Target
	plan   Plan
	// phase is the entry's offset within an interval, so that rollouts
	// added together are polled apart.
	phase time.Duration
	sched [sides]schedule

	metrics      []Metric
	tolerances   []Tolerance
	metricsState Freshness
	errors       []Error
	errorsState  Freshness
}

type schedule struct {
	// next is when the side is due.
	next    time.Time
	running bool
	// refresh asks for a poll now (Refresh).
	refresh bool
	// first marks the first round since polling started: it runs within
	// firstSpread, so that a rollout's evidence is on screen as soon as it is
	// in scope, and the next one an interval and the entry's phase later
	// (or, if it finds no canary data at all, its pods having only begun to
	// serve, firstSpread later, once).
	first bool
}

// NewPoller returns a poller; call Run to start it.
func NewPoller(o PollerOptions) (*Poller, error) {
	if o.Judge == nil {
		return nil, errors.New("metrics.PollerOptions.Judge is nil: pass judge.Judge{} from metrics/judge")
	}
	dd := o.Config.Datadog
	if dd.Interval < minInterval || dd.Timeout <= 0 || dd.Window < minWindow || len(dd.Metrics) == 0 {
		return nil, fmt.Errorf("metrics: the configuration is not one Load returns (interval %s, timeout %s, window %s, %d metrics): start from metrics.Defaults()", dd.Interval, dd.Timeout, dd.Window, len(dd.Metrics))
	}
	if o.Concurrency < 0 {
		return nil, fmt.Errorf("metrics.PollerOptions.Concurrency is %d: give a positive bound, or 0 for %d", o.Concurrency, DefaultConcurrency)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Metrics == nil && o.MetricsOff == "" {
		o.MetricsOff = "Datadog is off"
	}
	if o.Errors == nil && o.ErrorsOff == "" {
		o.ErrorsOff = "Bugsnag is off"
	}
	p := &Poller{
		cfg: o.Config, metrics: o.Metrics, metricsOff: o.MetricsOff,
		errors: o.Errors, errorsOff: o.ErrorsOff, judge: o.Judge, clock: o.Clock,
		calls:   make(chan struct{}, o.Concurrency),
		wake:    make(chan struct{}, 1),
		changed: make(chan struct{}, 1),
		entries: map[Key]*entry{},
		dirty:   map[Key]struct{}{},
	}
	if dd.MaxCallsPerMinute > 0 {
		p.budget = newCallBudget(dd.MaxCallsPerMinute)
	}
	return p, nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// markDirty records that key's evidence changed. p.mu is held.
func (p *Poller) markDirty(k Key) {
	p.dirty[k] = struct{}{}
	signal(p.changed)
}

// phaseOf spreads the k-th target (from 0) over the interval by the golden
// ratio: however many come and go, neighbours stay about interval/(2.6·n)
// apart.
func phaseOf(k int, interval time.Duration) time.Duration {
	const phi = 0.6180339887498949
	_, frac := math.Modf(float64(k+1) * phi)
	return time.Duration(frac * float64(interval))
}

// SetTargets replaces the rollouts the poller knows. It never waits for a
// poll and may be called from any goroutine. A new or newly progressing
// rollout is polled within firstSpread, then every interval at its phase
// (the second time an interval and its phase after SetTargets); a rollout that
// stopped progressing keeps its last evidence, marked as not polled; a
// rollout whose canary started anew loses the previous canary's evidence.
func (p *Poller) SetTargets(targets []Target) {
	now := p.clock.Now()
	p.mu.Lock()
	seen := make(map[Key]bool, len(targets))
	for _, t := range targets {
		k := t.Key()
		seen[k] = true
		t.Annotations, t.TemplateLabels = maps.Clone(t.Annotations), maps.Clone(t.TemplateLabels)
		e, ok := p.entries[k]
		if !ok {
			e = &entry{target: t, plan: p.cfg.Plan(t), phase: phaseOf(p.added, p.cfg.Datadog.Interval)}
			p.added++
			if t.Poll {
				e.startPolling(now, p.cfg.Datadog.Interval)
			}
			p.entries[k] = e
			p.markDirty(k)
			continue
		}
		changed := false
		if !t.Since.Equal(e.target.Since) {
			e.metrics, e.tolerances, e.metricsState = nil, nil, Freshness{}
			e.errors, e.errorsState = nil, Freshness{}
			changed = true
		}
		if changed || !maps.Equal(t.Annotations, e.target.Annotations) || !maps.Equal(t.TemplateLabels, e.target.TemplateLabels) {
			e.plan = p.cfg.Plan(t)
			changed = true
		}
		if t.Poll != e.target.Poll {
			if t.Poll {
				e.startPolling(now, p.cfg.Datadog.Interval)
			}
			changed = true
		}
		e.target = t
		if changed {
			p.markDirty(k)
		}
	}
	for k := range p.entries {
		if !seen[k] {
			delete(p.entries, k)
			p.markDirty(k)
		}
	}
	p.mu.Unlock()
	signal(p.wake)
}

// firstSpread is how long the first polls of rollouts that come into scope
// together are spread over: on their phases, scaled down from the interval.
const firstSpread = time.Second

func (e *entry) startPolling(now time.Time, interval time.Duration) {
	first := e.phase
	if interval > firstSpread {
		first = time.Duration(float64(e.phase) * float64(firstSpread) / float64(interval))
	}
	for s := range e.sched {
		e.sched[s].next, e.sched[s].first = now.Add(first), true
	}
}

// Refresh polls one progressing or paused rollout now (the dashboard's
// refresh key), unless a poll of it is in flight or a service asked to wait.
func (p *Poller) Refresh(namespace, name string) {
	p.mu.Lock()
	e := p.entries[Key{Namespace: namespace, Name: name}]
	if e != nil && e.target.Poll {
		for s := range e.sched {
			e.sched[s].refresh = true
		}
	}
	p.mu.Unlock()
	signal(p.wake)
}

// Evidence returns a copy of what is known of one rollout, and whether the
// poller knows the rollout.
func (p *Poller) Evidence(namespace, name string) (Evidence, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[Key{Namespace: namespace, Name: name}]
	if e == nil {
		return Evidence{}, false
	}
	return p.present(e), true
}

// WaitChanged blocks until the evidence of some rollouts changed (or they
// came or went), then returns them, sorted, each once however often it
// changed. It is the body of one dashboard command that is re-armed after
// each delivery: nothing wakes it while nothing changes. Use one reader at a
// time. It returns ctx's error when ctx is done first.
func (p *Poller) WaitChanged(ctx context.Context) ([]Key, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.mu.Lock()
		if len(p.dirty) > 0 {
			keys := make([]Key, 0, len(p.dirty))
			for k := range p.dirty {
				keys = append(keys, k)
			}
			p.dirty = make(map[Key]struct{}, len(keys))
			p.mu.Unlock()
			sort.Slice(keys, func(i, j int) bool {
				if keys[i].Namespace != keys[j].Namespace {
					return keys[i].Namespace < keys[j].Namespace
				}
				return keys[i].Name < keys[j].Name
			})
			return keys, nil
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.changed:
		}
	}
}

// Run polls until ctx is done, then waits for the calls in flight to end.
// Call it once. While no rollout is progressing it sleeps without a timer.
func (p *Poller) Run(ctx context.Context) {
	var rounds sync.WaitGroup
	defer rounds.Wait()
	for {
		wait, armed := p.dispatch(ctx, &rounds)
		var timer clock.Timer
		var fire <-chan time.Time
		if armed {
			timer = p.clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// on reports whether side s of e is asked at all.
func (p *Poller) on(e *entry, s side) bool {
	if s == sideMetrics {
		return p.metrics != nil && e.plan.MetricsOff == ""
	}
	return p.errors != nil && e.plan.ErrorsOff == ""
}

// dispatch starts the rounds that are due and returns how long until the
// next one is, if any is scheduled.
func (p *Poller) dispatch(ctx context.Context, rounds *sync.WaitGroup) (time.Duration, bool) {
	now := p.clock.Now()
	interval := p.cfg.Datadog.Interval
	p.mu.Lock()
	defer p.mu.Unlock()
	var earliest time.Time
	later := func(t time.Time) {
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
	}
	for k, e := range p.entries {
		if !e.target.Poll {
			continue
		}
		for s := side(0); s < sides; s++ {
			sc := &e.sched[s]
			if sc.running || !p.on(e, s) {
				continue
			}
			due := sc.next
			if sc.refresh {
				due = now
			}
			if due.After(now) {
				later(due)
				continue
			}
			sc.refresh = false
			if h := p.holds[s]; now.Before(h.until) {
				// Spread the held rollouts over an interval after the hold,
				// so that they do not all return at once.
				sc.next = h.until.Add(e.phase)
				state := e.state(s)
				state.Stale, state.Reason, state.RetryAt = true, h.reason, sc.next
				p.markDirty(k)
				later(sc.next)
				continue
			}
			sc.running = true
			first := sc.first
			if first {
				sc.next, sc.first = nextAfter(due.Add(e.phase), now, interval), false
			} else {
				sc.next = nextAfter(due, now, interval)
			}
			rounds.Add(1)
			go p.round(ctx, rounds, k, e, s, first, e.plan, e.target.Since, e.metrics)
		}
	}
	if earliest.IsZero() {
		return 0, false
	}
	return earliest.Sub(now), true
}

func (e *entry) state(s side) *Freshness {
	if s == sideMetrics {
		return &e.metricsState
	}
	return &e.errorsState
}

// nextAfter is the first time after now on due's beat: a round that ran
// late, or a poller that slept, does not make up for missed rounds.
func nextAfter(due, now time.Time, interval time.Duration) time.Time {
	next := due.Add(interval)
	if next.After(now) {
		return next
	}
	missed := now.Sub(due) / interval
	return due.Add((missed + 1) * interval)
}

// round polls one side of one rollout and stores what it learnt; first is
// set for the first round since polling started. plan, since and prev are
// e's as of the dispatch: e itself is read only under p.mu.
func (p *Poller) round(ctx context.Context, rounds *sync.WaitGroup, k Key, e *entry, s side, first bool, plan Plan, since time.Time, prev []Metric) {
	defer rounds.Done()
	var (
		ms         []Metric
		tolerances []Tolerance
		errs       []Error
		failures   []error
	)
	if s == sideMetrics {
		ms, tolerances, failures = p.fetchMetrics(ctx, plan, since, prev)
	} else {
		var err error
		errs, err = p.fetchErrors(ctx, plan, since)
		if err != nil {
			failures = []error{err}
		}
	}
	now := p.clock.Now()
	p.mu.Lock()
	e.sched[s].running = false
	// A poll cut short by Run's end, or of a rollout that went away or
	// started a new canary meanwhile, tells nothing.
	if ctx.Err() == nil && p.entries[k] == e && e.target.Since.Equal(since) {
		if s == sideMetrics {
			e.metrics, e.tolerances = ms, tolerances
		} else if len(failures) == 0 {
			e.errors = errs
		}
		state := e.state(s)
		var wait time.Duration
		*state, e.sched[s].next, wait = nextFreshness(*state, failures, now, e.sched[s].next)
		if wait > 0 && now.Add(wait).After(p.holds[s].until) {
			p.holds[s] = hold{until: now.Add(wait), reason: state.Reason}
		}
		if first && s == sideMetrics && len(failures) == 0 && !anyCanaryData(ms) {
			e.sched[s].next = now.Add(firstSpread)
		}
		p.markDirty(k)
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

// nextFreshness is a side's freshness after a round at now, when the next
// round is due, and how long the service asked every caller to wait.
// Success: fresh as of now, next round as planned. Failure: the previous
// data's time, stale, with the first failure's reason, and the next attempt
// at the planned round or after the longest RetryAfter of a failure that is
// not permanent, whichever is later.
func nextFreshness(prev Freshness, failures []error, now, next time.Time) (Freshness, time.Time, time.Duration) {
	if len(failures) == 0 {
		return Freshness{FetchedAt: now}, next, 0
	}
	f := Freshness{FetchedAt: prev.FetchedAt, Stale: true, Reason: reasonOf(failures[0]), RetryAt: next}
	var wait time.Duration
	for _, err := range failures {
		if se, ok := AsSourceError(err); ok && !se.Permanent && se.RetryAfter > wait {
			wait = se.RetryAfter
		}
	}
	if at := now.Add(wait); wait > 0 && at.After(f.RetryAt) {
		f.RetryAt = at
	}
	return f, f.RetryAt, wait
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
func (p *Poller) fetchMetrics(ctx context.Context, plan Plan, since time.Time, prev []Metric) ([]Metric, []Tolerance, []error) {
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
	return mergeMetrics(prev, plan.Metrics, results, p.judge)
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
func mergeMetrics(prev []Metric, plan []PlannedMetric, results []metricResult, j Judge) ([]Metric, []Tolerance, []error) {
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
		m.Verdict = j.Verdict(m, pm.Tolerance)
		out[i] = m
	}
	return out, tolerances, failures
}

func findMetric(ms []Metric, id string) (Metric, bool) {
	for _, m := range ms {
		if m.ID == id {
			return m, true
		}
	}
	return Metric{}, false
}

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
		ev.Metrics = copyMetrics(e.metrics)
		ev.MetricsState = e.metricsState
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
		if !e.target.Poll && !e.sched[sideErrors].running {
			ev.ErrorsState.Stale, ev.ErrorsState.Reason, ev.ErrorsState.RetryAt = true, notPolledStale, time.Time{}
		}
	}
	return ev
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

// FetchOnce polls one rollout now, whether or not it is progressing, and
// returns its evidence (for `roost get NAME -o json`). It shares the
// concurrency bound and the call budget with Run but not its schedule, and
// it stores nothing.
func (p *Poller) FetchOnce(ctx context.Context, t Target) Evidence {
	t.Poll = true
	e := &entry{target: t, plan: p.cfg.Plan(t)}
	var wg sync.WaitGroup
	var metricFailures []error
	var errorsErr error
	if p.on(e, sideMetrics) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.metrics, e.tolerances, metricFailures = p.fetchMetrics(ctx, e.plan, t.Since, nil)
		}()
	}
	if p.on(e, sideErrors) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.errors, errorsErr = p.fetchErrors(ctx, e.plan, t.Since)
		}()
	}
	wg.Wait()
	now := p.clock.Now()
	e.metricsState, _, _ = nextFreshness(Freshness{}, metricFailures, now, time.Time{})
	var errorFailures []error
	if errorsErr != nil {
		errorFailures = []error{errorsErr}
	}
	e.errorsState, _, _ = nextFreshness(Freshness{}, errorFailures, now, time.Time{})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.present(e)
}
