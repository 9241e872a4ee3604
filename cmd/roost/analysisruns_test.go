package main

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// failedRun is an AnalysisRun of rollout shop/checkout that failed on its
// third measurement of error-rate.
func failedRun(name, phase string) *unstructured.Unstructured {
	at := func(ago time.Duration) string { return testNow.Add(-ago).Format(time.RFC3339) }
	measurement := func(phase, value string, ago time.Duration) any {
		return map[string]any{"phase": phase, "value": value, "startedAt": at(ago), "finishedAt": at(ago)}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
		"metadata": map[string]any{
			"name": name, "namespace": "shop", "creationTimestamp": at(4 * time.Minute),
			"labels":          map[string]any{v1alpha1.DefaultRolloutUniqueLabelKey: "new", "rollout-type": "Step", "step-index": "1"},
			"ownerReferences": []any{map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "checkout", "uid": "shop-checkout", "controller": true}},
		},
		"spec": map[string]any{
			"args": []any{map[string]any{"name": "service", "value": "checkout"}},
			"metrics": []any{map[string]any{
				"name": "error-rate", "interval": "1m", "count": int64(5), "failureCondition": "result > 0.02",
				"provider": map[string]any{"datadog": map[string]any{"query": "sum:errors{service:{{args.service}}}"}},
			}},
		},
		"status": map[string]any{
			"phase": phase, "message": `Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`,
			"metricResults": []any{map[string]any{
				"name": "error-rate", "phase": phase, "message": "failed (1) > failureLimit (0)",
				"count": int64(3), "successful": int64(2), "failed": int64(1),
				"measurements": []any{measurement("Successful", "0.006", 3*time.Minute), measurement("Successful", "0.009", 2*time.Minute), measurement("Failed", "0.042", time.Minute)},
			}},
		},
	}}
}

// TestGetAnalysisRuns: `roost get ar` lists the runs; `roost get NAME` shows
// the rollout's with the sentence that decided.
func TestGetAnalysisRuns(t *testing.T) {
	c := newCluster([]*unstructured.Unstructured{ro{ns: "shop", name: "checkout", phase: "Degraded", abort: true, stepIndex: 1}.object(), failedRun("checkout-new-2-1", "Failed")})
	out, errOut, code := c.run(t, "get", "ar")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"NAME", "ROLLOUT", "KIND", "PHASE", "METRICS ✓/✗/?", "AGE", "checkout-new-2-1", "checkout", "step 2", "Failed", "2/1/0", "4m"} {
		if !strings.Contains(out, want) {
			t.Errorf("roost get ar lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = c.run(t, "get", "checkout")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Analysis:", "checkout-new-2-1 (step 2): Failed",
		"error-rate 0.042 > 0.02 at measurement 3 of 5: failed (1) > failureLimit (0) → aborted",
		"0.006 0.009 0.042", "error-rate: fails when result > 0.02; datadog: sum:errors{service:checkout}",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("roost get checkout lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = c.run(t, "get", "checkout", "-o", "json")
	if !strings.Contains(out, `"Analysis": [`) || !strings.Contains(out, `"Name": "checkout-new-2-1"`) {
		t.Errorf("roost get checkout -o json lacks the runs:\n%s", out)
	}
}

// TestTerminateAnalysisRunCommand: the plugin's patch, once; a run that
// ended is left alone; a bad invocation says what to write.
func TestTerminateAnalysisRunCommand(t *testing.T) {
	c := newCluster([]*unstructured.Unstructured{ro{ns: "shop", name: "checkout", phase: "Progressing", stepIndex: 1}.object(),
		failedRun("running", "Running"), failedRun("ended", "Failed")})
	out, errOut, code := c.run(t, "terminate", "analysisrun", "running", "ended")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"analysisrun shop/running: terminated analysisrun running", "analysisrun shop/ended: skipped: analysisrun ended already ended Failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	u, err := c.dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("shop").Get(context.Background(), "running", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if term, _, _ := unstructured.NestedBool(u.Object, "spec", "terminate"); !term {
		t.Error("spec.terminate not set on the running run")
	}
	evs, _ := c.kube.CoreV1().Events("shop").List(context.Background(), metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].Reason != actions.EventAnalysisTerminated || evs.Items[0].InvolvedObject.Name != "checkout" {
		t.Errorf("events %+v, want one %s on rollout checkout", evs.Items, actions.EventAnalysisTerminated)
	}
	if _, errOut, code := c.run(t, "terminate", "checkout"); code == 0 || !strings.Contains(errOut, "roost terminate analysisrun NAME") {
		t.Errorf("`roost terminate checkout`: exit %d, %q; want a usage error naming the form", code, errOut)
	}
}
