package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// measurements are values a minute apart, the last one a minute ago, each
// of phase p unless it is the last and last is set.
func measurements(p, last v1alpha1.AnalysisPhase, values ...string) []watch.Measurement {
	out := make([]watch.Measurement, len(values))
	for i, v := range values {
		out[i] = watch.Measurement{Phase: p, Value: v, At: fixtureNow.Add(time.Duration(i-len(values)) * time.Minute)}
	}
	if last != "" && len(out) > 0 {
		out[len(out)-1].Phase = last
	}
	return out
}

const (
	running      = v1alpha1.AnalysisPhaseRunning
	successful   = v1alpha1.AnalysisPhaseSuccessful
	failedPhase  = v1alpha1.AnalysisPhaseFailed
	inconclusive = v1alpha1.AnalysisPhaseInconclusive
)

func ddQuery(service, version string) string {
	return fmt.Sprintf("sum:trace.http.request.errors{service:%s,version:%s}.as_count() / sum:trace.http.request.hits{service:%s,version:%s}.as_count()", service, version, service, version)
}

// fixtureAnalysisRollouts are rollouts gated by analysis in each state an
// SRE meets: one aborted by a failed run, one paused on an inconclusive
// one, one measuring at its analysis step, one with a background run whose
// dry-run metric fails without deciding; then cart (no analysis, under the
// judge gate) and refunds (done), in the order the watch layer ranks them.
func fixtureAnalysisRollouts() []*watch.Rollout {
	five := []string{"setWeight 20", "analysis error-rate", "setWeight 50", "pause (until promoted)"}
	failedRun := watch.AnalysisRun{
		Name: "checkout-api-5f4e3d2c1-9-1", Kind: watch.AnalysisStep, Step: 2, PodHash: "5f4e3d2c1", Revision: "9",
		Phase: failedPhase, Message: `Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`, Current: true,
		Created: fixtureNow.Add(-4 * time.Minute), Started: fixtureNow.Add(-4 * time.Minute), Ended: fixtureNow.Add(-time.Minute),
		Metrics: []watch.AnalysisMetric{{
			Name: "error-rate", Phase: failedPhase, Message: "failed (1) > failureLimit (0)",
			Successful: 2, Failed: 1, Measured: 3, Count: 5, Bounded: true, ConsecutiveErrorLimit: 4, Interval: time.Minute,
			Measurements: measurements(successful, failedPhase, "0.0061", "0.0093", "0.042"),
			Provider:     "datadog", Query: ddQuery("checkout-api", "3.2.0"), FailureCondition: "result > 0.02",
		}},
	}
	checkout := &watch.Rollout{
		Namespace: "shop", Name: "checkout-api", Phase: "Degraded",
		Message: "RolloutAborted: Rollout aborted update to revision 9: Step-based analysis phase failed: " + failedRun.Message +
			" (error-rate: last values 0.0061, 0.0093, 0.042) (AnalysisRun checkout-api-5f4e3d2c1-9-1)",
		Aborted: true, StepIndex: 1, StepsTotal: 4, Steps: steps(1, five...), PodHash: "5f4e3d2c1",
		Stable:   rs("checkout-api-8d7c6b5a4", "8", "registry/checkout-api:3.1.4", 6, 6, "stable"),
		Replicas: 6, StepSince: fixtureNow.Add(-time.Minute), SteppedBy: "roost", HasAnalysis: true,
		Analysis: []watch.AnalysisRun{failedRun},
		Events: []watch.Event{
			{Time: fixtureNow.Add(-time.Minute), Type: "Warning", Reason: "RolloutAborted", Message: "Rollout aborted update to revision 9: Step-based analysis phase failed", Source: "roost"},
			{Time: fixtureNow.Add(-time.Minute), Type: "Warning", Reason: "AnalysisRunFailed", Message: "Step Analysis Run 'checkout-api-5f4e3d2c1-9-1' Status New: 'Failed' Previous: 'Running'", Source: "roost"},
		},
	}
	unsure := &watch.Rollout{
		Namespace: "web", Name: "images", Phase: "Paused", Message: "InconclusiveAnalysisRun",
		StepIndex: 1, StepsTotal: 4, Steps: steps(1, five...), PodHash: "6e5d4c3b2",
		DesiredWeight: 20, ActualWeight: 20, Paused: true, PauseUntilPromoted: true, Pausing: true, InconclusivePause: true,
		Stable:   rs("images-3c2b1a0f9", "4", "registry/images:1.9", 4, 4, "stable"),
		Canary:   rs("images-6e5d4c3b2", "5", "registry/images:2.0", 1, 1, "canary"),
		Replicas: 5, StepSince: fixtureNow.Add(-2 * time.Minute), SteppedBy: "rollouts-controller", HasAnalysis: true,
		Analysis: []watch.AnalysisRun{{
			Name: "images-6e5d4c3b2-5-1", Kind: watch.AnalysisStep, Step: 2, PodHash: "6e5d4c3b2", Revision: "5",
			Phase: inconclusive, Message: `Metric "latency" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)`, Current: true,
			Created: fixtureNow.Add(-3 * time.Minute), Started: fixtureNow.Add(-3 * time.Minute), Ended: fixtureNow.Add(-2 * time.Minute),
			Metrics: []watch.AnalysisMetric{{
				Name: "latency", Phase: inconclusive, Message: "inconclusive (1) > inconclusiveLimit (0)",
				Inconclusive: 1, Measured: 1, Count: 1, Bounded: true, ConsecutiveErrorLimit: 4,
				Measurements: measurements(inconclusive, "", "0.31"),
				Provider:     "web", Query: "GET https://images.web.svc/health/p95 {$.p95}",
				SuccessCondition: "result < 0.25", FailureCondition: "result > 0.5",
			}},
		}},
	}
	payments := &watch.Rollout{
		Namespace: "shop", Name: "payments", Phase: "Progressing",
		StepIndex: 1, StepsTotal: 4, Steps: steps(1, five...), PodHash: "7c6b5d4f9",
		DesiredWeight: 20, ActualWeight: 20,
		Stable:   rs("payments-2b1a0c9d8", "13", "registry/payments:2.7.3", 8, 8, "stable"),
		Canary:   rs("payments-7c6b5d4f9", "14", "registry/payments:2.8.0", 2, 2, "canary"),
		Replicas: 10, StepSince: fixtureNow.Add(-2*time.Minute - 30*time.Second), SteppedBy: "roost", HasAnalysis: true,
		Analysis: []watch.AnalysisRun{{
			Name: "payments-7c6b5d4f9-14-1", Kind: watch.AnalysisStep, Step: 2, PodHash: "7c6b5d4f9", Revision: "14",
			Phase: running, Current: true, Created: fixtureNow.Add(-150 * time.Second), Started: fixtureNow.Add(-150 * time.Second),
			Metrics: []watch.AnalysisMetric{
				{
					Name: "error-rate", Phase: running, Successful: 3, Measured: 3, Count: 5, Bounded: true, ConsecutiveErrorLimit: 4, Interval: time.Minute,
					Measurements: measurements(successful, "", "0.0041", "0.0052", "0.0047"), Next: fixtureNow.Add(12 * time.Second),
					Provider: "datadog", Query: ddQuery("payments", "2.8.0"), FailureCondition: "result > 0.02",
				},
				{
					Name: "p95", Phase: running, Successful: 3, Measured: 3, Count: 5, Bounded: true, ConsecutiveErrorLimit: 4, Interval: time.Minute,
					Measurements: measurements(successful, "", "0.212", "0.225", "0.219"), Next: fixtureNow.Add(12 * time.Second),
					Provider: "datadog", Query: "p95:trace.http.request.duration{service:payments,version:2.8.0}", SuccessCondition: "result < 0.3",
				},
			},
		}},
	}
	assets := &watch.Rollout{
		Namespace: "web", Name: "assets", Phase: "Paused", Message: "CanaryPauseStep",
		StepIndex: 1, StepsTotal: 3, Steps: steps(1, "setWeight 25", "pause 10m0s", "setWeight 75"), PodHash: "9a8b7c6d5",
		DesiredWeight: 25, ActualWeight: 25, Paused: true, Pausing: true,
		PauseEnds: fixtureNow.Add(6 * time.Minute), PauseRemaining: 6 * time.Minute,
		Stable:   rs("assets-1f2e3d4c5", "5", "registry/assets:4.0", 3, 3, "stable"),
		Canary:   rs("assets-9a8b7c6d5", "6", "registry/assets:4.1", 1, 1, "canary"),
		Replicas: 4, StepSince: fixtureNow.Add(-4 * time.Minute), SteppedBy: "roost", HasAnalysis: true,
		Analysis: []watch.AnalysisRun{{
			Name: "assets-9a8b7c6d5-6", Kind: watch.AnalysisBackground, PodHash: "9a8b7c6d5", Revision: "6",
			Phase: running, Current: true, Created: fixtureNow.Add(-5 * time.Minute), Started: fixtureNow.Add(-5 * time.Minute),
			Metrics: []watch.AnalysisMetric{
				{
					Name: "error-rate", Phase: running, Successful: 5, Measured: 5, ConsecutiveErrorLimit: 4, Interval: time.Minute,
					Measurements: measurements(successful, "", "0.001", "0.0012", "0.0009", "0.0011", "0.001"), Next: fixtureNow.Add(40 * time.Second),
					Provider: "datadog", Query: ddQuery("assets", "4.1"), FailureCondition: "result > 0.01",
				},
				{
					Name: "cache-hit", Phase: failedPhase, DryRun: true, Message: "failed (2) > failureLimit (1)",
					Successful: 0, Failed: 2, Measured: 2, Count: 5, Bounded: true, FailureLimit: 1, ConsecutiveErrorLimit: 4, Interval: time.Minute,
					Measurements: measurements(failedPhase, "", "0.82", "0.85"),
					Provider:     "datadog", Query: "avg:cdn.cache.hit_ratio{service:assets,version:4.1}", SuccessCondition: "result > 0.9",
				},
			},
		}},
	}
	var cart, refunds *watch.Rollout
	for _, r := range fixtureRollouts() {
		switch r.Name {
		case "cart":
			cart = r
		case "refunds":
			refunds = r
		}
	}
	return []*watch.Rollout{checkout, unsure, cart, payments, assets, refunds}
}

