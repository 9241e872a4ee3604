package metrics_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/judge"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// call is one call a fake source received.
type call struct {
	rollout string
	// what is the metric's id, or "errors".
	what     string
	at       time.Time
	from, to time.Time
}

// fakeDatadog answers every metric with fixed series, or with the error
// fail returns. It tells rollouts apart by their service tag, which is the
// rollout's name by default.
type fakeDatadog struct {
	clock *testingclock.FakeClock
	// points is the length of each side's series.
	points int

	mu    sync.Mutex
	calls []call
	fail  func(rollout, metric string) error
	// bad rollouts' canaries are three times stable.
	bad map[string]bool
	// serving is when a rollout's canary began to serve: Datadog has no
	// canary series of it before then.
	serving map[string]time.Time
}

var serviceTag = regexp.MustCompile(`service:([^,}]+)`)

func (f *fakeDatadog) QueryMetric(ctx context.Context, q metrics.MetricQuery) (metrics.Metric, error) {
	rollout := serviceTag.FindStringSubmatch(q.Queries[0].Query)[1]
	f.mu.Lock()
	f.calls = append(f.calls, call{rollout: rollout, what: q.ID, at: f.clock.Now(), from: q.From, to: q.To})
	fail, bad := f.fail, f.bad[rollout]
	serving, late := f.serving[rollout]
	f.mu.Unlock()
	if fail != nil {
		if err := fail(rollout, q.ID); err != nil {
			return metrics.Metric{}, err
		}
	}
	m := metrics.Metric{ID: q.ID, Query: q.Expression(), Canary: metrics.Series{Found: true}, Stable: metrics.Series{Found: true}}
	n := f.points
	if n == 0 {
		n = 10
	}
	for i := range n {
		at := q.To.Add(time.Duration(i-n) * 10 * time.Second)
		v := 1 + 0.1*float64(i%3)
		c := v
		if bad {
			c = 3 * v
		}
		m.Canary.Points = append(m.Canary.Points, metrics.Point{Time: at, Value: c})
		m.Stable.Points = append(m.Stable.Points, metrics.Point{Time: at, Value: v})
	}
	if late && q.To.Before(serving) {
		m.Canary = metrics.Series{}
	}
	return m, nil
}

func (f *fakeDatadog) callsOf(rollout, metric string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.rollout == rollout && (metric == "" || c.what == metric) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeDatadog) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeDatadog) setFail(fail func(rollout, metric string) error) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

// fakeBugsnag answers with one error per rollout; rollouts are told apart by
// their project, which the tests set to the rollout's name.
type fakeBugsnag struct {
	clock *testingclock.FakeClock

	mu    sync.Mutex
	calls []call
	fail  func(project string) error
	// newIn lists the projects whose error class is new in the canary.
	newIn map[string]bool
}

func (f *fakeBugsnag) CanaryErrors(ctx context.Context, q metrics.ErrorQuery) ([]metrics.Error, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{rollout: q.Project, what: "errors", at: f.clock.Now(), from: q.Since})
	fail, isNew := f.fail, f.newIn[q.Project]
	f.mu.Unlock()
	if fail != nil {
		if err := fail(q.Project); err != nil {
			return nil, err
		}
	}
	return []metrics.Error{{ID: "e-" + q.Project, Class: "NoMethodError", Events: 3, New: isNew}}, nil
}

func (f *fakeBugsnag) callsOf(project string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.rollout == project {
			out = append(out, c)
		}
	}
	return out
}

type harness struct {
	t     testing.TB
	clock *testingclock.FakeClock
	dd    *fakeDatadog
	bs    *fakeBugsnag
	p     *metrics.Poller
}

