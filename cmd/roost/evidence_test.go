package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bugsnaggo "github.com/bugsnag/bugsnag-go/v2"

	"github.com/roost-dev/roost/internal/bugsnagserver"
	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/metrics"
)

const (
	testProject   = "5f3c2a1b0e9d8c7b6a5f4e3d"
	testNotifyKey = "0123456789abcdef0123456789abcdef"
)

// evidenceWorld is Datadog and Bugsnag as the in-repo servers play them,
// with the configuration and environment that point roost at them.
type evidenceWorld struct {
	dd      *datadogserver.Server
	bs      *bugsnagserver.Server
	bsURL   string
	config  string
	canary  *bugsnaggo.Notifier
	stable  *bugsnaggo.Notifier
	started time.Time
}

func newEvidenceWorld(t *testing.T) *evidenceWorld {
	t.Helper()
	w := &evidenceWorld{started: time.Now()}
	w.dd = datadogserver.New(datadogserver.Options{APIKey: "dd-api-key-for-tests", AppKey: "dd-app-key-for-tests"})
	ddHTTP := httptest.NewServer(w.dd.Handler())
	t.Cleanup(ddHTTP.Close)
	w.bs = bugsnagserver.New(bugsnagserver.Options{
		Projects:   []bugsnagserver.Project{{ID: testProject, Name: "shop", APIKey: testNotifyKey}},
		AuthTokens: []string{"bugsnag-token-for-tests"},
	})
	bsHTTP := httptest.NewServer(w.bs.Handler())
	t.Cleanup(bsHTTP.Close)
	w.bsURL = bsHTTP.URL

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "roost"), 0o700); err != nil {
		t.Fatal(err)
	}
	w.config = filepath.Join(dir, "roost", "config.yaml")
	cfg := fmt.Sprintf("datadog:\n  address: %s\nbugsnag:\n  address: %s\n  project: %s\n", ddHTTP.URL, bsHTTP.URL, testProject)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("DD_API_KEY", "dd-api-key-for-tests")
	t.Setenv("DD_APP_KEY", "dd-app-key-for-tests")
	t.Setenv("DD_SITE", "")
	t.Setenv("BUGSNAG_AUTH_TOKEN", "bugsnag-token-for-tests")
	w.canary, w.stable = w.notifier("canary"), w.notifier("stable")
	return w
}

// notifier is bugsnag-go as a pod of that release stage configures it.
func (w *evidenceWorld) notifier(stage string) *bugsnaggo.Notifier {
	return bugsnaggo.New(bugsnaggo.Configuration{
		APIKey: testNotifyKey, ReleaseStage: stage, AppVersion: "2",
		Endpoints:    bugsnaggo.Endpoints{Notify: w.bsURL + "/notify", Sessions: w.bsURL + "/sessions"},
		Synchronous:  true,
		PanicHandler: func() {},
		Logger:       log.New(io.Discard, "", 0),
	})
}

// traffic feeds ten minutes of APM metrics of service cart: the canary
// serves 10 requests a 10 s with 1 error and 300 ms p95, stable 100 with 1
// error and 100 ms.
func (w *evidenceWorld) traffic() {
	for i := 0; i < 60; i++ {
		at := w.started.Add(-time.Duration(i) * 10 * time.Second)
		for _, side := range []struct {
			role         string
			hits, errors float64
			latency      float64
		}{{"canary", 10, 1, 0.3}, {"stable", 100, 1, 0.1}} {
			tags := []string{"service:cart", "env:prod", "kube_role:" + side.role}
			w.dd.Add("trace.http.request.hits", tags, at, side.hits)
			w.dd.Add("trace.http.request.errors", tags, at, side.errors)
			for range 20 {
				w.dd.AddDistribution("trace.http.request", tags, at, side.latency)
			}
		}
	}
}

type priceMissing struct{}

func (priceMissing) Error() string { return "price of sku-42 is missing" }

type searchTimeout struct{}

func (searchTimeout) Error() string { return "search timed out" }