// analysisModel is the cockpit over the analysis fixtures, the judge gate
// armed to hold after 3 failing rounds, one counted.
func analysisModel(ctx context.Context, theme themes.Theme, width, height int) Model {
	return fixtureModel(ctx, theme, width, height, func(o *Options) {
		o.Rollouts = &staticRollouts{list: fixtureAnalysisRollouts()}
		o.JudgeGate = func(*watch.Rollout) JudgeGate { return JudgeGate{Mode: "hold", Rounds: 3, Fails: 1, Counted: true} }
	})
}

func TestGoldenAnalysis(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	screens := []struct {
		name  string
		setup func(t *testing.T, m Model) Model
	}{
		{"analysis-overview", func(_ *testing.T, m Model) Model { return m }},
		{"analysis-running", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "payments"), "enter") }},
		{"analysis-failed", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "checkout-api"), "enter") }},
		{"analysis-inconclusive", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "web", "images"), "enter") }},
		{"analysis-dry-run", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "web", "assets"), "enter") }},
		{"analysis-judge-gate", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "cart"), "enter") }},
		{"analysis-metrics", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "payments"), "m") }},
		{"analysis-confirm-terminate", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "payments"), "T") }},
	}
	for _, s := range screens {
		for _, size := range sizes {
			name := fmt.Sprintf("%s-%dx%d", s.name, size.w, size.h)
			t.Run(name, func(t *testing.T) {
				checkScreen(t, name, s.setup(t, analysisModel(ctx, dark(t), size.w, size.h)))
			})
		}
	}
}

