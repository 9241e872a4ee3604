package metrics

// The Poller and its public API; schedule.go says when each rollout is
// polled, fetch.go what one round asks and keeps.

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// Explainer is a Judge that also says why a verdict is what it is, in one
// line ("canary 4.1 % against stable 0.5 % (latest): 8.2× stable, beyond
// the 1.5× allowed"): what an automatic hold or abort quotes.
type Explainer interface {
	Explain(m Metric, t Tolerance) (Verdict, string)
}

// ErrorScorer is a Judge that also counts the error classes new in the
// canary in its score, each canary with any counting as weight failed
// metrics (metrics/judge.Judge is one).
type ErrorScorer interface {
	ScoreWithErrors(ms []Metric, tolerances []Tolerance, newErrors, weight int) Score
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
	// MetricsFrom says where Metrics' credentials came from, for the
	// screen (datadog.Credentials.Source).
	MetricsFrom string
	// Errors is Bugsnag (metrics/bugsnag); nil turns errors off, and
	// ErrorsOff says why.
	Errors    ErrorSource
	ErrorsOff string
	// DatadogApp is Datadog's web app, DatadogApp of the API's address:
	// each metric links to its graph there. "" gives no links, and
	// DatadogLinksOff says why.
	DatadogApp      string
	DatadogLinksOff string
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
	// metricsFrom is PollerOptions.MetricsFrom.
	metricsFrom string
	errors      ErrorSource
	errorsOff   string
	// datadogApp and linksOff are PollerOptions' DatadogApp and
	// DatadogLinksOff.
	datadogApp string
	linksOff   string
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
	// fails counts the rounds in a row that failed on the way: the next
	// is tried retryIn(fails) later.
	fails int
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
		cfg: o.Config, metrics: o.Metrics, metricsOff: o.MetricsOff, metricsFrom: o.MetricsFrom,
		errors: o.Errors, errorsOff: o.ErrorsOff, judge: o.Judge, clock: o.Clock,
		datadogApp: o.DatadogApp, linksOff: o.DatadogLinksOff,
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
			e.metrics, e.tolerances, metricFailures = p.fetchMetrics(ctx, e.plan, t.Since, nil, [2]int{t.CanaryPods, t.StablePods})
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
	e.metricsState, _, _, _ = nextFreshness(Freshness{}, metricFailures, now, time.Time{}, 0, p.cfg.Datadog.Interval)
	var errorFailures []error
	if errorsErr != nil {
		errorFailures = []error{errorsErr}
	}
	e.errorsState, _, _, _ = nextFreshness(Freshness{}, errorFailures, now, time.Time{}, 0, p.cfg.Datadog.Interval)
	// One fetch: no next try to announce.
	e.metricsState.RetryAt, e.errorsState.RetryAt = time.Time{}, time.Time{}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.present(e)
}
