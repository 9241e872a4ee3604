//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// TestCockpitShowsAnalysisFailAndAbort: in a real terminal, the cockpit
// (stepping the canaries itself) shows a step analysis measuring, each
// measurement landing and the next one counting down; when the canary's
// error rate rises, the analysis fails, the rollout aborts with no key
// pressed, and the cockpit says why in one sentence with the value that
// decided.
func TestCockpitShowsAnalysisFailAndAbort(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, int64(60), false)
	ck := startCockpit(t, ns, "cockpit-analysis", nil)
	ck.awaitText("you step the canaries (this roost leads as ")

	const app = "gated"
	_, v1, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50))
	})
	// The overview's marker counts the measurements as they land.
	ck.awaitLine(app, "↻ ✓2")
	screen := ck.awaitText("Analysis ↻ Running", "step 2", "error-rate", "of limit 0", "next in ", "passes when result < 0.05", "web: GET "+srv.URL+"/rate")
	if !strings.Contains(screen, "0.01") {
		t.Errorf("the detail does not show the measured value 0.01:\n%s", screen)
	}

	srv.set(0.2)
	r := leadWaitRollout(t, 30*time.Second, ns, app, "aborted by its analysis", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
	})
	if cs := r.Status.Canary.CurrentStepAnalysisRunStatus; cs == nil || cs.Status != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("currentStepAnalysisRunStatus %+v, want the Failed run", cs)
	}
	ck.awaitText("NEEDS YOU: analysis failed, canary aborted", "Analysis ✗ Failed",
		"error-rate 0.2, not < 0.05 at measurement", "failed (1) > failureLimit (0) → aborted")
	ck.awaitLine(app, "✗ failed")
	assertReplicas(t, ns, app, map[string]int32{v1: 4, v2: 0})
}

// TestCockpitTerminatesAnalysis: T on a canary whose analysis step
// measures asks first, then sends the plugin's patch: the run ends
// Successful ("Run Terminated"), the step completes, the canary goes on,
// and an Event names who ended it.
func TestCockpitTerminatesAnalysis(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	who := whoAmI(t)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, int64(60), false)
	ck := startCockpit(t, ns, "cockpit-terminate", nil)
	ck.awaitText("you step the canaries (this roost leads as ")

	const app = "long"
	startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50), rollouttest.Pause())
	})
	ck.awaitText("Analysis ↻ Running", "T ends it")
	ck.keys("T")
	ck.awaitText("Terminate analysis 1 rollout?", "ends AnalysisRun", "step 2/4 completes")
	ck.keys("n")
	ck.awaitText("terminate analysis cancelled; nothing was sent")
	if run := waitRun(t, 5*time.Second, ns, "the run still measuring", func(r *v1alpha1.AnalysisRun) bool { return true }); run.Spec.Terminate {
		t.Fatal("n sent the terminate anyway")
	}
	ck.keys("T")
	ck.awaitText("Terminate analysis 1 rollout?")
	ck.keys("y")
	run := waitRun(t, 30*time.Second, ns, "the run terminated", func(r *v1alpha1.AnalysisRun) bool { return r.Status.Phase.Completed() })
	if !run.Spec.Terminate || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || run.Status.Message != "Run Terminated" {
		t.Errorf("run terminate=%v phase=%s message=%q, want terminated, Successful, \"Run Terminated\"", run.Spec.Terminate, run.Status.Phase, run.Status.Message)
	}
	ev := awaitActionEvent(t, ns, app, actions.EventAnalysisTerminated, who)
	if !strings.Contains(ev.Message, run.Name) {
		t.Errorf("Event %q does not name the run %s", ev.Message, run.Name)
	}
	leadWaitRollout(t, 30*time.Second, ns, app, "past the analysis step, at the pause", func(r *v1alpha1.Rollout) bool {
		return ptr.Deref(r.Status.CurrentStepIndex, -1) == 3 && len(r.Status.PauseConditions) == 1
	})
	ck.awaitText("terminated analysisrun " + run.Name)
}

// TestCLIAnalysisRuns: `roost get ar` and `roost get NAME` on the real API
// server, then `roost terminate analysisrun` ends a run once and leaves it
// alone the second time.
func TestCLIAnalysisRuns(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, int64(60), false)
	const app = "listed"
	startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50), rollouttest.Pause())
	})
	run := waitRun(t, 30*time.Second, ns, "the step run measuring", func(r *v1alpha1.AnalysisRun) bool {
		return len(r.Status.MetricResults) == 1 && r.Status.MetricResults[0].Count >= 2
	})

	res := mustRoost(t, ns, 0, "get", "analysisruns")
	for _, want := range []string{"NAME", "ROLLOUT", "METRICS ✓/✗/?", run.Name, app, "step 2", "Running"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("roost get analysisruns lacks %q:\n%s", want, res)
		}
	}
	res = mustRoost(t, ns, 0, "get", app)
	for _, want := range []string{"Analysis:", run.Name + " (step 2, current): Running", "error-rate: passes when result < 0.05; web: GET " + srv.URL + "/rate"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("roost get %s lacks %q:\n%s", app, want, res)
		}
	}

	res = mustRoost(t, ns, 0, "terminate", "analysisrun", run.Name)
	if !strings.Contains(res.stdout, "terminated analysisrun "+run.Name) {
		t.Errorf("roost terminate analysisrun: %s", res)
	}
	waitRun(t, 30*time.Second, ns, "the run terminated", func(r *v1alpha1.AnalysisRun) bool {
		return r.Spec.Terminate && r.Status.Phase == v1alpha1.AnalysisPhaseSuccessful
	})
	awaitActionEvent(t, ns, app, actions.EventAnalysisTerminated, whoAmI(t))
	res = mustRoost(t, ns, 0, "terminate", "ar", run.Name)
	if !strings.Contains(res.stdout, "skipped: analysisrun "+run.Name+" already ended Successful") {
		t.Errorf("a second terminate: %s; want it skipped", res)
	}
	countEvents(t, ns, app, actions.EventAnalysisTerminated, 1)
}