// TestAnalysisMarker: the overview's word on each state of a rollout's
// analysis, in both symbol sets.
func TestAnalysisMarker(t *testing.T) {
	byName := map[string]*watch.Rollout{}
	for _, r := range fixtureAnalysisRollouts() {
		byName[r.Name] = r
	}
	terminated := *byName["payments"]
	terminated.Analysis = []watch.AnalysisRun{terminated.Analysis[0]}
	terminated.Analysis[0].Phase, terminated.Analysis[0].Message = successful, "Run Terminated"
	fresh := *byName["payments"]
	fresh.Analysis = nil
	for _, tc := range []struct {
		name    string
		r       *watch.Rollout
		unicode string
		ascii   string
	}{
		{"measuring", byName["payments"], "↻ ✓6/10 ✗0", "> +6/10 !0"},
		{"failed", byName["checkout-api"], "✗ failed", "! failed"},
		{"inconclusive", byName["images"], "? inconclusive", "? inconclusive"},
		{"unbounded, dry run left out", byName["assets"], "↻ ✓5 ✗0", "> +5 !0"},
		{"terminated", &terminated, "✓ ended", "+ ended"},
		{"no run yet", &fresh, "○ waiting", ". waiting"},
		{"no analysis", byName["cart"], "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := analysisMarker(tc.r, themes.SymbolsFor(false)); got != tc.unicode {
				t.Errorf("marker %q, want %q", got, tc.unicode)
			}
			if got := analysisMarker(tc.r, themes.SymbolsFor(true)); got != tc.ascii {
				t.Errorf("ASCII marker %q, want %q", got, tc.ascii)
			}
		})
	}
}

