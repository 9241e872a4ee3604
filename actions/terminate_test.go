package actions

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// testRun is an AnalysisRun of the rollout "checkout" (uid ro-uid) in
// phase, terminating when terminate is set.
func testRun(name, owner, phase string, terminate bool) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "AnalysisRun",
		"metadata": map[string]any{"name": name, "namespace": "shop", "uid": name + "-uid",
			"ownerReferences": []any{map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": owner, "uid": owner + "-uid", "controller": true}}},
		"spec":   map[string]any{"metrics": []any{map[string]any{"name": "error-rate"}}},
		"status": map[string]any{"phase": phase},
	}}
	if terminate {
		u.Object["spec"].(map[string]any)["terminate"] = true
	}
	if owner == "" {
		u.SetOwnerReferences(nil)
	}
	return u
}

func TestTerminateAnalysis(t *testing.T) {
	ro := testRollout(nil)
	ro.SetUID("checkout-uid")
	for _, tc := range []struct {
		name    string
		run     *unstructured.Unstructured
		expect  *Expect
		patches []sentPatch
		summary string
		err     string
	}{
		{"running", testRun("checkout-canaryhash-2-1", "checkout", "Running", false), nil,
			[]sentPatch{{types.MergePatchType, "", `{"spec":{"terminate":true}}`}},
			`terminated analysisrun checkout-canaryhash-2-1: no more measurements; it ends Successful ("Run Terminated") unless a metric already failed`, ""},
		{"already ended", testRun("checkout-canaryhash-2-1", "checkout", "Failed", false), nil, nil,
			"skipped: analysisrun checkout-canaryhash-2-1 already ended Failed; nothing to terminate", ""},
		{"already terminating", testRun("checkout-canaryhash-2-1", "checkout", "Running", true), nil, nil,
			"skipped: analysisrun checkout-canaryhash-2-1 is already terminating", ""},
		{"another rollout's", testRun("cart-x-1", "cart", "Running", false), nil, nil, "", "does not belong to rollout checkout"},
		{"the rollout moved on", testRun("checkout-canaryhash-2-1", "checkout", "Running", false),
			&Expect{PodHash: "older", Step: 1, Steps: 4, Revision: true}, nil, "", "a new revision is rolling out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, []*unstructured.Unstructured{ro, tc.run})
			ctx := context.Background()
			if tc.expect != nil {
				ctx = WithExpect(ctx, *tc.expect)
			}
			res, err := f.act.TerminateAnalysis(ctx, "shop", "checkout", tc.run.GetName())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				if tc.expect != nil && !errors.Is(err, ErrMovedOn) {
					t.Errorf("error %v does not wrap ErrMovedOn", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.Summary != tc.summary {
				t.Errorf("summary %q, want %q", res.Summary, tc.summary)
			}
			got := f.patches()
			if len(got) != len(tc.patches) {
				t.Fatalf("patches %+v, want %+v", got, tc.patches)
			}
			for i := range got {
				if got[i] != tc.patches[i] {
					t.Errorf("patch %d: %+v, want %+v", i, got[i], tc.patches[i])
				}
			}
			evs := f.events(t)
			if len(tc.patches) == 0 {
				if len(evs) != 0 {
					t.Errorf("events %+v after sending nothing", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].Reason != EventAnalysisTerminated || evs[0].InvolvedObject.Kind != "Rollout" ||
				evs[0].InvolvedObject.Name != "checkout" || evs[0].Message != "analysis run "+tc.run.GetName()+" terminated by alice@example.com" ||
				evs[0].Annotations[ActorAnnotation] != "alice@example.com" {
				t.Errorf("events %+v, want one %s on the rollout naming alice", evs, EventAnalysisTerminated)
			}
		})
	}
}

// TestTerminateAnalysisRun: the CLI's form names the run alone; a run no
// Rollout owns gets the Event itself.
func TestTerminateAnalysisRun(t *testing.T) {
	ro := testRollout(nil)
	ro.SetUID("checkout-uid")
	f := newFixture(t, []*unstructured.Unstructured{ro, testRun("owned", "checkout", "Running", false), testRun("loose", "", "", false)})
	for _, name := range []string{"owned", "loose"} {
		if _, err := f.act.TerminateAnalysisRun(context.Background(), "shop", name); err != nil {
			t.Fatal(err)
		}
	}
	evs := f.events(t)
	if len(evs) != 2 {
		t.Fatalf("events %+v, want 2", evs)
	}
	kinds := map[string]string{}
	for _, e := range evs {
		kinds[e.InvolvedObject.Name] = e.InvolvedObject.Kind
	}
	if kinds["checkout"] != "Rollout" || kinds["loose"] != "AnalysisRun" {
		t.Errorf("events on %v, want one on rollout checkout and one on the run loose", kinds)
	}
	_, err := f.act.TerminateAnalysisRun(context.Background(), "shop", "missing")
	if err == nil || !strings.Contains(err.Error(), "roost get analysisruns -n shop") {
		t.Errorf("error %v, want one saying how to list the runs", err)
	}
}
