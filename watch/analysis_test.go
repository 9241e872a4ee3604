package watch

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// runOf builds an AnalysisRun of the rollout "checkout" for the canary
// "new", as the dynamic client hands it over.
func runOf(t testing.TB, name, kind string, step int, mutate func(*v1alpha1.AnalysisRun)) *unstructured.Unstructured {
	t.Helper()
	labels := map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: "new", runTypeLabel: kind}
	if kind == AnalysisStep {
		labels[runStepIndexLabel] = strconv.Itoa(step)
	}
	url := "https://status.shop/{{args.service}}"
	r := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", Labels: labels, CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Minute)),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: "7"},
			OwnerReferences: []metav1.OwnerReference{{Kind: v1alpha1.Kind, Name: "checkout", UID: "ro", Controller: ptr(true)}},
		},
		Spec: v1alpha1.AnalysisRunSpec{
			Args: []v1alpha1.Argument{
				{Name: "service", Value: ptr("checkout")},
				{Name: "token", ValueFrom: &v1alpha1.ArgumentValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "dd", Key: "k"}}},
			},
			Metrics: []v1alpha1.Metric{
				{
					Name: "error-rate", Interval: "30s", Count: ptr(intstr.FromInt(5)), FailureCondition: "result > 0.02",
					Provider: v1alpha1.MetricProvider{Datadog: &v1alpha1.DatadogMetric{Query: "sum:errors{service:{{args.service}}} / sum:hits{service:{{ args.service }}}"}},
				},
				{
					Name: "p95", Interval: "30s", Count: ptr(intstr.FromString("{{args.count}}")), SuccessCondition: "result < 300",
					Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: url, JSONPath: "{$.p95}", Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "{{args.token}}"}}}},
				},
			},
			DryRun: []v1alpha1.DryRun{{MetricName: "p9.*"}},
		},
		Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: ptr(metav1.NewTime(now.Add(-3 * time.Minute)))},
	}
	if mutate != nil {
		mutate(r)
	}
	u, err := v1alpha1.AnalysisRunToUnstructured(r)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// measured gives a metric result its measurements, one a minute from 5
// minutes ago, each counted as Argo counts it.
func measured(name string, phase v1alpha1.AnalysisPhase, message string, ms ...v1alpha1.Measurement) v1alpha1.MetricResult {
	r := v1alpha1.MetricResult{Name: name, Phase: phase, Message: message}
	for i, m := range ms {
		at := metav1.NewTime(now.Add(time.Duration(i-len(ms)) * time.Minute))
		m.StartedAt, m.FinishedAt = &at, &at
		r.Measurements = append(r.Measurements, m)
		switch m.Phase {
		case v1alpha1.AnalysisPhaseSuccessful:
			r.Successful++
			r.Count++
		case v1alpha1.AnalysisPhaseFailed:
			r.Failed++
			r.Count++
		case v1alpha1.AnalysisPhaseInconclusive:
			r.Inconclusive++
			r.Count++
		case v1alpha1.AnalysisPhaseError:
			r.Error++
			r.ConsecutiveError++
		}
	}
	return r
}

func ok(v string) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: v}
}