func TestGetShowsTheCanarysEvidence(t *testing.T) {
	w := newEvidenceWorld(t)
	w.traffic()
	// Both stages run the same code: an error thrown at the same line is
	// one Bugsnag error, seen in both stages.
	report := func(n *bugsnaggo.Notifier, err error, user string) {
		if err := n.Notify(err, bugsnaggo.User{Id: user}); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"u1", "u2", "u3"} {
		report(w.canary, priceMissing{}, user)
	}
	report(w.stable, searchTimeout{}, "u9")
	report(w.canary, searchTimeout{}, "u4")

	c := shopCluster()
	w.dd.ResetRequests()
	out, errOut, code := c.run(t, "get", "cart", "-o", "json")
	if code != 0 {
		t.Fatalf("get -o json: code %d, %s", code, errOut)
	}
	var got struct {
		Name     string           `json:"Name"`
		Evidence metrics.Evidence `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	ev := got.Evidence
	if got.Name != "cart" || ev.MetricsOff != "" || ev.ErrorsOff != "" || ev.MetricsState.Stale || ev.ErrorsState.Stale {
		t.Fatalf("evidence of %q is off or stale: %+v", got.Name, ev)
	}
	want := map[string][2]float64{
		"requests":    {0.2, 2},   // per second and ready pod: 10 and 100 requests every 10 s, 5 pods a side
		"error_rate":  {10, 1},    // percent
		"latency_p95": {300, 100}, // ms
	}
	if len(ev.Metrics) != len(want) {
		t.Fatalf("%d metrics, want %d: %+v", len(ev.Metrics), len(want), ev.Metrics)
	}
	for _, m := range ev.Metrics {
		canary, okC := m.Canary.Latest()
		stable, okS := m.Stable.Latest()
		w := want[m.ID]
		if !okC || !okS || math.Abs(canary.Value-w[0]) > w[0]*0.01 || math.Abs(stable.Value-w[1]) > w[1]*0.01 {
			t.Errorf("%s: canary %v (%v), stable %v (%v); want %v and %v (error %q)", m.ID, canary.Value, okC, stable.Value, okS, w[0], w[1], m.Error)
		}
	}
	if m, _ := ev.Headline("error_rate"); m.Verdict != metrics.VerdictHigh {
		t.Errorf("error rate 10%% against 1%% judged %s, want High", m.Verdict)
	}
	if ev.Score != metrics.ScoreFail {
		t.Errorf("score %s, want Fail", ev.Score)
	}
	// One request per metric, on the v2 API by default.
	if n := len(w.dd.Requests()); n != 3 {
		t.Errorf("%d Datadog requests for 3 metrics, want 3", n)
	}

	if len(ev.Errors) != 2 {
		t.Fatalf("%d canary errors, want 2: %+v", len(ev.Errors), ev.Errors)
	}
	byNew := map[bool]metrics.Error{}
	for _, e := range ev.Errors {
		byNew[e.New] = e
	}
	if e := byNew[true]; !strings.Contains(e.Class, "priceMissing") || e.Events != 3 || e.Users != 3 {
		t.Errorf("new in canary: %+v; want priceMissing, 3 events of 3 users", e)
	}
	if e := byNew[false]; !strings.Contains(e.Class, "searchTimeout") || e.Events != 1 {
		t.Errorf("seen in stable too: %+v; want searchTimeout with 1 canary event", e)
	}

	// The text form says the same.
	out, _, _ = c.run(t, "get", "cart")
	for _, s := range []string{"error rate", "10%", "1%", "High", "score: Fail", "new", "priceMissing"} {
		if !strings.Contains(out, s) {
			t.Errorf("roost get cart does not show %q:\n%s", s, out)
		}
	}
}

func TestGetSaysWhyEvidenceIsOff(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("DD_API_KEY", "")
	t.Setenv("DD_APP_KEY", "only-the-app-key")
	t.Setenv("BUGSNAG_AUTH_TOKEN", "")
	out, _, code := shopCluster().run(t, "get", "cart", "-o", "json")
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	var got struct {
		Evidence metrics.Evidence `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Evidence.MetricsOff, "DD_API_KEY") || strings.Contains(out, "only-the-app-key") {
		t.Errorf("metrics off: %q (the key must never show)", got.Evidence.MetricsOff)
	}
	if !strings.Contains(got.Evidence.ErrorsOff, "BUGSNAG_AUTH_TOKEN") {
		t.Errorf("errors off: %q", got.Evidence.ErrorsOff)
	}
}