func newHarness(t testing.TB, configure func(*metrics.PollerOptions)) *harness {
	t.Helper()
	c := testingclock.NewFakeClock(start)
	h := &harness{t: t, clock: c, dd: &fakeDatadog{clock: c}, bs: &fakeBugsnag{clock: c}}
	o := metrics.PollerOptions{Config: metrics.Defaults(), Metrics: h.dd, Errors: h.bs, Judge: judge.Judge{}, Clock: c}
	if configure != nil {
		configure(&o)
	}
	p, err := metrics.NewPoller(o)
	if err != nil {
		t.Fatalf("NewPoller: %v", err)
	}
	h.p = p
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

// settle waits until the poller has made every poll due at the clock's time.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !h.p.Settled() {
		h.p.Wake()
		if time.Now().After(deadline) {
			h.t.Fatalf("the poller did not settle at %s", h.clock.Now())
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// runFor moves the clock forward by d, stopping at every poll due on the way.
func (h *harness) runFor(d time.Duration) {
	h.t.Helper()
	end := h.clock.Now().Add(d)
	for {
		due := h.p.NextDue()
		if due.IsZero() || !due.Before(end) {
			break
		}
		h.clock.SetTime(due)
		h.settle()
	}
	h.clock.SetTime(end)
	h.settle()
}

func (h *harness) evidence(name string) metrics.Evidence {
	h.t.Helper()
	e, ok := h.p.Evidence("shop", name)
	if !ok {
		h.t.Fatalf("no evidence of shop/%s", name)
	}
	return e
}

func target(name string, poll bool) metrics.Target {
	return metrics.Target{
		Namespace: "shop", Name: name, Poll: poll, Since: start.Add(-time.Hour),
		Annotations: map[string]string{metrics.AnnotationBugsnagProject: name},
	}
}

var metricIDs = []string{"requests", "error_rate", "latency_p95"}

// Exactly one call per metric and one for errors per polled rollout per
// interval, on a steady beat; none for healthy rollouts.
func TestPollerCallsOncePerInterval(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{
		target("checkout", true), target("cart", true), target("search", true),
		target("healthy", false), target("done", false),
	})
	const intervals = 5
	interval := metrics.DefaultInterval
	h.runFor(intervals * interval)
	for _, name := range []string{"checkout", "cart", "search"} {
		for _, id := range metricIDs {
			calls := h.dd.callsOf(name, id)
			if len(calls) != intervals {
				t.Errorf("%s %s: %d calls in %d intervals, want %d", name, id, len(calls), intervals, intervals)
				continue
			}
			// The first within two seconds, the second an interval and
			// the rollout's phase later, the others on that beat.
			if first := calls[0].at.Sub(start); first < 0 || first >= 2*time.Second {
				t.Errorf("%s %s: first call %s after the start, want within 2s", name, id, first)
			}
			if gap := calls[1].at.Sub(calls[0].at); gap < interval || gap >= 2*interval {
				t.Errorf("%s %s: calls 0 and 1 are %s apart, want an interval and a phase", name, id, gap)
			}
			for i := 2; i < len(calls); i++ {
				if gap := calls[i].at.Sub(calls[i-1].at); gap != interval {
					t.Errorf("%s %s: calls %d and %d are %s apart, want %s", name, id, i-1, i, gap, interval)
				}
			}
		}
		if got := len(h.bs.callsOf(name)); got != intervals {
			t.Errorf("%s: %d Bugsnag calls, want %d", name, got, intervals)
		}
		e := h.evidence(name)
		if len(e.Metrics) != 3 || e.MetricsState.Stale || e.MetricsState.FetchedAt.IsZero() || len(e.Errors) != 1 || e.Score != metrics.ScorePass {
			t.Errorf("%s: evidence %+v", name, e)
		}
	}
	for _, name := range []string{"healthy", "done"} {
		if n := len(h.dd.callsOf(name, "")) + len(h.bs.callsOf(name)); n != 0 {
			t.Errorf("healthy rollout %s got %d calls", name, n)
		}
		e := h.evidence(name)
		if e.MetricsOff != "not polled: the rollout is neither progressing nor paused" || e.Metrics != nil || e.Score != metrics.ScoreNoData {
			t.Errorf("healthy rollout %s: evidence %+v", name, e)
		}
	}
}

// A first round that finds no canary series (its pods have only begun to
// serve) is followed by another a second later, once; then the beat.
func TestPollerPollsAgainSoonWhenTheCanaryHasNoDataYet(t *testing.T) {
	h := newHarness(t, nil)
	h.dd.mu.Lock()
	h.dd.serving = map[string]time.Time{"young": start.Add(1500 * time.Millisecond), "never": start.Add(time.Hour)}
	h.dd.mu.Unlock()
	h.p.SetTargets([]metrics.Target{target("young", true), target("never", true)})
	interval := metrics.DefaultInterval
	h.runFor(3 * interval)
	for name, wantData := range map[string]bool{"young": true, "never": false} {
		calls := h.dd.callsOf(name, "error_rate")
		if len(calls) != 4 {
			t.Fatalf("%s: %d calls in three intervals, want 4: %v", name, len(calls), calls)
		}
		if gap := calls[1].at.Sub(calls[0].at); gap != time.Second {
			t.Errorf("%s: the round after one without canary data came %s later, want 1s", name, gap)
		}
		for i := 2; i < len(calls); i++ {
			if gap := calls[i].at.Sub(calls[i-1].at); gap != interval {
				t.Errorf("%s: calls %d and %d are %s apart, want %s", name, i-1, i, gap, interval)
			}
		}
		e := h.evidence(name)
		if _, ok := e.Metrics[1].Canary.Latest(); ok != wantData {
			t.Errorf("%s: canary data %v, want %v", name, ok, wantData)
		}
	}
}

func TestPollerQueryWindow(t *testing.T) {
	h := newHarness(t, nil)
	young := target("young", true)
	young.Since = start.Add(-5 * time.Minute)
	h.p.SetTargets([]metrics.Target{young, target("old", true)})
	h.runFor(metrics.DefaultInterval)
	for name, from := range map[string]func(to time.Time) time.Time{
		"young": func(time.Time) time.Time { return young.Since.Add(-time.Minute) },
		"old":   func(to time.Time) time.Time { return to.Add(-metrics.DefaultWindow) },
	} {
		calls := h.dd.callsOf(name, "error_rate")
		if len(calls) != 1 {
			t.Fatalf("%s: %d calls", name, len(calls))
		}
		c := calls[0]
		if !c.to.Equal(c.at) || !c.from.Equal(from(c.to)) {
			t.Errorf("%s: window [%s, %s] at %s", name, c.from, c.to, c.at)
		}
	}
	if got := h.bs.callsOf("young")[0].from; !got.Equal(young.Since) {
		t.Errorf("Bugsnag since = %s, want the canary's start %s", got, young.Since)
	}
}

// Fifty rollouts that start progressing together are first polled within
// two seconds, never two in the same millisecond, then spread over the
// interval.
func TestPollerSpreadsRollouts(t *testing.T) {
	h := newHarness(t, nil)
	var targets []metrics.Target
	for i := range 50 {
		targets = append(targets, target(fmt.Sprintf("svc%02d", i), true))
	}
	h.p.SetTargets(targets)
	h.runFor(3 * metrics.DefaultInterval)
	closest := func(nth int) (gap time.Duration, last time.Time) {
		var at []time.Time
		for _, tg := range targets {
			calls := h.dd.callsOf(tg.Name, "error_rate")
			if len(calls) < 2 {
				t.Fatalf("%s: %d calls in three intervals", tg.Name, len(calls))
			}
			at = append(at, calls[nth].at)
		}
		sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
		gap = time.Duration(1<<63 - 1)
		for i := 1; i < len(at); i++ {
			gap = min(gap, at[i].Sub(at[i-1]))
		}
		return gap, at[len(at)-1]
	}
	if gap, last := closest(0); gap < 5*time.Millisecond || last.Sub(start) >= 2*time.Second {
		t.Errorf("first polls: the closest two %s apart, the last %s after the start; want them spread (≥ 5ms) within 2s", gap, last.Sub(start))
	}
	if gap, _ := closest(1); gap < 100*time.Millisecond {
		t.Errorf("second polls: the closest two are %s apart, want them spread over the interval (≥ 100ms)", gap)
	}
}

// A failed call keeps the previous data, marked stale with the reason and
// the next attempt; the next success clears it.
func TestPollerStaleOnFailure(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.runFor(metrics.DefaultInterval)
	good := h.evidence("checkout")
	if good.MetricsState.Stale || good.Metrics[1].Canary.Points == nil {
		t.Fatalf("first evidence %+v", good)
	}
	firstFetch := good.MetricsState.FetchedAt

	h.dd.setFail(func(_, metric string) error {
		if metric == "error_rate" {
			return &metrics.SourceError{Source: "Datadog", Status: 502, Reason: "bad gateway (502)"}
		}
		return nil
	})
	h.runFor(metrics.DefaultInterval)
	e := h.evidence("checkout")
	st := e.MetricsState
	if !st.Stale || st.Reason != "bad gateway (502)" || !st.FetchedAt.Equal(firstFetch) {
		t.Errorf("state after a failure = %+v, want stale, the reason, and the first fetch's time %s", st, firstFetch)
	}
	// The failing round is tried again sooner than the interval, 2 s, 4 s,
	// 8 s… after each failure, never more than an interval apart.
	failed := h.dd.callsOf("checkout", "error_rate")[1:]
	if len(failed) < 3 {
		t.Errorf("%d calls in the interval after the failure, want the round retried (2 s, 4 s, 8 s…)", len(failed))
	}
	for i := 1; i < len(failed); i++ {
		if gap, want := failed[i].at.Sub(failed[i-1].at), min(2*time.Second<<(i-1), metrics.DefaultInterval); gap != want {
			t.Errorf("retry %d came %s after the one before, want %s", i, gap, want)
		}
	}
	if want := min(2*time.Second<<(len(failed)-1), metrics.DefaultInterval); st.RetryAt.Sub(failed[len(failed)-1].at) != want {
		t.Errorf("RetryAt = %s, %s after the last call, want %s", st.RetryAt, st.RetryAt.Sub(failed[len(failed)-1].at), want)
	}
	if fmt.Sprint(e.Metrics[1].Canary.Points) != fmt.Sprint(good.Metrics[1].Canary.Points) || e.Metrics[1].Error != "" || e.Metrics[1].Verdict != good.Metrics[1].Verdict {
		t.Errorf("error_rate after a failure = %+v, want the previous data %+v", e.Metrics[1], good.Metrics[1])
	}
	if e.Score != metrics.ScoreNoData {
		t.Errorf("score of stale metrics = %s, want NoData: stale data is not evidence of health", e.Score)
	}

	h.dd.setFail(nil)
	h.runFor(metrics.DefaultInterval)
	e = h.evidence("checkout")
	if e.MetricsState.Stale || e.MetricsState.Reason != "" || !e.MetricsState.RetryAt.IsZero() || !e.MetricsState.FetchedAt.After(firstFetch) || e.Score != metrics.ScorePass {
		t.Errorf("state after recovery = %+v, score %s", e.MetricsState, e.Score)
	}
}

func TestPollerFirstFailureHasNoData(t *testing.T) {
	h := newHarness(t, nil)
	h.dd.setFail(func(string, string) error {
		return &metrics.SourceError{Source: "Datadog", Status: 403, Reason: "forbidden (403): the application key lacks the timeseries_query scope", Permanent: true}
	})
	h.bs.fail = func(string) error {
		return &metrics.SourceError{Source: "Bugsnag", Status: 401, Reason: "unauthorized (401): check the auth token", Permanent: true}
	}
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.runFor(metrics.DefaultInterval)
	e := h.evidence("checkout")
	for _, m := range e.Metrics {
		if m.Error != "forbidden (403): the application key lacks the timeseries_query scope" || m.Verdict != metrics.VerdictNoData || m.Canary.Found || m.Query == "" {
			t.Errorf("metric %+v", m)
		}
	}
	if !e.MetricsState.Stale || !e.MetricsState.FetchedAt.IsZero() || !e.ErrorsState.Stale || e.ErrorsState.Reason != "unauthorized (401): check the auth token" {
		t.Errorf("states %+v %+v", e.MetricsState, e.ErrorsState)
	}
	// A permanent error keeps the normal beat: the second round an
	// interval and the rollout's phase after the first.
	calls := h.dd.callsOf("checkout", "requests")
	if got := e.MetricsState.RetryAt.Sub(calls[0].at); got < metrics.DefaultInterval || got >= 2*metrics.DefaultInterval {
		t.Errorf("retry after a permanent error in %s, want an interval and a phase", got)
	}
}

// RetryAfter holds the service back for every rollout, not only the one
// whose call was refused, and the held rollouts say why they are stale.
func TestPollerHonoursRetryAfter(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{target("checkout", true), target("cart", true), target("search", true)})
	h.runFor(metrics.DefaultInterval)
	before := h.dd.count()

	const retryAfter = 95 * time.Second
	var once sync.Once
	h.dd.setFail(func(rollout, metric string) error {
		var err error
		once.Do(func() {
			err = &metrics.SourceError{Source: "Datadog", Status: 429, Reason: "rate limited (429)", RetryAfter: retryAfter, Global: true}
		})
		return err
	})
	due := h.p.NextDue()
	h.clock.SetTime(due)
	h.settle()
	refusedAt := due
	afterRefusal := h.dd.count()
	// Everything due until the hold ends waits.
	h.runFor(retryAfter - time.Second)
	if got := h.dd.count(); got != afterRefusal {
		t.Errorf("%d calls during the hold, want none", got-afterRefusal)
	}
	stale := 0
	for _, name := range []string{"checkout", "cart", "search"} {
		st := h.evidence(name).MetricsState
		if st.Stale {
			stale++
			if st.Reason != "rate limited (429)" || st.RetryAt.Before(refusedAt.Add(retryAfter)) {
				t.Errorf("%s: state during the hold %+v", name, st)
			}
		}
	}
	if stale != 3 {
		t.Errorf("%d of 3 rollouts shown stale during the hold, want all: their data is older than the interval", stale)
	}
	h.runFor(2 * metrics.DefaultInterval)
	for _, name := range []string{"checkout", "cart", "search"} {
		calls := h.dd.callsOf(name, "latency_p95")
		last := calls[len(calls)-1]
		if !last.at.After(refusedAt.Add(retryAfter - time.Nanosecond)) {
			t.Errorf("%s: last call at %s, want after the hold ended at %s", name, last.at, refusedAt.Add(retryAfter))
		}
		if st := h.evidence(name).MetricsState; st.Stale {
			t.Errorf("%s: still stale after the hold: %+v", name, st)
		}
	}
	if h.dd.count() <= before {
		t.Error("no calls after the hold")
	}
}

