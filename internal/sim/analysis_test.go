package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/deploy"
)

// The cluster serves the analysis kinds as `roost install` leaves a real
// one: discovery lists them, their CRDs are established, and roost's
// reconciler creates, measures and follows a step's AnalysisRun on it.
func TestClusterServesAnalysis(t *testing.T) {
	c := running(t, fast)
	ctx := context.Background()

	list, err := c.Kube.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range list.APIResources {
		served[r.Name] = true
	}
	for _, want := range []string{v1alpha1.AnalysisTemplateResource, v1alpha1.ClusterAnalysisTemplateResource, v1alpha1.AnalysisRunResource} {
		if !served[want] {
			t.Errorf("discovery does not list %s: %v", want, served)
		}
		crd, err := c.Dynamic.Resource(deploy.CRDGVR).Get(ctx, want+"."+v1alpha1.Group, metav1.GetOptions{})
		if err != nil {
			t.Errorf("CRD of %s: %v", want, err)
			continue
		}
		if conds := fmt.Sprint(crd.Object["status"]); !strings.Contains(conds, "Established") {
			t.Errorf("CRD of %s is not established: %s", want, conds)
		}
	}

	if err := c.CreateAnalysisTemplate(ctx, &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: testNS}}); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("a template without metrics: got %v, want the validation error", err)
	}

	rate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"rate": 0.01}`)
	}))
	t.Cleanup(rate.Close)
	err = c.CreateAnalysisTemplate(ctx, &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "error-rate", Namespace: testNS},
		Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{{
			Name: "error-rate", Interval: "1s", Count: ptr.To(intstr.FromInt32(2)), SuccessCondition: "result < 0.05",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: rate.URL, JSONPath: "{$.rate}"}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	ctrl, err := controller.New(controller.Config{
		Kube: c.Kube, Dynamic: c.Dynamic, AnalysisRuns: true,
		Providers: analysis.Providers{Web: analysis.NewWebProvider(analysis.WebOptions{})},
	})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(cctx, 2) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller Run: %v", err)
		}
	})

	gated := canary("web", setWeight(20),
		v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}}}},
		setWeight(50), pause())
	if err := c.CreateRollout(ctx, gated); err != nil {
		t.Fatal(err)
	}
	healthy(t, c, "web", 20*time.Second)
	if err := c.SetImage(testNS, "web", "shop:v2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the analysis step passed, the canary at the pause after it", func() (bool, string) {
		r := rolloutState(t, c, "web")
		cs := r.Status.Canary.CurrentStepAnalysisRunStatus
		return stepIs(r, 3) && len(r.Status.PauseConditions) == 1, fmt.Sprintf("step %d, step run %+v", ptr.Deref(r.Status.CurrentStepIndex, -1), cs)
	})
	runs, err := c.Dynamic.Resource(v1alpha1.AnalysisRunGVR).Namespace(testNS).List(ctx, metav1.ListOptions{LabelSelector: "rollout-type=Step"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 {
		t.Fatalf("%d step runs, want 1", len(runs.Items))
	}
	run, errs := v1alpha1.AnalysisRunFromUnstructured(&runs.Items[0])
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(run.Status.MetricResults) != 1 || run.Status.MetricResults[0].Successful != 2 {
		t.Errorf("run %s: phase %s, results %+v; want Successful with 2 successful measurements", run.Name, run.Status.Phase, run.Status.MetricResults)
	}
	if refs := run.OwnerReferences; len(refs) != 1 || refs[0].Name != "web" || !ptr.Deref(refs[0].Controller, false) {
		t.Errorf("run %s is owned by %+v, want the Rollout web", run.Name, refs)
	}
}
