package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/datadog"
	"github.com/roost-dev/roost/metrics/judge"
)

// wire is the poller on the real Datadog client against the in-repo Datadog
// server, with traffic for services svc-00 to svc-NN up to clk's time; the
// poller and the server both keep clk's time.
type wire struct {
	dd     *datadogserver.Server
	poller *metrics.Poller
	cancel context.CancelFunc
	done   chan struct{}
}

func newWire(tb testing.TB, services int, interval time.Duration, clk clock.WithTicker) *wire {
	tb.Helper()
	return newWireTimeout(tb, services, interval, clk, 0)
}

// newWireTimeout is newWire whose calls give up after timeout (0: the
// default).
func newWireTimeout(tb testing.TB, services int, interval time.Duration, clk clock.WithTicker, timeout time.Duration) *wire {
	tb.Helper()
	dd := datadogserver.New(datadogserver.Options{APIKey: "api-key", AppKey: "app-key", Clock: clk, RateLimit: datadogserver.RateLimit{Limit: 100000, Period: time.Hour}})
	srv := httptest.NewServer(dd.Handler())
	tb.Cleanup(srv.Close)
	now := clk.Now()
	for s := 0; s < services; s++ {
		for i := 0; i < 30; i++ {
			at := now.Add(-time.Duration(i) * 20 * time.Second)
			for role, errs := range map[string]float64{"canary": 2, "stable": 1} {
				tags := []string{fmt.Sprintf("service:svc-%02d", s), "kube_role:" + role}
				dd.Add("trace.http.request.hits", tags, at, 100)
				dd.Add("trace.http.request.errors", tags, at, errs)
				dd.AddDistribution("trace.http.request", tags, at, 0.1)
			}
		}
	}
	client, err := datadog.New(datadog.Options{Credentials: datadog.Credentials{APIKey: "api-key", AppKey: "app-key", Address: srv.URL}, Clock: clk, Interval: interval, Timeout: timeout})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := metrics.Defaults()
	cfg.Datadog.Interval = interval
	if timeout > 0 {
		cfg.Datadog.Timeout = timeout
	}
	p, err := metrics.NewPoller(metrics.PollerOptions{Config: cfg, Metrics: client, ErrorsOff: "Bugsnag is off in this test", Judge: judge.Judge{}, Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &wire{dd: dd, poller: p, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(w.done); p.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-w.done })
	return w
}

func wireTargets(progressing, healthy int, now time.Time) []metrics.Target {
	var out []metrics.Target
	for i := 0; i < progressing+healthy; i++ {
		out = append(out, metrics.Target{
			Namespace: "shop", Name: fmt.Sprintf("svc-%02d", i), Poll: i < progressing,
			Since: now.Add(-10 * time.Minute),
		})
	}
	return out
}

var queryService = regexp.MustCompile(`service:(svc-\d+)`)

// requestsByService counts the Datadog requests per service.
func (w *wire) requestsByService() map[string]int {
	out := map[string]int{}
	for _, r := range w.dd.Requests() {
		for _, q := range r.Queries {
			if m := queryService.FindStringSubmatch(q); m != nil {
				out[m[1]]++
				break
			}
		}
	}
	return out
}

// Over HTTP, with the real client: one request per metric per polled
// rollout per interval, none for healthy rollouts. The calls are real; the
// time between them is the fake clock's.
func TestPollerRequestsOverTheWire(t *testing.T) {
	const progressing, healthy = 50, 10
	interval := 5 * time.Second // the shortest the configuration allows
	c := testingclock.NewFakeClock(time.Now())
	w := newWire(t, progressing+healthy, interval, c)
	w.dd.ResetRequests()
	began := c.Now()
	w.poller.SetTargets(wireTargets(progressing, healthy, began))
	// Two intervals, then stop before a third round can start; the harness
	// moves the clock from one due poll to the next.
	h := &harness{t: t, clock: c, p: w.poller}
	h.runFor(2*interval - interval/4)
	w.cancel()
	<-w.done
	elapsed := c.Since(began)
	counts := w.requestsByService()
	rounds := int(elapsed / interval)
	// Each round of a rollout is its 3 metrics; rounds are spread over the
	// interval, so in the last, partial interval some rollouts had theirs.
	for i := 0; i < progressing+healthy; i++ {
		svc := fmt.Sprintf("svc-%02d", i)
		got := counts[svc]
		switch {
		case i >= progressing && got != 0:
			t.Errorf("healthy %s: %d requests, want 0", svc, got)
		case i < progressing && (got%3 != 0 || got < 3*rounds || got > 3*(rounds+1)):
			t.Errorf("%s: %d requests in %s (%d intervals of %s), want 3 a round", svc, got, elapsed.Round(time.Millisecond), rounds, interval)
		}
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d Datadog requests in %s for %d progressing and %d healthy rollouts, 3 metrics each, every %s",
		total, elapsed.Round(time.Millisecond), progressing, healthy, interval)
	for i := 0; i < progressing; i++ {
		e, ok := w.poller.Evidence("shop", fmt.Sprintf("svc-%02d", i))
		if !ok || e.MetricsState.Stale || len(e.Metrics) != 3 {
			t.Fatalf("svc-%02d: evidence %+v", i, e)
		}
		m, _ := e.Headline("error_rate")
		if r, ok := m.Ratio(); !ok || r < 1.99 || r > 2.01 {
			t.Errorf("svc-%02d error rate ratio %v (%v), want 2", i, r, ok)
		}
	}
}

// A 20-second run of 500s (a 10 s interval, 3 rollouts of 3 metrics):
// roost keeps trying every few seconds, never more than an interval
// apart, shows the evidence stale meanwhile, and is fresh again within one
// interval of the recovery, with no wall-clock sleep.
func TestPollerRecoversFromADatadogBlip(t *testing.T) {
	const services = 3
	interval := 10 * time.Second
	c := testingclock.NewFakeClock(time.Now())
	w := newWire(t, services, interval, c)
	h := &harness{t: t, clock: c, p: w.poller}
	w.poller.SetTargets(wireTargets(services, 0, c.Now()))
	h.runFor(interval)
	for i := range services {
		if e := h.evidence(fmt.Sprintf("svc-%02d", i)); e.MetricsState.Stale || e.MetricsState.FetchedAt.IsZero() {
			t.Fatalf("svc-%02d before the blip: %+v", i, e.MetricsState)
		}
	}

	blip := c.Now()
	recovered := blip.Add(20 * time.Second)
	w.dd.InjectFault(datadogserver.Fault{Status: 500, Until: recovered})
	w.dd.ResetRequests()
	h.runFor(15 * time.Second)
	for i := range services {
		st := h.evidence(fmt.Sprintf("svc-%02d", i)).MetricsState
		if !st.Stale || !st.FetchedAt.Before(blip) || st.RetryAt.Sub(c.Now()) > interval {
			t.Errorf("svc-%02d during the blip: %+v; want stale, its old data, a next try within an interval", i, st)
		}
	}
	h.runFor(recovered.Sub(c.Now()))
	during := len(w.dd.Requests())
	h.runFor(interval)
	for i := range services {
		st := h.evidence(fmt.Sprintf("svc-%02d", i)).MetricsState
		if st.Stale || st.FetchedAt.Before(recovered) {
			t.Errorf("svc-%02d one interval after the recovery: %+v; want fresh", i, st)
		}
	}
	// Normal load is 3 rollouts × 3 metrics every 10 s: 18 requests in
	// 20 s. Retrying sooner may cost a few times that, never a flood.
	if during < services*3 || during > 6*services*3*2 {
		t.Errorf("%d requests during the 20 s blip, want between %d and %d", during, services*3, 6*services*3*2)
	}
	t.Logf("%d requests during a 20 s blip of 500s; fresh again within %s of the recovery", during, interval)
}

// BenchmarkRefresh50 is one refresh of 50 progressing rollouts, 3 metrics
// each, over HTTP with the real client: from asking to the last rollout's
// evidence being fresh.
func BenchmarkRefresh50(b *testing.B) {
	const n = 50
	w := newWire(b, n, time.Hour, clock.RealClock{})
	w.poller.SetTargets(wireTargets(n, 0, time.Now()))
	fresh := func(since time.Time) bool {
		for i := 0; i < n; i++ {
			e, ok := w.poller.Evidence("shop", fmt.Sprintf("svc-%02d", i))
			if !ok || e.MetricsState.FetchedAt.Before(since) {
				return false
			}
		}
		return true
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		asked := time.Now()
		for i := 0; i < n; i++ {
			w.poller.Refresh("shop", fmt.Sprintf("svc-%02d", i))
		}
		for !fresh(asked) {
			if _, err := w.poller.WaitChanged(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(w.dd.Requests()))/float64(b.N), "requests/refresh")
}
