package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-dev/roost/metrics"
)

// Every metric links to its graph over the window it was queried for, a
// failed one too; without an app the evidence says why there are no links.
func TestPollerLinksMetrics(t *testing.T) {
	h := newHarness(t, func(o *metrics.PollerOptions) { o.DatadogApp = "https://app.datadoghq.eu" })
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.dd.setFail(func(_, metric string) error {
		if metric == "latency_p95" {
			return &metrics.SourceError{Source: "Datadog", Status: 500, Reason: "Datadog failed (500)"}
		}
		return nil
	})
	h.runFor(time.Second)
	ev := h.evidence("checkout")
	if len(ev.Metrics) != 3 || ev.MetricLinksOff != "" {
		t.Fatalf("evidence %+v", ev)
	}
	call := h.dd.callsOf("checkout", "error_rate")[0]
	want := fmt.Sprintf("https://app.datadoghq.eu/metric/explorer?fromUser=false&start=%d&end=%d&paused=true#", call.from.UnixMilli(), call.to.UnixMilli())
	for _, m := range ev.Metrics {
		if !strings.HasPrefix(m.Link, want) || len(m.Link) <= len(want) {
			t.Errorf("%s links to %q, want the explorer over the window queried (%s)", m.ID, m.Link, want)
		}
	}
	if ev.Metrics[2].Error == "" {
		t.Errorf("latency_p95 did not fail: %+v", ev.Metrics[2])
	}

	off := newHarness(t, func(o *metrics.PollerOptions) {
		o.DatadogLinksOff = "no Datadog links: roost reads Datadog through http://127.0.0.1:1"
	})
	off.p.SetTargets([]metrics.Target{target("checkout", true)})
	off.runFor(time.Second)
	ev = off.evidence("checkout")
	if ev.MetricLinksOff == "" || ev.Metrics[0].Link != "" {
		t.Errorf("without an app: links off %q, first link %q", ev.MetricLinksOff, ev.Metrics[0].Link)
	}
}

// detailBugsnag is fakeBugsnag that also reads events and names the
// dashboard.
type detailBugsnag struct {
	*fakeBugsnag
	mu      sync.Mutex
	asked   []string
	failing error
}

func (d *detailBugsnag) LatestEvent(_ context.Context, q metrics.ErrorQuery, id string) (metrics.ErrorDetail, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, q.Project+"/"+id)
	if d.failing != nil {
		return metrics.ErrorDetail{}, d.failing
	}
	return metrics.ErrorDetail{ErrorID: id, EventID: "ev1", ReleaseStage: q.CanaryStage,
		Exceptions: []metrics.Exception{{Class: "NoMethodError", Message: "undefined method 'price' for nil"}}}, nil
}

func (d *detailBugsnag) ErrorsURL(q metrics.ErrorQuery) string {
	return "https://app.bugsnag.example/" + q.Project + "/errors?since=" + q.Since.Format(time.RFC3339)
}

func (d *detailBugsnag) calls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.asked)
}

// An error's latest event is one call through the poller, for the rollout's
// project; a 429 holds the polls too, and no call goes out during a hold.
func TestPollerErrorDetail(t *testing.T) {
	var bs *detailBugsnag
	h := newHarness(t, func(o *metrics.PollerOptions) {
		bs = &detailBugsnag{fakeBugsnag: o.Errors.(*fakeBugsnag)}
		o.Errors = bs
	})
	h.p.SetTargets([]metrics.Target{target("checkout", true)})
	h.runFor(time.Second)
	if got, want := h.evidence("checkout").ErrorsURL, "https://app.bugsnag.example/checkout/errors?since="+start.Add(-time.Hour).Format(time.RFC3339); got != want {
		t.Errorf("ErrorsURL %q, want %q", got, want)
	}

	d, err := h.p.ErrorDetail(context.Background(), "shop", "checkout", "e-checkout")
	if err != nil || d.ErrorID != "e-checkout" || d.ReleaseStage != "canary" || len(d.Exceptions) != 1 {
		t.Fatalf("ErrorDetail: %+v, %v", d, err)
	}
	if bs.asked[0] != "checkout/e-checkout" {
		t.Errorf("asked %v, want the rollout's project", bs.asked)
	}
	if _, err := h.p.ErrorDetail(context.Background(), "shop", "gone", "e1"); err == nil || !strings.Contains(err.Error(), "no longer follows shop/gone") {
		t.Errorf("an unknown rollout: %v", err)
	}

	bs.mu.Lock()
	bs.failing = &metrics.SourceError{Source: "Bugsnag", Status: 429, Reason: "rate limited (429); retrying in 1m", RetryAfter: time.Minute}
	bs.mu.Unlock()
	if _, err := h.p.ErrorDetail(context.Background(), "shop", "checkout", "e-checkout"); err == nil {
		t.Fatal("a 429 was no error")
	}
	asked := bs.calls()
	_, err = h.p.ErrorDetail(context.Background(), "shop", "checkout", "e-checkout")
	se, ok := metrics.AsSourceError(err)
	if !ok || se.RetryAfter != time.Minute || !strings.Contains(se.Reason, "rate limited") || bs.calls() != asked {
		t.Errorf("during the hold: %v (%d calls, want %d), want the hold's reason and no call", err, bs.calls(), asked)
	}
	// The next poll of the errors comes due within the minute: it waits.
	polls := len(h.bs.callsOf("checkout"))
	h.runFor(55 * time.Second)
	if n := len(h.bs.callsOf("checkout")); n != polls {
		t.Errorf("%d error polls during Bugsnag's hold, want none", n-polls)
	}
	if st := h.evidence("checkout").ErrorsState; !st.Stale || !strings.Contains(st.Reason, "rate limited") {
		t.Errorf("errors during the hold: %+v, want stale with the reason", st)
	}
}