func TestAnalysisOf(t *testing.T) {
	ro := rollout(func(r *v1alpha1.Rollout) {
		r.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "checkout-new-7-2", Status: v1alpha1.AnalysisPhaseRunning}
	})
	step := runOf(t, "checkout-new-7-2", AnalysisStep, 2, func(r *v1alpha1.AnalysisRun) {
		r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseRunning, "", ok("0.011"), ok("0.012"), ok("0.009"))}
	})
	older := runOf(t, "checkout-old-6-2", AnalysisStep, 2, func(r *v1alpha1.AnalysisRun) {
		r.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = "old"
		r.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))
		r.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
	})
	foreign := runOf(t, "cart-new-3", AnalysisBackground, 0, func(r *v1alpha1.AnalysisRun) {
		r.OwnerReferences[0].Name, r.OwnerReferences[0].UID = "cart", "cart"
	})
	got := AnalysisOf(ro, []*unstructured.Unstructured{older, foreign, step}, now)
	if len(got) != 2 || got[0].Name != "checkout-new-7-2" || got[1].Name != "checkout-old-6-2" {
		t.Fatalf("runs %+v, want the current step run, then the older one (not cart's)", got)
	}
	a := got[0]
	if !a.Current || a.Kind != AnalysisStep || a.Step != 3 || a.Where() != "step 3" || a.PodHash != "new" || a.Revision != "7" {
		t.Errorf("run %+v: want current, step 3 (index 2), canary new, revision 7", a)
	}
	if len(a.Metrics) != 2 {
		t.Fatalf("metrics %+v, want 2", a.Metrics)
	}
	er, p95 := a.Metrics[0], a.Metrics[1]
	if er.Query != "sum:errors{service:checkout} / sum:hits{service:checkout}" || er.Provider != "datadog" {
		t.Errorf("query %q (%s), want the arguments put in", er.Query, er.Provider)
	}
	if er.Count != 5 || !er.Bounded || er.FailureLimit != 0 || er.ConsecutiveErrorLimit != 4 || er.Measured != 3 || er.Successful != 3 {
		t.Errorf("error-rate counts %+v", er)
	}
	if len(er.Measurements) != 3 || er.Measurements[2].Value != "0.009" {
		t.Errorf("measurements %+v", er.Measurements)
	}
	if want := now.Add(-time.Minute).Add(30 * time.Second); !er.Next.Equal(want) {
		t.Errorf("next measurement %v, want %v (30s after the last)", er.Next, want)
	}
	if !p95.DryRun || p95.Phase != v1alpha1.AnalysisPhasePending || p95.Query != "GET https://status.shop/checkout {$.p95}" {
		t.Errorf("p95 %+v: want a pending dry run reading the web URL", p95)
	}
	if p95.Bounded || p95.Count != 0 {
		t.Errorf("p95 count %d bounded %v: an unresolved {{args.count}} with an interval measures until the run ends", p95.Count, p95.Bounded)
	}
	if !p95.Next.Equal(now.Add(-3 * time.Minute)) {
		t.Errorf("p95 first measurement due %v, want the run's start", p95.Next)
	}
}

func TestAnalysisOfKeepsSecretsOut(t *testing.T) {
	u := runOf(t, "r", AnalysisBackground, 0, func(r *v1alpha1.AnalysisRun) {
		r.Spec.Metrics[0].Provider.Datadog.Query = "sum:errors{token:{{args.token}}}"
	})
	got := AnalysisOf(rollout(nil), []*unstructured.Unstructured{u}, now)
	if q := got[0].Metrics[0].Query; q != "sum:errors{token:*****}" {
		t.Errorf("query %q, want the secret argument as *****", q)
	}
}

func TestAnalysisOfKeepsAtMost(t *testing.T) {
	var runs []*unstructured.Unstructured
	for i := range 10 {
		runs = append(runs, runOf(t, "run-"+string(rune('a'+i)), AnalysisBackground, 0, func(r *v1alpha1.AnalysisRun) {
			r.CreationTimestamp = metav1.NewTime(now.Add(time.Duration(i) * time.Minute))
		}))
	}
	got := AnalysisOf(rollout(nil), runs, now)
	if len(got) != MaxAnalysisRuns || got[0].Name != "run-j" {
		t.Errorf("kept %d runs, newest %q; want %d, run-j first", len(got), got[0].Name, MaxAnalysisRuns)
	}
}