func TestPollerStoppedRolloutKeepsEvidence(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.runFor(metrics.DefaultInterval)
	fetched := h.evidence("checkout")
	h.p.SetTargets([]metrics.Target{target("checkout", false)})
	calls := h.dd.count()
	h.runFor(5 * metrics.DefaultInterval)
	if got := h.dd.count(); got != calls {
		t.Errorf("%d calls after the rollout stopped progressing", got-calls)
	}
	e := h.evidence("checkout")
	if len(e.Metrics) != 3 || !e.MetricsState.Stale || e.MetricsState.Reason != "not polled since the rollout stopped progressing: this is its last evidence" || !e.MetricsState.FetchedAt.Equal(fetched.MetricsState.FetchedAt) {
		t.Errorf("evidence of a stopped rollout: %+v", e)
	}
	if len(e.Errors) != 1 || !e.ErrorsState.Stale || e.Score != metrics.ScoreNoData {
		t.Errorf("errors of a stopped rollout: %+v %+v, score %s", e.Errors, e.ErrorsState, e.Score)
	}
}

func TestPollerNewCanaryDropsOldEvidence(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.runFor(metrics.DefaultInterval)
	next := target("checkout", true)
	next.Since = h.clock.Now()
	h.p.SetTargets([]metrics.Target{next})
	if e := h.evidence("checkout"); e.Metrics != nil || e.Errors != nil || !e.MetricsState.FetchedAt.IsZero() {
		t.Errorf("evidence of the new canary holds the old one's: %+v", e)
	}
}

