//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/rollouttest"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/datadog"
)

// rateServer is a service's own health endpoint, as a web metric reads it:
// GET /rate answers {"rate": <the value set>} and counts the requests.
type rateServer struct {
	*httptest.Server
	mu    sync.Mutex
	rate  float64
	calls int
}

func newRateServer(t *testing.T, rate float64) *rateServer {
	s := &rateServer{rate: rate}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls++
		v := s.rate
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"rate": %g}`, v)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rateServer) set(v float64) {
	s.mu.Lock()
	s.rate = v
	s.mu.Unlock()
}

// runAnalysisReconciler runs roost's reconciler, with its run loop and the
// web provider, in-process for namespace ns until the test ends.
func runAnalysisReconciler(t *testing.T, ns string) {
	t.Helper()
	runController(t, controller.Config{
		Kube: env.Client(), Dynamic: dynamicClient(t), Namespace: ns, AnalysisRuns: true,
		Providers: analysis.Providers{Web: analysis.NewWebProvider(analysis.WebOptions{})},
	})
}

// backgroundAnalysis gives a canary the background analysis "error-rate"
// reading url.
func backgroundAnalysis(url string) func(c *v1alpha1.CanaryStrategy) {
	return func(c *v1alpha1.CanaryStrategy) {
		c.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{
			Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}}, Args: analysisArgs(url),
		}}
	}
}

// createTemplate creates the AnalysisTemplate "error-rate": a web metric
// reading {{args.url}} every second, count times, failing above 5 %, and,
// when inconclusive is set, Inconclusive between 5 % and 50 %.
func createTemplate(t *testing.T, ns string, count any, inconclusive bool) {
	t.Helper()
	metric := map[string]any{
		"name":             "error-rate",
		"interval":         "1s",
		"successCondition": "result < 0.05",
		"provider":         map[string]any{"web": map[string]any{"url": "{{args.url}}/rate", "jsonPath": "{$.rate}"}},
	}
	if count != nil {
		metric["count"] = count
	}
	if inconclusive {
		metric["failureCondition"] = "result > 0.5"
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(),
		"kind":       v1alpha1.AnalysisTemplateKind,
		"metadata":   map[string]any{"name": "error-rate", "namespace": ns},
		"spec": map[string]any{
			"args":    []any{map[string]any{"name": "url"}, map[string]any{"name": "hash"}},
			"metrics": []any{metric},
		},
	}}
	if _, err := dynamicClient(t).Resource(v1alpha1.AnalysisTemplateGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create AnalysisTemplate: %v", err)
	}
}

// analysisArgs pass the server's address and the canary's hash.
func analysisArgs(url string) []v1alpha1.AnalysisRunArgument {
	latest := v1alpha1.PodTemplateHashLatest
	return []v1alpha1.AnalysisRunArgument{
		{Name: "url", Value: url},
		{Name: "hash", ValueFrom: &v1alpha1.RolloutArgumentValueFrom{PodTemplateHashValue: &latest}},
	}
}

func analysisStep(url string) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
		Args:      analysisArgs(url),
	}}
}

func listRuns(ctx context.Context, t *testing.T, ns string) ([]*v1alpha1.AnalysisRun, error) {
	list, err := dynamicClient(t).Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var runs []*v1alpha1.AnalysisRun
	for i := range list.Items {
		run, _ := v1alpha1.AnalysisRunFromUnstructured(&list.Items[i])
		runs = append(runs, run)
	}
	return runs, nil
}

// waitRun waits for the one AnalysisRun of ns to satisfy ok.
func waitRun(t *testing.T, timeout time.Duration, ns, what string, ok func(*v1alpha1.AnalysisRun) bool) *v1alpha1.AnalysisRun {
	t.Helper()
	var got *v1alpha1.AnalysisRun
	eventually(t, timeout, what, func(ctx context.Context) (bool, string, error) {
		runs, err := listRuns(ctx, t, ns)
		if err != nil || len(runs) == 0 {
			return false, "no AnalysisRun yet", err
		}
		var states []string
		for _, r := range runs {
			states = append(states, fmt.Sprintf("%s phase=%q message=%q", r.Name, r.Status.Phase, r.Status.Message))
		}
		if len(runs) != 1 {
			return false, strings.Join(states, "; "), fmt.Errorf("%d AnalysisRuns, want 1", len(runs))
		}
		got = runs[0]
		return ok(got), strings.Join(states, "; "), nil
	})
	return got
}

// startAnalysedCanary creates a Rollout with steps, waits for revision 1,
// and starts revision 2; it returns the hashes.
func startAnalysedCanary(t *testing.T, ns, app string, configure func(*rollouttest.Builder)) (ro *v1alpha1.Rollout, v1, v2 string) {
	t.Helper()
	b := kwokRollout(ns, app).Replicas(4).Image("registry.example/" + app + ":v1")
	configure(b)
	ro = b.Rollout()
	createRollout(t, ro)
	v1 = v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1))
	v2 = leadSetImage(t, ro, "registry.example/"+app+":v2")
	return ro, v1, v2
}

// TestStepAnalysisPasses: the analysis step's run is created as Argo
// creates it (name, labels, annotation, owner), measures twice, succeeds,
// and the canary goes on to completion.
func TestStepAnalysisPasses(t *testing.T) {
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, int64(2), false)
	const app = "pass"
	ro, _, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50))
	})

	run := waitRun(t, 30*time.Second, ns, "the step run Successful", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase == v1alpha1.AnalysisPhaseSuccessful
	})
	if want := fmt.Sprintf("%s-%s-2-1", app, v2); run.Name != want {
		t.Errorf("run name %s, want %s", run.Name, want)
	}
	wantLabels := map[string]string{
		v1alpha1.DefaultRolloutUniqueLabelKey: v2, analysis.RolloutTypeLabel: analysis.RolloutTypeStep, analysis.StepIndexLabel: "1",
	}
	for k, v := range ro.Spec.Selector.MatchLabels {
		wantLabels[k] = v
	}
	for k, v := range wantLabels {
		if run.Labels[k] != v {
			t.Errorf("label %s=%q, want %q (labels %v)", k, run.Labels[k], v, run.Labels)
		}
	}
	if run.Annotations[v1alpha1.RevisionAnnotation] != "2" {
		t.Errorf("revision annotation %q, want 2", run.Annotations[v1alpha1.RevisionAnnotation])
	}
	ref := metav1.GetControllerOf(run)
	if ref == nil || ref.Kind != v1alpha1.Kind || ref.Name != app || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("owner reference %+v, want the Rollout as controller, blocking deletion", run.OwnerReferences)
	}
	if len(run.Status.MetricResults) != 1 || run.Status.MetricResults[0].Count != 2 || run.Status.MetricResults[0].Successful != 2 {
		t.Errorf("metric results %+v, want 2 successful measurements", run.Status.MetricResults)
	}
	if v := run.Status.MetricResults[0].Measurements[0].Value; v != "0.01" {
		t.Errorf("measured value %q, want 0.01", v)
	}
	// The template's url argument was filled from the Rollout, the hash
	// argument from the canary's ReplicaSet.
	for _, a := range run.Spec.Args {
		if a.Name == "hash" && ptr.Deref(a.Value, "") != v2 {
			t.Errorf("args.hash = %q, want %s", ptr.Deref(a.Value, ""), v2)
		}
	}
	final := leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy after the analysis", leadHealthyAt(v2))
	if final.Status.Canary.CurrentStepAnalysisRunStatus != nil {
		t.Errorf("currentStepAnalysisRunStatus %+v after completion, want none", final.Status.Canary.CurrentStepAnalysisRunStatus)
	}
}

// TestStepAnalysisFailsAndAborts: a canary at 20 % errors fails the step's
// run; the canary is aborted, back to the stable pods, and the abort says
// which metric, what it measured and which limit.
func TestStepAnalysisFailsAndAborts(t *testing.T) {
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.2)
	createTemplate(t, ns, int64(3), false)
	const app = "fail"
	_, v1, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50))
	})
	r := leadWaitRollout(t, 30*time.Second, ns, app, "the canary aborted by its analysis", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
	})
	if !strings.HasPrefix(r.Status.Message, "RolloutAborted: Rollout aborted update to revision 2: ") {
		t.Errorf("status.message %q does not start with Argo's words", r.Status.Message)
	}
	for _, want := range []string{
		"Step-based analysis phase failed",
		`Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`, "last values 0.2",
	} {
		if !strings.Contains(r.Status.Message, want) {
			t.Errorf("status.message %q lacks %q", r.Status.Message, want)
		}
	}
	if cs := r.Status.Canary.CurrentStepAnalysisRunStatus; cs == nil || cs.Status != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("currentStepAnalysisRunStatus %+v, want the Failed run", cs)
	}
	assertReplicas(t, ns, app, map[string]int32{v1: 4, v2: 0})
	run := waitRun(t, 10*time.Second, ns, "the run Failed", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase == v1alpha1.AnalysisPhaseFailed
	})
	if got := run.Status.MetricResults[0].Count; got != 1 {
		t.Errorf("the run measured %d times, want 1: it stops at the first failure", got)
	}
}

// TestInconclusiveAnalysisPausesUntilPromoted: a value between the success
// and failure conditions pauses the canary (InconclusiveAnalysisRun); a
// promote lets it go on.
func TestInconclusiveAnalysisPausesUntilPromoted(t *testing.T) {
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.2)
	createTemplate(t, ns, int64(1), true)
	const app = "unsure"
	_, _, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50))
	})
	r := leadWaitRollout(t, 30*time.Second, ns, app, "paused on the Inconclusive run", func(r *v1alpha1.Rollout) bool {
		return r.Status.Phase == v1alpha1.PhasePaused && len(r.Status.PauseConditions) == 1 &&
			r.Status.PauseConditions[0].Reason == v1alpha1.PauseReasonInconclusiveAnalysis
	})
	if cs := r.Status.Canary.CurrentStepAnalysisRunStatus; cs == nil || cs.Status != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("currentStepAnalysisRunStatus %+v, want the Inconclusive run", cs)
	}
	if !r.Status.ControllerPause || ptr.Deref(r.Status.CurrentStepIndex, -1) != 1 {
		t.Errorf("controllerPause=%v step=%d, want true at step 1", r.Status.ControllerPause, ptr.Deref(r.Status.CurrentStepIndex, -1))
	}
	// Held: no step passes while it waits for a person.
	time.Sleep(2 * time.Second)
	if r2, err := getRollout(context.Background(), t, ns, app); err != nil || ptr.Deref(r2.Status.CurrentStepIndex, -1) != 1 {
		t.Fatalf("the paused canary moved on by itself (err %v)", err)
	}
	act := actions.NewActions(dynamicClient(t), env.Client(), "e2e")
	if _, err := act.Promote(context.Background(), ns, app); err != nil {
		t.Fatalf("promote: %v", err)
	}
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy after the promote", leadHealthyAt(v2))
}

// TestBackgroundAnalysisFailsMidPause: the background run measures while
// the canary waits at an indefinite pause; when the canary's errors rise,
// it fails and the canary is aborted without anyone at the keys.
func TestBackgroundAnalysisFailsMidPause(t *testing.T) {
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, nil, false)
	const app = "background"
	_, v1, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), rollouttest.Pause(), rollouttest.SetWeight(50)).Canary(backgroundAnalysis(srv.URL))
	})
	run := waitRun(t, 30*time.Second, ns, "the background run measuring", func(r *v1alpha1.AnalysisRun) bool {
		return len(r.Status.MetricResults) == 1 && r.Status.MetricResults[0].Successful >= 2
	})
	if want := fmt.Sprintf("%s-%s-2", app, v2); run.Name != want || run.Labels[analysis.RolloutTypeLabel] != analysis.RolloutTypeBackground {
		t.Errorf("background run %s labels %v, want %s of type Background", run.Name, run.Labels, want)
	}
	leadWaitRollout(t, 10*time.Second, ns, app, "paused at step 2", func(r *v1alpha1.Rollout) bool {
		return r.Status.Phase == v1alpha1.PhasePaused && ptr.Deref(r.Status.CurrentStepIndex, -1) == 1
	})
	srv.set(0.3)
	r := leadWaitRollout(t, 30*time.Second, ns, app, "aborted by the background analysis", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
	})
	if !strings.Contains(r.Status.Message, "Background analysis phase failed") || !strings.Contains(r.Status.Message, "0.3") {
		t.Errorf("status.message %q does not say the background analysis failed on 0.3", r.Status.Message)
	}
	assertReplicas(t, ns, app, map[string]int32{v1: 4, v2: 0})
}

// TestAnalysisSurvivesLeaderKill: kill -9 of the leading `roost controller`
// in the middle of a step analysis; the next leader adopts the same run and
// finishes it: one AnalysisRun, every measurement taken once.
func TestAnalysisSurvivesLeaderKill(t *testing.T) {
	ns := env.NewNamespace(t)
	srv := newRateServer(t, 0.01)
	const count = 8
	createTemplate(t, ns, int64(count), false)
	procs := controllerProcs(t, ns, "roost-ctl-analysis", 2, "--lease-duration", "4s", "--renew-deadline", "3s", "--retry-period", "500ms")
	first := procOf(t, procs, waitHolder(t, 30*time.Second, ns, ""))
	const app = "takeover"
	_, _, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.NoRoleLabels().Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50))
	})
	waitRun(t, 30*time.Second, ns, "the run part-way", func(r *v1alpha1.AnalysisRun) bool {
		return len(r.Status.MetricResults) == 1 && r.Status.MetricResults[0].Count >= 3
	})
	if err := syscall.Kill(first.pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s: %v", first.name, err)
	}
	run := waitRun(t, 60*time.Second, ns, "the same run Successful under the next leader", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase == v1alpha1.AnalysisPhaseSuccessful
	})
	res := run.Status.MetricResults[0]
	if res.Count != count || res.Successful != count || len(res.Measurements) != count {
		t.Errorf("count=%d successful=%d measurements=%d, want %d each: a measurement was lost or doubled", res.Count, res.Successful, len(res.Measurements), count)
	}
	for i := 1; i < len(res.Measurements); i++ {
		if res.Measurements[i].StartedAt.Before(res.Measurements[i-1].FinishedAt) {
			b, _ := json.Marshal(res.Measurements)
			t.Errorf("measurement %d started before %d finished: two controllers measured at once: %s", i, i-1, b)
		}
	}
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy", leadHealthyAt(v2))
}

// TestDatadogStepAnalysis: analysis on Datadog as Argo users write it (v2
// scalar with a formula, and v1), with the keys in the Secret "datadog" of
// roost's namespace; the canary's error rate passes one run and fails the
// other, whose abort quotes the value measured.
func TestDatadogStepAnalysis(t *testing.T) {
	ns := env.NewNamespace(t)
	w := newDDWorld(t, map[string]float64{"ddpass/canary": 0.01, "ddpass/stable": 0.01, "ddfail/canary": 0.2, "ddfail/stable": 0.01})
	ctx := context.Background()
	if _, err := env.Client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "datadog", Namespace: ns},
		StringData: map[string]string{"api-key": ddAPIKey, "app-key": ddAppKey, "address": w.http.URL},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dd, err := datadog.NewAnalysisProvider(datadog.AnalysisOptions{Kube: env.Client(), Namespace: ns, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	runController(t, controller.Config{
		Kube: env.Client(), Dynamic: dynamicClient(t), Namespace: ns, AnalysisRuns: true,
		Providers: analysis.Providers{Datadog: dd},
	})

	op := "trace." + metrics.DefaultOperation
	for name, provider := range map[string]map[string]any{
		"v2": {"apiVersion": "v2", "interval": "1m", "aggregator": "avg",
			"queries": map[string]any{
				"errors": "sum:" + op + ".errors{service:{{args.service}},kube_role:canary}.as_count()",
				"hits":   "sum:" + op + ".hits{service:{{args.service}},kube_role:canary}.as_count()",
			},
			"formula": "errors / hits"},
		"v1": {"interval": "1m", "query": "sum:" + op + ".errors{service:{{args.service}},kube_role:canary}.as_count() / sum:" + op + ".hits{service:{{args.service}},kube_role:canary}.as_count()"},
	} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": v1alpha1.AnalysisTemplateKind,
			"metadata": map[string]any{"name": "dd-" + name, "namespace": ns},
			"spec": map[string]any{
				"args": []any{map[string]any{"name": "service"}},
				"metrics": []any{map[string]any{
					"name": "error-rate", "interval": "2s", "count": int64(2), "successCondition": "result < 0.05",
					"provider": map[string]any{"datadog": provider},
				}},
			},
		}}
		if _, err := dynamicClient(t).Resource(v1alpha1.AnalysisTemplateGVR).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create template dd-%s: %v", name, err)
		}
	}
	step := func(template, service string) v1alpha1.CanaryStep {
		return v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{
			Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: template}},
			Args:      []v1alpha1.AnalysisRunArgument{{Name: "service", Value: service}},
		}}
	}
	_, _, passHash := startAnalysedCanary(t, ns, "ddpass", func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), step("dd-v2", "ddpass"), step("dd-v1", "ddpass"))
	})
	leadWaitRollout(t, 60*time.Second, ns, "ddpass", "ddpass Healthy after two Datadog analyses", leadHealthyAt(passHash))
	startAnalysedCanary(t, ns, "ddfail", func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), step("dd-v1", "ddfail"), rollouttest.SetWeight(50))
	})
	r := leadWaitRollout(t, 60*time.Second, ns, "ddfail", "ddfail aborted by its Datadog analysis", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
	})
	if !strings.Contains(r.Status.Message, `Metric "error-rate" assessed Failed`) || !strings.Contains(r.Status.Message, "last values 0.2") {
		t.Errorf("abort message %q does not quote the metric and its value 0.2", r.Status.Message)
	}
	runs, err := listRuns(ctx, t, ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		for _, mr := range run.Status.MetricResults {
			for _, m := range mr.Measurements {
				if strings.Contains(m.Message, ddAPIKey) || strings.Contains(m.Message, ddAppKey) || strings.Contains(m.Value, ddAPIKey) {
					t.Errorf("run %s shows a Datadog key", run.Name)
				}
			}
		}
	}
}

// TestPromoteFullTerminatesAnalysis: a full promote in the middle of a step
// analysis ends its run as Argo does ({"spec":{"terminate":true}}: the run
// ends Successful, "Run Terminated") and the canary goes to 100 %.
func TestPromoteFullTerminatesAnalysis(t *testing.T) {
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, int64(60), false)
	const app = "skip"
	_, _, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), analysisStep(srv.URL), rollouttest.SetWeight(50))
	})
	waitRun(t, 30*time.Second, ns, "the step run measuring", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase == v1alpha1.AnalysisPhaseRunning && len(r.Status.MetricResults) == 1 && r.Status.MetricResults[0].Count >= 1
	})
	act := actions.NewActions(dynamicClient(t), env.Client(), "e2e")
	if _, err := act.PromoteFull(context.Background(), ns, app); err != nil {
		t.Fatalf("promote --full: %v", err)
	}
	run := waitRun(t, 30*time.Second, ns, "the run terminated", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase.Completed()
	})
	if !run.Spec.Terminate || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || run.Status.Message != "Run Terminated" {
		t.Errorf("run terminate=%v phase=%s message=%q, want terminate, Successful, \"Run Terminated\"", run.Spec.Terminate, run.Status.Phase, run.Status.Message)
	}
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy", leadHealthyAt(v2))
}

// TestAbortTerminatesBackgroundAnalysis: a person's abort ends the
// background run still measuring (Argo terminates every run of an aborted
// rollout); the run stays on record in the Rollout's status.
func TestAbortTerminatesBackgroundAnalysis(t *testing.T) {
	ns := env.NewNamespace(t)
	runAnalysisReconciler(t, ns)
	srv := newRateServer(t, 0.01)
	createTemplate(t, ns, nil, false)
	const app = "stopped"
	_, v1, v2 := startAnalysedCanary(t, ns, app, func(b *rollouttest.Builder) {
		b.Steps(rollouttest.SetWeight(25), rollouttest.Pause()).Canary(backgroundAnalysis(srv.URL))
	})
	waitRun(t, 30*time.Second, ns, "the background run measuring", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase == v1alpha1.AnalysisPhaseRunning && len(r.Status.MetricResults) == 1 && r.Status.MetricResults[0].Count >= 1
	})
	act := actions.NewActions(dynamicClient(t), env.Client(), "e2e")
	if _, err := act.Abort(context.Background(), ns, app, "e2e: stop it"); err != nil {
		t.Fatalf("abort: %v", err)
	}
	run := waitRun(t, 30*time.Second, ns, "the background run terminated", func(r *v1alpha1.AnalysisRun) bool {
		return r.Status.Phase.Completed()
	})
	if !run.Spec.Terminate || run.Status.Message != "Run Terminated" {
		t.Errorf("run terminate=%v phase=%s message=%q, want it terminated", run.Spec.Terminate, run.Status.Phase, run.Status.Message)
	}
	assertReplicas(t, ns, app, map[string]int32{v1: 4, v2: 0})
	r := leadWaitRollout(t, 10*time.Second, ns, app, "the terminated run on record", func(r *v1alpha1.Rollout) bool {
		bg := r.Status.Canary.CurrentBackgroundAnalysisRunStatus
		return bg != nil && bg.Name == run.Name && bg.Status == v1alpha1.AnalysisPhaseSuccessful
	})
	if !r.Status.Abort {
		t.Error("the rollout is not aborted")
	}
}