// TestAnalysisCountdownTicks: the next measurement's countdown is a clock
// on screen: the cockpit wakes for it each second.
func TestAnalysisCountdownTicks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(selectRollout(t, analysisModel(ctx, dark(t), 120, 40), "shop", "payments"), "enter")
	d, ok := m.nextClockChange()
	if !ok || d > time.Second+100*time.Millisecond {
		t.Errorf("next redraw in %v (%v), want within a second for the countdown", d, ok)
	}
	if !strings.Contains(ansi.Strip(m.Render()), "next in 12s") {
		t.Fatalf("the detail does not count down to the next measurement:\n%s", ansi.Strip(m.Render()))
	}
	m.now = m.now.Add(time.Second)
	if !strings.Contains(ansi.Strip(m.Render()), "next in 11s") {
		t.Errorf("a second later the countdown does not say 11s:\n%s", ansi.Strip(m.Render()))
	}
}

// TestTerminatePlan: T ends the running runs only, says what follows, and
// is bound to the canary revision confirmed.
func TestTerminatePlan(t *testing.T) {
	byName := map[string]*watch.Rollout{}
	for _, r := range fixtureAnalysisRollouts() {
		byName[r.Name] = r
	}
	p := planAction(verbTerminate, byName["payments"])
	if p.skip != "" || len(p.runs) != 1 || p.runs[0] != "payments-7c6b5d4f9-14-1" || !p.expect.Revision {
		t.Fatalf("plan %+v: want the running step run, bound to the revision", p)
	}
	for _, want := range []string{"ends AnalysisRun payments-7c6b5d4f9-14-1 (step 2, 6 of 10 measured, 0 failed)", "step 2/4 completes; next: setWeight 50 (canary 5 of 10 pods)"} {
		if !strings.Contains(p.effect, want) {
			t.Errorf("effect %q does not say %q", p.effect, want)
		}
	}
	if p := planAction(verbTerminate, byName["assets"]); !strings.Contains(p.effect, "the canary goes on without it") {
		t.Errorf("background effect %q", p.effect)
	}
	for _, name := range []string{"checkout-api", "images", "cart"} {
		if p := planAction(verbTerminate, byName[name]); p.skip != "no analysis is running" || len(p.runs) != 0 {
			t.Errorf("%s: plan %+v, want skipped: no analysis is running", name, p)
		}
	}
}

// BenchmarkAnalysisDetail renders the detail of a canary whose analysis
// step runs three metrics of ten measurements each (the largest a run
// keeps by default), as the detail and as the `m` screen.
func BenchmarkAnalysisDetail(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list := fixtureAnalysisRollouts()
	var payments *watch.Rollout
	for _, r := range list {
		if r.Name == "payments" {
			payments = r
		}
	}
	run := &payments.Analysis[0]
	values := []string{"0.0041", "0.0052", "0.0047", "0.0049", "0.0044", "0.0051", "0.0046", "0.0048", "0.0050", "0.0045"}
	run.Metrics = append(run.Metrics, run.Metrics[0])
	run.Metrics[2].Name = "apdex"
	for i := range run.Metrics {
		run.Metrics[i].Measurements = measurements(successful, "", values...)
		run.Metrics[i].Successful, run.Metrics[i].Measured, run.Metrics[i].Count = 10, 10, 20
	}
	th := dark(&testing.T{})
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		for _, screen := range []string{"enter", "m"} {
			m := fixtureModel(ctx, th, size.w, size.h, func(o *Options) { o.Rollouts = &staticRollouts{list: list} })
			m = press(selectRollout(&testing.T{}, m, "shop", "payments"), screen)
			name := "detail"
			if screen == "m" {
				name = "metrics-screen"
			}
			b.Run(fmt.Sprintf("%s-%dx%d", name, size.w, size.h), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}