// TestAnalysisDecision: the one sentence that says why a run ended and what
// it did to the canary.
func TestAnalysisDecision(t *testing.T) {
	failed := func(r *v1alpha1.Rollout) {
		r.Status.Abort, r.Status.Phase, r.Status.PauseConditions = true, v1alpha1.PhaseDegraded, nil
	}
	inconclusive := func(r *v1alpha1.Rollout) {
		r.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis, StartTime: metav1.NewTime(now)}}
	}
	for _, tc := range []struct {
		name    string
		rollout func(*v1alpha1.Rollout)
		run     func(*v1alpha1.AnalysisRun)
		want    string
	}{
		{"failure condition met", failed, func(r *v1alpha1.AnalysisRun) {
			r.Status.Phase = v1alpha1.AnalysisPhaseFailed
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseFailed, "failed (1) > failureLimit (0)",
				ok("0.011"), ok("0.015"), v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "0.042"})}
		}, "error-rate 0.042 > 0.02 at measurement 3 of 5: failed (1) > failureLimit (0) → aborted"},
		{"success condition not met", failed, func(r *v1alpha1.AnalysisRun) {
			r.Spec.Metrics[0].FailureCondition, r.Spec.Metrics[0].SuccessCondition = "", "result < 0.05"
			r.Status.Phase = v1alpha1.AnalysisPhaseFailed
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseFailed, "failed (1) > failureLimit (0)",
				v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "0.2"})}
		}, "error-rate 0.2, not < 0.05 at measurement 1 of 5: failed (1) > failureLimit (0) → aborted"},
		{"a condition in its own words", failed, func(r *v1alpha1.AnalysisRun) {
			r.Spec.Metrics[0].FailureCondition = "result == nil || result > 0.02"
			r.Status.Phase = v1alpha1.AnalysisPhaseFailed
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseFailed, "failed (1) > failureLimit (0)",
				v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "[]"})}
		}, "error-rate [] (failureCondition result == nil || result > 0.02) at measurement 1 of 5: failed (1) > failureLimit (0) → aborted"},
		{"errors in a row", failed, func(r *v1alpha1.AnalysisRun) {
			r.Status.Phase = v1alpha1.AnalysisPhaseError
			e := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: "received authentication error response code: 403 Forbidden"}
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseError, "consecutiveErrors (5) > consecutiveErrorLimit (4)", e, e, e, e, e)}
		}, `error-rate could not be measured: consecutiveErrors (5) > consecutiveErrorLimit (4), last error "received authentication error response code: 403 Forbidden" → aborted`},
		{"inconclusive", inconclusive, func(r *v1alpha1.AnalysisRun) {
			r.Spec.Metrics[0].SuccessCondition = "result < 0.05"
			r.Spec.Metrics[0].FailureCondition = "result > 0.5"
			r.Status.Phase = v1alpha1.AnalysisPhaseInconclusive
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseInconclusive, "inconclusive (1) > inconclusiveLimit (0)",
				v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseInconclusive, Value: "0.2"})}
		}, "error-rate 0.2, neither < 0.05 nor > 0.5 at measurement 1 of 5: inconclusive (1) > inconclusiveLimit (0) → paused for a person: promote to accept it, or abort"},
		{"inconclusive, promoted, paused at a later step", func(r *v1alpha1.Rollout) {
			r.Status.CurrentStepIndex = ptr(int32(3))
		}, func(r *v1alpha1.AnalysisRun) {
			r.Spec.Metrics[0].SuccessCondition = "result < 0.05"
			r.Spec.Metrics[0].FailureCondition = "result > 0.5"
			r.Status.Phase = v1alpha1.AnalysisPhaseInconclusive
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseInconclusive, "inconclusive (1) > inconclusiveLimit (0)",
				v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseInconclusive, Value: "0.2"})}
		}, "error-rate 0.2, neither < 0.05 nor > 0.5 at measurement 1 of 5: inconclusive (1) > inconclusiveLimit (0) → accepted: promoted past step 3"},
		{"passed", nil, func(r *v1alpha1.AnalysisRun) {
			r.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseSuccessful, "", ok("0.01"), ok("0.01"))}
		}, "every metric passed (2 measurements successful) → step 3 passed"},
		{"terminated", nil, func(r *v1alpha1.AnalysisRun) {
			r.Spec.Terminate = true
			r.Status.Phase, r.Status.Message = v1alpha1.AnalysisPhaseSuccessful, "Run Terminated"
		}, "terminated before every measurement was taken: it counts as passed → step 3 passed"},
		{"still measuring", nil, nil, ""},
		{"failed while the canary is still up", nil, func(r *v1alpha1.AnalysisRun) {
			r.Status.Phase = v1alpha1.AnalysisPhaseFailed
			r.Status.MetricResults = []v1alpha1.MetricResult{measured("error-rate", v1alpha1.AnalysisPhaseFailed, "failed (1) > failureLimit (0)",
				v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "0.3"})}
		}, "error-rate 0.3 > 0.02 at measurement 1 of 5: failed (1) > failureLimit (0) → the canary is being aborted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := rollout(func(r *v1alpha1.Rollout) {
				r.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "run"}
				if tc.rollout != nil {
					tc.rollout(r)
				}
			})
			v := Snapshot(ro, nil, nil, nil, now)
			v.Canary = &ReplicaSet{Name: "checkout-new"}
			v.Analysis = AnalysisOf(ro, []*unstructured.Unstructured{runOf(t, "run", AnalysisStep, 2, tc.run)}, now)
			if got := v.AnalysisDecision(&v.Analysis[0]); got != tc.want {
				t.Errorf("decision\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestAnalysisUrgency: a failed analysis sorts first, with its reason; an
// inconclusive one waits with the promotes, ahead of them.
func TestAnalysisUrgency(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rollout func(*v1alpha1.Rollout)
		phase   v1alpha1.AnalysisPhase
		want    Urgency
	}{
		{"aborted by its analysis", func(r *v1alpha1.Rollout) {
			r.Status.Abort, r.Status.Phase = true, v1alpha1.PhaseDegraded
		}, v1alpha1.AnalysisPhaseFailed, UrgencyAnalysisFailed},
		{"paused on an inconclusive run", func(r *v1alpha1.Rollout) {
			r.Status.PauseConditions[0].Reason = v1alpha1.PauseReasonInconclusiveAnalysis
		}, v1alpha1.AnalysisPhaseInconclusive, UrgencyAnalysisInconclusive},
		{"inconclusive, promoted, at a timed pause", func(r *v1alpha1.Rollout) {
			r.Status.CurrentStepIndex = ptr(int32(3))
		}, v1alpha1.AnalysisPhaseInconclusive, UrgencyProgressing},
		{"analysis running at a timed pause", func(r *v1alpha1.Rollout) {
			r.Status.CurrentStepIndex = ptr(int32(3))
		}, v1alpha1.AnalysisPhaseRunning, UrgencyProgressing},
		{"aborted by a person, analysis fine", func(r *v1alpha1.Rollout) {
			r.Status.Abort, r.Status.Phase = true, v1alpha1.PhaseDegraded
		}, v1alpha1.AnalysisPhaseSuccessful, UrgencyDegraded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := rollout(tc.rollout)
			ro.Status.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "bg"}
			v := Snapshot(ro, nil, nil, nil, now)
			v.Canary = &ReplicaSet{Name: "checkout-new"}
			v.Analysis = AnalysisOf(ro, []*unstructured.Unstructured{runOf(t, "bg", AnalysisBackground, 0, func(r *v1alpha1.AnalysisRun) { r.Status.Phase = tc.phase })}, now)
			if got := UrgencyOf(&v); got != tc.want {
				t.Errorf("urgency %d, want %d", got, tc.want)
			}
		})
	}
}