func TestPollerRefresh(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{target("checkout", true), target("healthy", false)})
	h.runFor(metrics.DefaultInterval)
	h.runFor(3 * time.Second)
	h.p.Refresh("shop", "checkout")
	h.p.Refresh("shop", "healthy")
	h.p.Refresh("shop", "unknown")
	h.settle()
	calls := h.dd.callsOf("checkout", "requests")
	if len(calls) != 2 || !calls[1].at.Equal(h.clock.Now()) {
		t.Fatalf("calls after Refresh: %+v", calls)
	}
	if n := len(h.dd.callsOf("healthy", "")); n != 0 {
		t.Errorf("Refresh of a healthy rollout made %d calls", n)
	}
	// The refresh moves the beat: the next poll is an interval later.
	h.runFor(metrics.DefaultInterval - time.Second)
	if n := len(h.dd.callsOf("checkout", "requests")); n != 2 {
		t.Errorf("%d calls within an interval of the refresh, want none beyond it", n-2)
	}
	h.runFor(time.Second)
	if n := len(h.dd.callsOf("checkout", "requests")); n != 3 {
		t.Errorf("%d calls an interval after the refresh, want 3", n)
	}
}

func TestPollerSourcesOff(t *testing.T) {
	const ddOff = "Datadog is not configured: set DD_API_KEY and DD_APP_KEY, or datadog.secret in ~/.config/roost/config.yaml"
	const bsOff = "Bugsnag is not configured: set BUGSNAG_AUTH_TOKEN, or bugsnag.secret in ~/.config/roost/config.yaml"
	h := newHarness(t, func(o *metrics.PollerOptions) {
		o.Metrics, o.MetricsOff, o.Errors, o.ErrorsOff = nil, ddOff, nil, bsOff
	})
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.runFor(3 * metrics.DefaultInterval)
	e := h.evidence("checkout")
	if e.MetricsOff != ddOff || e.ErrorsOff != bsOff || e.Metrics != nil || e.Score != metrics.ScoreNoData {
		t.Errorf("evidence with both sources off: %+v", e)
	}
	if !h.p.NextDue().IsZero() {
		t.Errorf("a poll is scheduled with both sources off")
	}
}

