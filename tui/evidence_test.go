package tui

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/datadog"
	"github.com/roost-dev/roost/metrics/judge"
	"github.com/roost-dev/roost/watch"
)

// The detail view shows what the in-repo Datadog server was fed, through
// the poller and the real client: canary and stable side by side, and the
// ratio that matters.
func TestDetailShowsDatadogNumbers(t *testing.T) {
	dd := datadogserver.New(datadogserver.Options{APIKey: "api-key", AppKey: "app-key"})
	srv := httptest.NewServer(dd.Handler())
	defer srv.Close()
	now := time.Now()
	for i := 0; i < 30; i++ {
		at := now.Add(-time.Duration(i) * 20 * time.Second)
		for _, side := range []struct {
			role               string
			hits, errs, second float64
		}{{"canary", 20, 1, 0.25}, {"stable", 80, 1, 0.125}} {
			tags := []string{"service:front", "kube_role:" + side.role}
			dd.Add("trace.http.request.hits", tags, at, side.hits)
			dd.Add("trace.http.request.errors", tags, at, side.errs)
			dd.AddDistribution("trace.http.request", tags, at, side.second)
		}
	}
	client, err := datadog.New(datadog.Options{Credentials: datadog.Credentials{APIKey: "api-key", AppKey: "app-key", Address: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	poller, err := metrics.NewPoller(metrics.PollerOptions{Config: metrics.Defaults(), Metrics: client, ErrorsOff: "Bugsnag is not configured in this test", Judge: judge.Judge{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go poller.Run(ctx)

	// web/front has a canary under way: the poller polls it.
	rollouts := fixtureRollouts()
	for _, r := range rollouts {
		if r.Canary != nil {
			r.Canary.Created = now.Add(-20 * time.Minute)
		}
	}
	m := New(ctx, Options{
		Rollouts: &staticRollouts{list: rollouts}, Evidence: poller, Headline: "error_rate",
		Theme: dark(t), Now: time.Now,
	})
	d := newDriver(t, m)
	d.update(deliveryOf(m.opt.Rollouts, watch.Changes{}))
	d.press("/", "f", "r", "o", "n", "t", "enter", "enter")
	// The first poll of a rollout comes within the interval; R asks now.
	d.until(5*time.Second, "waiting for the first answer")
	d.press("R")
	// Error rate 5% against 1.25%: four times; p95 250 ms against 125 ms.
	d.until(20*time.Second, "web/front", "Metrics, Datadog", "updated", "5.00%", "1.25%", "4.0×", "250ms", "125ms", "2.0×", "HIGH", "score Fail")
	d.press("backspace", "/", "ctrl+c")
	d.until(5*time.Second, "ERR×", "4.0×")
}
