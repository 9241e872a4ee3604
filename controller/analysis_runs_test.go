package controller

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// TestOtherRuns: which of a Rollout's runs that are not current are
// terminated and which deleted, by Argo Rollouts' rules
// (FilterAnalysisRunsToDelete and the history limits).
func TestOtherRuns(t *testing.T) {
	now := metav1.Now()
	rs := func(hash string, deleting bool) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "shop-" + hash, Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}}}
		if deleting {
			r.DeletionTimestamp = &now
		}
		return r
	}
	run := func(name, hash string, phase v1alpha1.AnalysisPhase) *v1alpha1.AnalysisRun {
		r := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if hash != "" {
			r.Labels = map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}
		}
		r.Status.Phase = phase
		return r
	}
	names := func(runs []*v1alpha1.AnalysisRun) []string {
		var out []string
		for _, r := range runs {
			out = append(out, r.Name)
		}
		return out
	}
	rss := []*appsv1.ReplicaSet{rs("v3", false), rs("v2", false), nil, rs("v1", true)}
	for _, tc := range []struct {
		name              string
		owned             []*v1alpha1.AnalysisRun
		current           []*v1alpha1.AnalysisRun
		ok, bad           int
		terminate, remove []string
	}{
		{name: "current runs are left alone",
			owned:   []*v1alpha1.AnalysisRun{run("a", "v3", v1alpha1.AnalysisPhaseRunning)},
			current: []*v1alpha1.AnalysisRun{run("a", "v3", v1alpha1.AnalysisPhaseRunning), nil}, ok: 5, bad: 5},
		{name: "a run still measuring is terminated",
			owned: []*v1alpha1.AnalysisRun{run("a", "v2", v1alpha1.AnalysisPhaseRunning), run("b", "v2", "")}, ok: 5, bad: 5,
			terminate: []string{"a", "b"}},
		{name: "no pod-hash label: deleted, even running",
			owned: []*v1alpha1.AnalysisRun{run("a", "", v1alpha1.AnalysisPhaseRunning), run("b", "", v1alpha1.AnalysisPhaseSuccessful)}, ok: 5, bad: 5,
			remove: []string{"a", "b"}},
		{name: "its ReplicaSet is gone or being deleted: deleted",
			owned: []*v1alpha1.AnalysisRun{run("gone", "v0", v1alpha1.AnalysisPhaseFailed), run("deleting", "v1", v1alpha1.AnalysisPhaseSuccessful), run("kept", "v2", v1alpha1.AnalysisPhaseFailed)}, ok: 5, bad: 5,
			remove: []string{"gone", "deleting"}},
		{name: "history limits keep the newest of each kind",
			owned: []*v1alpha1.AnalysisRun{
				run("ok1", "v2", v1alpha1.AnalysisPhaseSuccessful), run("bad1", "v2", v1alpha1.AnalysisPhaseFailed),
				run("ok2", "v2", v1alpha1.AnalysisPhaseSuccessful), run("bad2", "v2", v1alpha1.AnalysisPhaseError),
				run("ok3", "v3", v1alpha1.AnalysisPhaseSuccessful), run("bad3", "v3", v1alpha1.AnalysisPhaseInconclusive),
			}, ok: 1, bad: 2,
			remove: []string{"ok1", "ok2", "bad1"}},
		{name: "limit 0 keeps none",
			owned: []*v1alpha1.AnalysisRun{run("ok1", "v2", v1alpha1.AnalysisPhaseSuccessful)}, ok: 0, bad: 0,
			remove: []string{"ok1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term, rm := otherRuns(tc.owned, tc.current, rss, tc.ok, tc.bad)
			if got := names(term); !slices.Equal(got, tc.terminate) {
				t.Errorf("terminate %v, want %v", got, tc.terminate)
			}
			if got := names(rm); !slices.Equal(got, tc.remove) {
				t.Errorf("delete %v, want %v", got, tc.remove)
			}
		})
	}
}