// A bad annotation is that rollout's problem alone.
func TestPollerBadAnnotation(t *testing.T) {
	h := newHarness(t, nil)
	bad := target("checkout", true)
	bad.Annotations[metrics.AnnotationTagKey] = "kube role"
	h.p.SetTargets([]metrics.Target{bad, target("cart", true)})
	h.runFor(metrics.DefaultInterval)
	e := h.evidence("checkout")
	if want := `rollout shop/checkout: annotation metrics.roost.dev/tag-key: "kube role" is not a Datadog tag key`; len(e.MetricsOff) < len(want) || e.MetricsOff[:len(want)] != want {
		t.Errorf("MetricsOff = %q", e.MetricsOff)
	}
	if n := len(h.dd.callsOf("checkout", "")); n != 0 {
		t.Errorf("%d metric calls for a rollout with a bad annotation", n)
	}
	if n := len(h.bs.callsOf("checkout")); n != 1 {
		t.Errorf("%d Bugsnag calls for it, want 1: its Bugsnag side is fine", n)
	}
	if n := len(h.dd.callsOf("cart", "")); n != 3 {
		t.Errorf("%d metric calls for the other rollout, want 3", n)
	}
}

// The verdicts and the score are the judge's.
func TestPollerJudges(t *testing.T) {
	h := newHarness(t, nil)
	h.dd.bad = map[string]bool{"checkout": true}
	h.p.SetTargets([]metrics.Target{target("checkout", true), target("cart", true)})
	h.runFor(metrics.DefaultInterval)
	e := h.evidence("checkout")
	if e.Score != metrics.ScoreFail {
		t.Errorf("score of a canary at 3× stable = %s, want Fail", e.Score)
	}
	for _, m := range e.Metrics {
		if m.Verdict != metrics.VerdictHigh {
			t.Errorf("%s: verdict %s, want High", m.ID, m.Verdict)
		}
	}
	if e := h.evidence("cart"); e.Score != metrics.ScorePass || e.Metrics[1].Verdict != metrics.VerdictPass {
		t.Errorf("cart: score %s, %+v", e.Score, e.Metrics)
	}
}

