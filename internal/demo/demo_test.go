package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/bugsnag"
	"github.com/roost-dev/roost/metrics/datadog"
	"github.com/roost-dev/roost/metrics/judge"
)

// running is the world of a scenario, played with roost's real reconciler
// and its analysis runs (as the cockpit runs them: the Datadog provider at
// the demo's server, with the demo's keys) until the test ends.
func running(t *testing.T, o Options) *World {
	t.Helper()
	w, stop := play(t, o)
	t.Cleanup(stop)
	return w
}

// play is the world of a scenario played as running's is, until stop.
func play(t testing.TB, o Options) (w *World, stop func()) {
	t.Helper()
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.Metrics()
	creds, err := datadog.ResolveCredentials(context.Background(), datadog.CredentialConfig{Address: cfg.Datadog.Address, Getenv: w.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	dd, err := datadog.NewAnalysisProvider(datadog.AnalysisOptions{
		Kube: w.Cluster.Kube, Namespace: "roost-system", Fallback: &creds,
		LookupEnv: func(k string) (string, bool) { v := w.Getenv(k); return v, v != "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := controller.New(controller.Config{
		Kube: w.Cluster.Kube, Dynamic: w.Cluster.Dynamic,
		AnalysisRuns: true, Providers: analysis.Providers{Datadog: dd},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	worldDone, ctrlDone := make(chan error, 1), make(chan error, 1)
	go func() { worldDone <- w.Run(ctx) }()
	go func() { ctrlDone <- ctrl.Run(ctx, 2) }()
	return w, func() {
		cancel()
		if err := <-worldDone; err != nil {
			t.Errorf("world: %v", err)
		}
		if err := <-ctrlDone; err != nil {
			t.Errorf("reconciler: %v", err)
		}
	}
}

// poller reads the world's evidence as the cockpit does: roost's
// production Datadog and Bugsnag clients, configured with the world's
// Metrics and Getenv only.
func poller(t *testing.T, w *World) *metrics.Poller {
	t.Helper()
	ctx := context.Background()
	cfg := w.Metrics()
	creds, err := datadog.ResolveCredentials(ctx, datadog.CredentialConfig{Address: cfg.Datadog.Address, Getenv: w.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	dd, err := datadog.New(datadog.Options{Credentials: creds, API: cfg.Datadog.API, Timeout: cfg.Datadog.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	token, err := bugsnag.LoadToken(ctx, w.Getenv, nil, cfg.Bugsnag.Secret)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := bugsnag.New(bugsnag.Options{Token: token, Address: cfg.Bugsnag.Address})
	if err != nil {
		t.Fatal(err)
	}
	p, err := metrics.NewPoller(metrics.PollerOptions{Config: cfg, Metrics: dd, Errors: bs, Judge: judge.Judge{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// canary is a rollout with its canary's start, as the cockpit targets it.
func canary(t *testing.T, w *World, ns, name string) (*v1alpha1.Rollout, metrics.Target, int32) {
	t.Helper()
	ctx := context.Background()
	u, err := w.Cluster.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, errs := v1alpha1.FromUnstructured(u)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	target := metrics.Target{Namespace: ns, Name: name, Annotations: r.Annotations, TemplateLabels: r.Spec.Template.Labels, Poll: true}
	rss, err := w.Cluster.Kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		t.Fatal(err)
	}
	var ready int32
	for _, rs := range rss.Items {
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == r.Status.CurrentPodHash && r.Status.CurrentPodHash != r.Status.StableRS {
			target.Since = rs.CreationTimestamp.Time
			ready = rs.Status.ReadyReplicas
		}
	}
	return r, target, ready
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(ev metrics.Evidence) string {
	var b strings.Builder
	for _, m := range ev.Metrics {
		c, _ := m.Canary.Latest()
		s, _ := m.Stable.Latest()
		fmt.Fprintf(&b, "%s canary %.4g stable %.4g %s %s; ", m.ID, c.Value, s.Value, m.Verdict, m.Error)
	}
	for _, e := range ev.Errors {
		fmt.Fprintf(&b, "error %s new=%v events=%d; ", e.Class, e.New, e.Events)
	}
	fmt.Fprintf(&b, "metrics %+v errors %+v off %q %q", ev.MetricsState, ev.ErrorsState, ev.MetricsOff, ev.ErrorsOff)
	return b.String()
}

func metric(ev metrics.Evidence, id string) (metrics.Metric, bool) {
	for _, m := range ev.Metrics {
		if m.ID == id {
			return m, true
		}
	}
	return metrics.Metric{}, false
}

// The default scenario, in real time, read through roost's own clients and
// judge: the good canary waits at 20% and looks like stable; the bad one
// climbs, fails the judge and throws an error stable never threw (about 30 s
// in); the healthy one is left alone. The waits bound when the scenario's
// events come with room for a machine busy with the other packages' tests:
// they are not figures of speed.
func TestDefaultScenarioThroughRoostsClients(t *testing.T) {
	w := running(t, Options{Seed: 11})
	p := poller(t, w)
	ctx := context.Background()

	var checkout metrics.Target
	eventually(t, 20*time.Second, "checkout paused at 20% with 2 Ready canary pods", func() (bool, string) {
		r, target, ready := canary(t, w, "shop", "checkout")
		checkout = target
		idx := ptr.Deref(r.Status.CurrentStepIndex, -1)
		return idx == 1 && r.Status.Phase == v1alpha1.PhasePaused && len(r.Status.PauseConditions) == 1 && ready == 2 && !target.Since.IsZero(),
			fmt.Sprintf("step %d phase %s pauses %d ready canary pods %d", idx, r.Status.Phase, len(r.Status.PauseConditions), ready)
	})

	// The healthy rollouts took no canary (the first new version comes
	// after RevisionEvery).
	r, target, _ := canary(t, w, "shop", "cart")
	if r.Status.Phase != v1alpha1.PhaseHealthy || !target.Since.IsZero() {
		t.Errorf("shop/cart is %s with a canary since %s; want Healthy without one", r.Status.Phase, target.Since)
	}

	var ledger metrics.Target
	eventually(t, 2*time.Minute, "ledger's canary fails the judge with a new error", func() (bool, string) {
		_, ledger, _ = canary(t, w, "payments", "ledger")
		if ledger.Since.IsZero() {
			return false, "no canary yet"
		}
		ev := p.FetchOnce(ctx, ledger)
		rate, _ := metric(ev, "error_rate")
		newError := false
		for _, e := range ev.Errors {
			newError = newError || e.New && e.Class == "ledger.UnbalancedEntryError"
		}
		return rate.Verdict == metrics.VerdictHigh && ev.Score == metrics.ScoreFail && newError, describe(ev)
	})

	// The good canary reads like stable once there are points enough to
	// judge: error rate and latency pass, requests are only lower (2 pods
	// against 8), and nothing is new.
	eventually(t, 60*time.Second, "checkout's good canary passes", func() (bool, string) {
		ev := p.FetchOnce(ctx, checkout)
		if ev.MetricsState.Stale || ev.ErrorsState.Stale || len(ev.Metrics) != 3 || ev.Score == metrics.ScoreFail {
			return false, describe(ev)
		}
		for _, e := range ev.Errors {
			if e.New {
				t.Fatalf("checkout's good canary threw a new error: %s", describe(ev))
			}
		}
		for _, m := range ev.Metrics {
			if m.Verdict == metrics.VerdictHigh {
				t.Fatalf("checkout's good canary is high on %s: %s", m.ID, describe(ev))
			}
		}
		rate, _ := metric(ev, "error_rate")
		latency, _ := metric(ev, "latency_p95")
		requests, _ := metric(ev, "requests")
		share, ok := requests.Ratio()
		return rate.Verdict == metrics.VerdictPass && latency.Verdict == metrics.VerdictPass && ok && share > 0.2 && share < 0.3, describe(ev)
	})

	// Printing the world shows where it listens, never a key.
	shown := fmt.Sprintf("%v %+v %#v %s", w, w, w, w)
	for _, k := range []string{"DD_API_KEY", "DD_APP_KEY", "BUGSNAG_AUTH_TOKEN"} {
		if key := w.Getenv(k); key == "" || strings.Contains(shown, key) {
			t.Errorf("%s %q is empty or printed: %s", k, key, shown)
		}
	}
	if !strings.Contains(shown, "Datadog at http://127.0.0.1:") {
		t.Errorf("the world prints as %q", shown)
	}
}

// TestReadyIsTheStartingState: once Ready returns, every rollout's stable
// pods are up and the scenario's canaries are released, at rest at a step
// or on their way: what the cockpit's first frame shows.
func TestReadyIsTheStartingState(t *testing.T) {
	w := running(t, Options{Seed: 11})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	for key, svc := range w.services {
		u, err := w.Cluster.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := v1alpha1.FromUnstructured(u)
		st := r.Status
		atRest := (st.Phase == v1alpha1.PhaseHealthy || st.Phase == v1alpha1.PhasePaused) && st.ReadyReplicas >= svc.Replicas
		onItsWay := st.Phase == v1alpha1.PhaseProgressing && st.StableRS != st.CurrentPodHash
		if st.StableRS == "" || !atRest && !onItsWay {
			t.Errorf("%s after Ready: phase %s, stableRS %q, %d of %d pods ready", key, st.Phase, st.StableRS, st.ReadyReplicas, svc.Replicas)
		}
		want := svc.Stable
		if svc.Canary != "" {
			want = svc.Canary
		}
		if img := r.Spec.Template.Spec.Containers[0].Image; img != svc.Image(want) {
			t.Errorf("%s after Ready runs %s, want %s: the scenario's start is not released", key, img, svc.Image(want))
		}
	}
}

// runsOf lists a rollout's AnalysisRuns of one kind (Step or Background).
func runsOf(t *testing.T, w *World, ns, name, kind string) []*v1alpha1.AnalysisRun {
	t.Helper()
	list, err := w.Cluster.Dynamic.Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name + ",rollout-type=" + kind})
	if err != nil {
		t.Fatal(err)
	}
	var out []*v1alpha1.AnalysisRun
	for i := range list.Items {
		run, errs := v1alpha1.AnalysisRunFromUnstructured(&list.Items[i])
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		out = append(out, run)
	}
	return out
}

func describeRuns(runs []*v1alpha1.AnalysisRun) string {
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "%s %s %q [", r.Name, r.Status.Phase, r.Status.Message)
		for _, m := range r.Status.MetricResults {
			last := ""
			if n := len(m.Measurements); n > 0 {
				last = m.Measurements[n-1].Value + " " + m.Measurements[n-1].Message
			}
			fmt.Fprintf(&b, "%s %s ✓%d ✗%d ?%d ⚠%d last %s; ", m.Name, m.Phase, m.Successful, m.Failed, m.Inconclusive, m.Error, last)
		}
		b.WriteString("] ")
	}
	return b.String()
}

func state(r *v1alpha1.Rollout) string {
	return fmt.Sprintf("phase %s step %d abort %v pauses %v message %q", r.Status.Phase, ptr.Deref(r.Status.CurrentStepIndex, -1), r.Status.Abort, r.Status.PauseConditions, r.Status.Message)
}

// The default scenario's analysis, ten times faster, on the demo's
// Datadog: refunds' good canary passes its step analysis (error rate and
// p95 latency) and promotes itself; ledger's bad canary, whose error rate
// climbs, is aborted by its background analysis with no one acting.
func TestDefaultScenarioAnalysisPromotesAndAborts(t *testing.T) {
	w := running(t, Options{Speed: 10, Seed: 3})

	eventually(t, 60*time.Second, "refunds' canary promoted by its analysis", func() (bool, string) {
		r, _, _ := canary(t, w, "payments", "refunds")
		// The image is set before the reconciler sees it: the status must
		// be of this generation.
		done := r.Status.Phase == v1alpha1.PhaseHealthy && r.Status.StableRS == r.Status.CurrentPodHash &&
			r.Status.ObservedGeneration == strconv.FormatInt(r.Generation, 10) && strings.HasSuffix(r.Spec.Template.Spec.Containers[0].Image, ":1.3.0")
		return done, state(r) + "; " + describeRuns(runsOf(t, w, "payments", "refunds", "Step"))
	})
	steps := runsOf(t, w, "payments", "refunds", "Step")
	if len(steps) != 1 || steps[0].Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(steps[0].Status.MetricResults) != 2 {
		t.Fatalf("refunds' step runs: %s; want one Successful run of two metrics", describeRuns(steps))
	}
	for _, m := range steps[0].Status.MetricResults {
		if m.Successful != canaryHealthCount || m.Failed+m.Inconclusive+m.Error != 0 {
			t.Errorf("refunds' %s: %s", m.Name, describeRuns(steps))
		}
	}
	if bg := runsOf(t, w, "payments", "refunds", "Background"); len(bg) != 1 || bg[0].Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("refunds' background run: %s; want it ended Successful once the steps finished", describeRuns(bg))
	}

	eventually(t, 60*time.Second, "ledger's bad canary aborted by its analysis", func() (bool, string) {
		r, _, _ := canary(t, w, "payments", "ledger")
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded, state(r) + "; " + describeRuns(runsOf(t, w, "payments", "ledger", "Background"))
	})
	r, _, _ := canary(t, w, "payments", "ledger")
	bg := runsOf(t, w, "payments", "ledger", "Background")
	cs := r.Status.Canary.CurrentBackgroundAnalysisRunStatus
	if len(bg) != 1 || bg[0].Status.Phase != v1alpha1.AnalysisPhaseFailed || cs == nil || cs.Name != bg[0].Name || cs.Status != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("ledger's background runs: %s; status %+v; want its one run Failed", describeRuns(bg), cs)
	}
	m := bg[0].Status.MetricResults[0]
	if m.Name != "error-rate" || m.Failed != 1 || !strings.Contains(bg[0].Status.Message, `Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`) {
		t.Errorf("ledger's run: %s", describeRuns(bg))
	}
	if !strings.Contains(r.Status.Message, "RolloutAborted") {
		t.Errorf("ledger's message %q does not say it was aborted", r.Status.Message)
	}
	// Checkout, which no analysis gates, still waits for a person.
	if c, _, _ := canary(t, w, "shop", "checkout"); c.Status.Abort || len(runsOf(t, w, "shop", "checkout", "Step"))+len(runsOf(t, w, "shop", "checkout", "Background")) != 0 {
		t.Errorf("checkout: %s, with analysis runs", state(c))
	}
}

// The analysis scenario's frontend: its good version's p95 misses the
// latency objective without reaching the hard limit, so the run is
// Inconclusive and the canary pauses for a person; its Application is
// Suspended.
func TestAnalysisScenarioInconclusivePauses(t *testing.T) {
	w := running(t, Options{Scenario: "analysis", Speed: 10, Seed: 9})
	eventually(t, 60*time.Second, "frontend paused by an inconclusive analysis", func() (bool, string) {
		r, _, _ := canary(t, w, "web", "frontend")
		paused := false
		for _, c := range r.Status.PauseConditions {
			paused = paused || c.Reason == v1alpha1.PauseReasonInconclusiveAnalysis
		}
		return paused && r.Status.ControllerPause && r.Status.Phase == v1alpha1.PhasePaused && !r.Status.Abort,
			state(r) + "; " + describeRuns(runsOf(t, w, "web", "frontend", "Step"))
	})
	runs := runsOf(t, w, "web", "frontend", "Step")
	if len(runs) != 1 || runs[0].Status.Phase != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("frontend's step runs: %s; want one Inconclusive", describeRuns(runs))
	}
	m := runs[0].Status.MetricResults[0]
	p95, err := strconv.ParseFloat(m.Measurements[len(m.Measurements)-1].Value, 64)
	if err != nil || p95 <= 0.15 || p95 >= 0.4 || m.Inconclusive != 1 {
		t.Errorf("frontend's latency: %s; want one p95 between 0.15 and 0.4", describeRuns(runs))
	}
	// Argo CD reports the pause as its health check does.
	awaitApp(t, w, "web-frontend", "Synced", "Suspended", 10*time.Second)
}

// BenchmarkDemoReady is how long `roost demo` takes to its first frame's
// starting state: from the world's New to Ready (every rollout's stable pods
// up, the scenario's canaries released, stepped by roost's reconciler). The
// cockpit's first frame waits for it.
func BenchmarkDemoReady(b *testing.B) {
	var total time.Duration
	n := 0
	for b.Loop() {
		began := time.Now()
		w, stop := play(b, Options{Seed: 11})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := w.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(began)
		n++
		cancel()
		stop()
		w.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-to-ready")
}
