package metrics_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/internal/bugsnagserver"
	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/bugsnag"
	"github.com/roost-dev/roost/metrics/datadog"
	"github.com/roost-dev/roost/metrics/judge"
)

// v2Dense is a v2 timeseries answer of n points per side, canary at twice
// stable's value: what a fine rollup over a long window sends.
func v2Dense(n int, end time.Time) string {
	times := make([]int64, n)
	canary, stable := make([]float64, n), make([]float64, n)
	for i := range n {
		times[i] = end.Add(-time.Duration(n-i) * time.Second).UnixMilli()
		canary[i], stable[i] = 2, 1
	}
	body := map[string]any{"data": map[string]any{"type": "timeseries_response", "attributes": map[string]any{
		"series": []map[string]any{
			{"group_tags": []string{"kube_role:canary"}, "query_index": 0, "unit": nil},
			{"group_tags": []string{"kube_role:stable"}, "query_index": 0, "unit": nil},
		},
		"times":  times,
		"values": [][]float64{canary, stable},
	}}}
	b, _ := json.Marshal(body)
	return string(b)
}

// Every fault the in-repo Datadog server can play, as the cockpit sees it
// through the poller and the real client: never a healthy verdict on data
// that is not there, and fresh, judged evidence again once the fault ends.
func TestPollerThroughDatadogFaults(t *testing.T) {
	const interval = 10 * time.Second
	tests := []struct {
		name  string
		fault func(end time.Time) datadogserver.Fault
		// during checks the evidence while the fault lasts.
		during func(t *testing.T, e metrics.Evidence)
		// timeout bounds each call (0: the default).
		timeout time.Duration
	}{
		{
			name:    "a hang past the timeout",
			timeout: 300 * time.Millisecond,
			fault: func(end time.Time) datadogserver.Fault {
				return datadogserver.Fault{Delay: 1500 * time.Millisecond, Until: end}
			},
			during: func(t *testing.T, e metrics.Evidence) {
				if !e.MetricsState.Stale || !strings.Contains(e.MetricsState.Reason, "timed out after 300ms") || e.Score != metrics.ScoreNoData {
					t.Errorf("state %+v, score %s; want stale, timed out, no score", e.MetricsState, e.Score)
				}
			},
		},
		{
			name: "status: error inside a 200",
			fault: func(end time.Time) datadogserver.Fault {
				return datadogserver.Fault{QueryError: "query timed out", Until: end}
			},
			during: func(t *testing.T, e metrics.Evidence) {
				if !e.MetricsState.Stale || !strings.Contains(e.MetricsState.Reason, "query timed out") || e.Score != metrics.ScoreNoData {
					t.Errorf("state %+v, score %s; want stale with Datadog's message", e.MetricsState, e.Score)
				}
			},
		},
		{
			name:  "null points",
			fault: func(end time.Time) datadogserver.Fault { return datadogserver.Fault{AllNull: true, Until: end} },
			during: func(t *testing.T, e metrics.Evidence) {
				for _, m := range e.Metrics {
					if m.Verdict != metrics.VerdictNoData {
						t.Errorf("%s: verdict %s on null points, want NoData", m.ID, m.Verdict)
					}
				}
				if e.Score != metrics.ScoreNoData {
					t.Errorf("score %s on null points, want NoData", e.Score)
				}
			},
		},
		{
			name: "a series for a role nobody asked for",
			fault: func(end time.Time) datadogserver.Fault {
				return datadogserver.Fault{ExtraGroup: "kube_role:preview", Until: end}
			},
			during: func(t *testing.T, e metrics.Evidence) {
				m, _ := e.Headline("error_rate")
				if r, ok := m.Ratio(); e.MetricsState.Stale || !ok || r < 1.99 || r > 2.01 {
					t.Errorf("error rate ratio %v (%v), state %+v: the preview series must be left out", r, ok, e.MetricsState)
				}
			},
		},
		{
			name: "10,000-point series",
			fault: func(end time.Time) datadogserver.Fault {
				return datadogserver.Fault{Status: 200, Body: v2Dense(10_000, end), Until: end}
			},
			during: func(t *testing.T, e metrics.Evidence) {
				if e.MetricsState.Stale {
					t.Fatalf("state %+v", e.MetricsState)
				}
				for _, m := range e.Metrics {
					if len(m.Canary.Points) != datadog.MaxPoints || len(m.Stable.Points) != datadog.MaxPoints {
						t.Errorf("%s keeps %d/%d points, want the newest %d", m.ID, len(m.Canary.Points), len(m.Stable.Points), datadog.MaxPoints)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testingclock.NewFakeClock(time.Now())
			w := newWireTimeout(t, 1, interval, c, tt.timeout)
			h := &harness{t: t, clock: c, p: w.poller}
			w.poller.SetTargets(wireTargets(1, 0, c.Now()))
			h.runFor(interval)
			end := c.Now().Add(interval)
			w.dd.InjectFault(tt.fault(end))
			h.runFor(interval - time.Second)
			tt.during(t, h.evidence("svc-00"))

			// The fault is over: fresh and judged within an interval.
			w.dd.ClearFaults()
			h.runFor(2 * interval)
			e := h.evidence("svc-00")
			m, _ := e.Headline("error_rate")
			if r, ok := m.Ratio(); e.MetricsState.Stale || e.MetricsState.FetchedAt.Before(end) || !ok || r < 1.99 || r > 2.01 {
				t.Errorf("after the fault: state %+v, error rate ratio %v (%v); want fresh, 2×", e.MetricsState, r, ok)
			}
		})
	}
}

// Bugsnag's faults as the cockpit sees them through the poller and the real
// client: a body that is not JSON is stale with the reason, never "no
// errors"; an empty list is fresh and empty; the errors come back fresh
// once the fault ends. (Pages followed through Link are
// metrics/bugsnag's TestCanaryErrorsFollowsPages.)
func TestPollerThroughBugsnagFaults(t *testing.T) {
	const project, token = "5f3c9a1b2d4e6f7a8b9c0d1e", "bugsnag-token"
	c := testingclock.NewFakeClock(time.Now())
	srv := bugsnagserver.New(bugsnagserver.Options{
		Projects:   []bugsnagserver.Project{{ID: project, Name: "Shop", APIKey: "0123456789abcdef0123456789abcdef"}},
		AuthTokens: []string{token}, Now: c.Now,
	})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	client, err := bugsnag.New(bugsnag.Options{Token: bugsnag.Token(token), Address: hs.URL, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := metrics.Defaults()
	cfg.Datadog.Interval = 10 * time.Second
	p, err := metrics.NewPoller(metrics.PollerOptions{Config: cfg, Errors: client, MetricsOff: "Datadog is off in this test", Judge: judge.Judge{}, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h := &harness{t: t, clock: c, p: p}
	p.SetTargets([]metrics.Target{{Namespace: "shop", Name: "cart", Poll: true, Since: c.Now().Add(-time.Minute),
		Annotations: map[string]string{metrics.AnnotationBugsnagProject: project}}})

	h.runFor(cfg.Datadog.Interval)
	if e := h.evidence("cart"); e.ErrorsState.Stale || e.ErrorsState.FetchedAt.IsZero() || len(e.Errors) != 0 {
		t.Fatalf("an empty list: %+v, %d errors; want fresh and empty", e.ErrorsState, len(e.Errors))
	}
	srv.Inject(bugsnagserver.Fault{Path: "/projects/", Times: 1000, Status: 200, Body: `[{"id": "a", "error_class":`})
	h.runFor(cfg.Datadog.Interval)
	if e := h.evidence("cart"); !e.ErrorsState.Stale || e.ErrorsState.Reason == "" {
		t.Errorf("malformed JSON: %+v; want stale with the reason", e.ErrorsState)
	}
	srv.ClearFaults()
	before := c.Now()
	h.runFor(cfg.Datadog.Interval)
	if e := h.evidence("cart"); e.ErrorsState.Stale || e.ErrorsState.FetchedAt.Before(before) {
		t.Errorf("after the fault: %+v; want fresh", e.ErrorsState)
	}
}