func TestWaitChangedWakesOnlyOnChange(t *testing.T) {
	h := newHarness(t, nil)
	h.p.SetTargets([]metrics.Target{target("checkout", true), target("healthy", false)})
	ctx := context.Background()
	keys, err := h.p.WaitChanged(ctx)
	if err != nil || fmt.Sprint(keys) != "[shop/checkout shop/healthy]" {
		t.Fatalf("WaitChanged after SetTargets = %v, %v", keys, err)
	}
	got := make(chan []metrics.Key, 1)
	go func() {
		keys, _ := h.p.WaitChanged(ctx)
		got <- keys
	}()
	quiet := func(what string) {
		t.Helper()
		select {
		case keys := <-got:
			t.Fatalf("WaitChanged woke %s: %v", what, keys)
		case <-time.After(50 * time.Millisecond):
		}
	}
	quiet("with nothing changed")
	h.p.SetTargets([]metrics.Target{target("checkout", true), target("healthy", false)})
	quiet("on the same targets again")
	h.clock.Step(time.Millisecond)
	quiet("on time passing with nothing due")
	h.runFor(metrics.DefaultInterval)
	select {
	case keys := <-got:
		if fmt.Sprint(keys) != "[shop/checkout]" {
			t.Errorf("WaitChanged after a poll = %v, want checkout alone", keys)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitChanged did not wake on a poll")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.p.WaitChanged(cctx); err != context.Canceled {
		t.Errorf("WaitChanged on a done context = %v", err)
	}
}

// SetTargets, Evidence and Refresh from other goroutines while polls run;
// run with -race.
func TestPollerConcurrentUse(t *testing.T) {
	h := newHarness(t, func(o *metrics.PollerOptions) { o.Concurrency = 2 })
	names := []string{"a", "b", "c", "d", "e", "f"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var ts []metrics.Target
			for j, n := range names {
				if (i+j)%5 != 0 {
					tg := target(n, (i+j)%3 != 0)
					if (i+j)%7 == 0 {
						tg.Since = start // a new canary: its evidence starts over
					}
					ts = append(ts, tg)
				}
			}
			h.p.SetTargets(ts)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, n := range names {
				if e, ok := h.p.Evidence("shop", n); ok && len(e.Metrics) > 0 {
					e.Metrics[0].Canary.Points = nil // a reader's copy is its own
				}
				h.p.Refresh("shop", n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-stop; cancel() }()
		for {
			if _, err := h.p.WaitChanged(ctx); err != nil {
				return
			}
		}
	}()
	for range 200 {
		h.clock.Step(time.Second)
		time.Sleep(200 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	h.p.SetTargets([]metrics.Target{target("a", true)})
	h.runFor(2 * metrics.DefaultInterval)
	if e := h.evidence("a"); len(e.Metrics) != 3 || e.Metrics[0].Canary.Points == nil || e.MetricsState.Stale {
		t.Errorf("evidence after concurrent use: %+v", e)
	}
	if _, ok := h.p.Evidence("shop", "b"); ok {
		t.Error("a rollout that left the targets still has evidence")
	}
}

// slowDatadog takes a while to answer and counts the calls in flight.
type slowDatadog struct {
	*fakeDatadog
	mu               sync.Mutex
	inFlight, maxSet int
}

func (s *slowDatadog) QueryMetric(ctx context.Context, q metrics.MetricQuery) (metrics.Metric, error) {
	s.mu.Lock()
	s.inFlight++
	s.maxSet = max(s.maxSet, s.inFlight)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	return s.fakeDatadog.QueryMetric(ctx, q)
}

func TestPollerBoundsConcurrency(t *testing.T) {
	var slow *slowDatadog
	h := newHarness(t, func(o *metrics.PollerOptions) {
		slow = &slowDatadog{fakeDatadog: &fakeDatadog{clock: o.Clock.(*testingclock.FakeClock)}}
		o.Metrics, o.Concurrency = slow, 2
	})
	var targets []metrics.Target
	for i := range 5 {
		targets = append(targets, target(fmt.Sprintf("svc%d", i), true))
	}
	h.p.SetTargets(targets)
	for _, tg := range targets {
		h.p.Refresh(tg.Namespace, tg.Name)
	}
	h.settle()
	if n := slow.count(); n != 15 {
		t.Fatalf("%d calls, want 15", n)
	}
	if slow.maxSet != 2 {
		t.Errorf("at most %d calls in flight, want the bound of 2", slow.maxSet)
	}
}

func TestPollerCallBudget(t *testing.T) {
	h := newHarness(t, func(o *metrics.PollerOptions) { o.Config.Datadog.MaxCallsPerMinute = 6 })
	var targets []metrics.Target
	for i := range 4 {
		targets = append(targets, target(fmt.Sprintf("svc%d", i), true))
	}
	h.p.SetTargets(targets)
	// 4 rollouts × 3 metrics every 30s is 24 calls a minute; the budget
	// lets 6 through.
	for range 10 * 60 {
		h.clock.Step(time.Second)
		h.settleBudget()
	}
	// The budget grants at most 6 calls in any minute; a granted call may
	// reach the source a little later than granted, never earlier, so the
	// count over the whole span is what can be checked here (budget_test
	// checks the grants themselves).
	if n := h.dd.count(); n > 60 || n < 50 {
		t.Errorf("%d calls in 10 minutes with a budget of 6 a minute, want 50 to 60", n)
	}
}

// settleBudget waits a moment for calls released by the budget's timers.
func (h *harness) settleBudget() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n := h.dd.count()
		time.Sleep(300 * time.Microsecond)
		if h.dd.count() == n {
			return
		}
	}
}

func TestFetchOnce(t *testing.T) {
	h := newHarness(t, nil)
	tg := target("checkout", false)
	e := h.p.FetchOnce(context.Background(), tg)
	if len(e.Metrics) != 3 || e.MetricsState.Stale || !e.MetricsState.FetchedAt.Equal(start) || len(e.Errors) != 1 || e.Score != metrics.ScorePass {
		t.Errorf("FetchOnce = %+v", e)
	}
	if n, m := len(h.dd.callsOf("checkout", "")), len(h.bs.callsOf("checkout")); n != 3 || m != 1 {
		t.Errorf("FetchOnce made %d metric and %d Bugsnag calls, want 3 and 1", n, m)
	}
	if _, ok := h.p.Evidence("shop", "checkout"); ok {
		t.Error("FetchOnce stored evidence")
	}
	h.dd.setFail(func(string, string) error {
		return &metrics.SourceError{Source: "Datadog", Reason: "timed out after 10s"}
	})
	e = h.p.FetchOnce(context.Background(), tg)
	if !e.MetricsState.Stale || e.MetricsState.Reason != "timed out after 10s" || e.Metrics[0].Error != "timed out after 10s" || !e.MetricsState.RetryAt.IsZero() {
		t.Errorf("FetchOnce on failure = %+v", e)
	}
}

func TestNewPollerRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    metrics.PollerOptions
		want string
	}{
		{"no judge", metrics.PollerOptions{Config: metrics.Defaults()}, "metrics.PollerOptions.Judge is nil: pass judge.Judge{} from metrics/judge"},
		{"zero configuration", metrics.PollerOptions{Judge: judge.Judge{}}, "metrics: the configuration is not one Load returns (interval 0s, timeout 0s, window 0s, 0 metrics): start from metrics.Defaults()"},
		{"negative concurrency", metrics.PollerOptions{Config: metrics.Defaults(), Judge: judge.Judge{}, Concurrency: -1}, "metrics.PollerOptions.Concurrency is -1: give a positive bound, or 0 for 4"},
	}
	for _, tt := range tests {
		if _, err := metrics.NewPoller(tt.o); err == nil || err.Error() != tt.want {
			t.Errorf("%s: NewPoller error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// memoryDatadog answers every query with the same half hour of 10-second
// points, canary a little above stable.
type memoryDatadog struct {
	canary, stable metrics.Series
}

func newMemoryDatadog(points int) *memoryDatadog {
	m := &memoryDatadog{canary: metrics.Series{Found: true}, stable: metrics.Series{Found: true}}
	for i := range points {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		v := 1 + 0.2*float64(i%7)
		m.canary.Points = append(m.canary.Points, metrics.Point{Time: at, Value: v * 1.1})
		m.stable.Points = append(m.stable.Points, metrics.Point{Time: at, Value: v})
	}
	return m
}

func (m *memoryDatadog) QueryMetric(_ context.Context, q metrics.MetricQuery) (metrics.Metric, error) {
	return metrics.Metric{ID: q.ID, Canary: m.canary, Stable: m.stable}, nil
}

// One round of 50 progressing rollouts × 3 metrics of 180 points a side:
// the calls, the judge's 150 verdicts, the scores and the change notices.
func BenchmarkPollerRound50x3(b *testing.B) {
	h := newHarness(b, func(o *metrics.PollerOptions) {
		o.Metrics, o.Errors, o.ErrorsOff = newMemoryDatadog(180), nil, "off"
	})
	var targets []metrics.Target
	for i := range 50 {
		targets = append(targets, target(fmt.Sprintf("svc%02d", i), true))
	}
	h.p.SetTargets(targets)
	h.runFor(metrics.DefaultInterval)
	ctx := context.Background()
	if _, err := h.p.WaitChanged(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.clock.Step(metrics.DefaultInterval)
		h.p.Wake()
		seen := 0
		for seen < len(targets) {
			keys, err := h.p.WaitChanged(ctx)
			if err != nil {
				b.Fatal(err)
			}
			seen += len(keys)
		}
		h.settle()
	}
	b.StopTimer()
	if e := h.evidence("svc07"); len(e.Metrics) != 3 || e.Score == metrics.ScoreNoData {
		b.Fatalf("evidence after the rounds: %+v", e)
	}
}

// An error class new in the canary counts in the score: healthy metrics and
// a new error class score Fail (the default weight), with metrics stale
// too; weight 0 turns the rule off; stale errors count for nothing.
func TestPollerNewErrorRule(t *testing.T) {
	for _, tt := range []struct {
		name      string
		weight    int
		newError  bool
		staleDD   bool
		staleErrs bool
		want      metrics.Score
	}{
		{name: "healthy, no new error", weight: 3, want: metrics.ScorePass},
		{name: "healthy metrics, a new error class", weight: 3, newError: true, want: metrics.ScoreFail},
		{name: "the rule off", weight: 0, newError: true, want: metrics.ScorePass},
		{name: "weight 1: marginal", weight: 1, newError: true, want: metrics.ScoreMarginal},
		{name: "stale metrics, a new error class", weight: 3, newError: true, staleDD: true, want: metrics.ScoreFail},
		{name: "stale errors count for nothing", weight: 3, newError: true, staleErrs: true, want: metrics.ScorePass},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *metrics.PollerOptions) { o.Config.Judge.NewErrorWeight = tt.weight })
			if tt.newError {
				h.bs.newIn = map[string]bool{"checkout": true}
			}
			h.p.SetTargets([]metrics.Target{target("checkout", true)})
			h.runFor(metrics.DefaultInterval)
			if tt.staleDD {
				h.dd.setFail(func(string, string) error {
					return &metrics.SourceError{Source: "Datadog", Status: 403, Reason: "forbidden (403)", Permanent: true}
				})
			}
			if tt.staleErrs {
				h.bs.mu.Lock()
				h.bs.fail = func(string) error {
					return &metrics.SourceError{Source: "Bugsnag", Status: 403, Reason: "forbidden (403)", Permanent: true}
				}
				h.bs.mu.Unlock()
			}
			h.runFor(metrics.DefaultInterval)
			e := h.evidence("checkout")
			if e.Score != tt.want || e.NewErrors() != map[bool]int{true: 1, false: 0}[tt.newError] {
				t.Errorf("score %s with %d new errors (metrics stale %v, errors stale %v); want %s", e.Score, e.NewErrors(), e.MetricsState.Stale, e.ErrorsState.Stale, tt.want)
			}
		})
	}
}