func TestResolveArgs(t *testing.T) {
	args := map[string]string{"service": "checkout", "env": "prod"}
	for in, want := range map[string]string{
		"{{args.service}}":                 "checkout",
		"a{{ args.service }}b{{args.env}}": "acheckoutbprod",
		"{{args.missing}} stays":           "{{args.missing}} stays",
		"no braces":                        "no braces",
		"{{ unclosed":                      "{{ unclosed",
	} {
		if got := resolveArgs(in, args); got != want {
			t.Errorf("resolveArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkAnalysisOf derives one run of three metrics with ten
// measurements each: the cost each change of a run adds to re-deriving its
// rollout. The B/op figure is what a run's view costs in memory.
func BenchmarkAnalysisOf(b *testing.B) {
	ro := rollout(func(r *v1alpha1.Rollout) {
		r.Status.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "bg"}
	})
	u := runOf(b, "bg", AnalysisBackground, 0, func(r *v1alpha1.AnalysisRun) {
		r.Spec.Metrics = append(r.Spec.Metrics, r.Spec.Metrics[0])
		r.Spec.Metrics[2].Name = "latency"
		var ms []v1alpha1.Measurement
		for i := range 10 {
			ms = append(ms, ok(strings.Repeat("1", i+1)))
		}
		for _, name := range []string{"error-rate", "p95", "latency"} {
			r.Status.MetricResults = append(r.Status.MetricResults, measured(name, v1alpha1.AnalysisPhaseRunning, "", ms...))
		}
	})
	runs := []*unstructured.Unstructured{u}
	b.ReportAllocs()
	for b.Loop() {
		if got := AnalysisOf(ro, runs, now); len(got) != 1 {
			b.Fatal(len(got))
		}
	}
}

// TestRecordedPhase: a run read before it ended takes the phase and message
// its Rollout records of it; a run read at its latest is never overruled,
// and another run's record is not taken.
func TestRecordedPhase(t *testing.T) {
	rec := func(name string, phase v1alpha1.AnalysisPhase) *v1alpha1.RolloutAnalysisRunStatus {
		return &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: phase, Message: "recorded " + string(phase)}
	}
	for _, tc := range []struct {
		name       string
		read       v1alpha1.AnalysisPhase
		step, bg   *v1alpha1.RolloutAnalysisRunStatus
		want       v1alpha1.AnalysisPhase
		wantRecord bool
	}{
		{"no record", v1alpha1.AnalysisPhaseRunning, nil, nil, v1alpha1.AnalysisPhaseRunning, false},
		{"read running, recorded failed", v1alpha1.AnalysisPhaseRunning, nil, rec("r", v1alpha1.AnalysisPhaseFailed), v1alpha1.AnalysisPhaseFailed, true},
		{"metadata only, recorded running", "", rec("r", v1alpha1.AnalysisPhaseRunning), nil, v1alpha1.AnalysisPhaseRunning, true},
		{"read pending, recorded inconclusive", v1alpha1.AnalysisPhasePending, rec("r", v1alpha1.AnalysisPhaseInconclusive), nil, v1alpha1.AnalysisPhaseInconclusive, true},
		{"read failed, record behind", v1alpha1.AnalysisPhaseFailed, nil, rec("r", v1alpha1.AnalysisPhaseRunning), v1alpha1.AnalysisPhaseFailed, false},
		{"read successful, recorded failed: both ended, the run wins", v1alpha1.AnalysisPhaseSuccessful, nil, rec("r", v1alpha1.AnalysisPhaseFailed), v1alpha1.AnalysisPhaseSuccessful, false},
		{"another run's record", v1alpha1.AnalysisPhaseRunning, nil, rec("other", v1alpha1.AnalysisPhaseFailed), v1alpha1.AnalysisPhaseRunning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{}
			ro.Status.Canary.CurrentStepAnalysisRunStatus, ro.Status.Canary.CurrentBackgroundAnalysisRunStatus = tc.step, tc.bg
			a := AnalysisRun{Name: "r", Phase: tc.read, Message: "as read"}
			recordedPhase(&a, ro)
			if a.Phase != tc.want {
				t.Errorf("phase %q, want %q", a.Phase, tc.want)
			}
			if got := a.Message != "as read"; got != tc.wantRecord {
				t.Errorf("message %q: taken from the record %v, want %v", a.Message, got, tc.wantRecord)
			}
		})
	}
}

// TestAnalysisOfUnreadRun: a current run the Rollout records but that was
// never read (a dashboard follows only the runs of the rollouts on screen)
// shows as the record says, first, and the runs read keep their place
// after it within MaxAnalysisRuns.
func TestAnalysisOfUnreadRun(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", UID: "ro"}}
	ro.Status.CurrentPodHash = "newer"
	ro.Status.CurrentStepIndex = ptr(int32(2))
	ro.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "checkout-newer-2", Status: v1alpha1.AnalysisPhaseFailed, Message: "metric error-rate assessed Failed"}
	var runs []*unstructured.Unstructured
	for i := range MaxAnalysisRuns {
		runs = append(runs, runOf(t, fmt.Sprintf("older-%d", i), AnalysisBackground, 0, func(r *v1alpha1.AnalysisRun) {
			r.CreationTimestamp = metav1.NewTime(now.Add(-time.Duration(10+i) * time.Minute))
		}))
	}
	got := AnalysisOf(ro, runs, now)
	if len(got) != MaxAnalysisRuns {
		t.Fatalf("%d runs, want %d", len(got), MaxAnalysisRuns)
	}
	want := AnalysisRun{Name: "checkout-newer-2", Kind: AnalysisStep, Step: 3, PodHash: "newer", Phase: v1alpha1.AnalysisPhaseFailed, Message: "metric error-rate assessed Failed", Current: true}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("first run %+v, want %+v from the record", got[0], want)
	}
	for i, a := range got[1:] {
		if a.Name != fmt.Sprintf("older-%d", i) {
			t.Errorf("run %d is %s, want older-%d (newest first)", i+1, a.Name, i)
		}
	}
	// Once read, the run itself shows, once.
	runs = append(runs, runOf(t, "checkout-newer-2", AnalysisStep, 2, nil))
	got = AnalysisOf(ro, runs, now)
	if got[0].Name != "checkout-newer-2" || len(got[0].Metrics) == 0 || got[0].Phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("read, the current run is %+v, want it with its metrics and the recorded phase", got[0])
	}
	if got[1].Name == "checkout-newer-2" {
		t.Error("the current run shows twice")
	}
}
