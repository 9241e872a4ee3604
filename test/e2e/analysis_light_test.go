//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/watch"
)

// TestRunsFollowedOnScreenOnly: a dashboard without a reconciler follows
// AnalysisRuns for the rollouts on screen only (watch.Options.
// WantedRunsOnly), on the real API server. The first list brings every run
// in full; afterwards a run's new measurement re-derives its rollout only
// when the rollout is on screen (SetWanted), which then shows the run as it
// is now. A rollout off screen keeps its counts as last read, but its
// urgency follows the Rollout's own record of its runs, even of a run
// started since; coming on screen, it is re-derived with its runs read
// afresh. A rollout on screen that moves to a new revision has its new
// run followed.
func TestRunsFollowedOnScreenOnly(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dyn := dynamicClient(t)

	// Two rollouts, each with a background run that measured once.
	uids := map[string]types.UID{}
	for _, name := range []string{"shown", "hidden"} {
		createRollout(t, kwokRollout(ns, name).Replicas(1).Rollout())
		u, err := dyn.Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids[name] = u.GetUID()
		createRun(ctx, t, ns, name, name+"-run", "h-"+name, uids[name])
		measure(ctx, t, ns, name+"-run", 1, v1alpha1.AnalysisPhaseRunning)
		// The Rollout records its current background run, as a
		// reconciler does.
		recordRun(ctx, t, ns, name, name+"-run", "h-"+name, v1alpha1.AnalysisPhaseRunning)
	}

	w, err := watch.New(watch.Options{Kube: env.Client(), Dynamic: dyn, WantedRunsOnly: true, Namespace: ns, AnalysisRuns: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(ctx)
	if !w.WaitForCacheSync(ctx) || !w.WaitAnalysisRunsListed(ctx) {
		t.Fatal("the watches never listed")
	}
	if n, listed := w.AnalysisRunsListed(); !listed || n != 2 || w.AnalysisRunInformer() != nil {
		t.Fatalf("runs listed %v, %d known, informer %v: want the 2 runs listed and no informer of every run", listed, n, w.AnalysisRunInformer())
	}
	store := watch.NewStore(w)
	shown, hidden := watch.Key{Namespace: ns, Name: "shown"}, watch.Key{Namespace: ns, Name: "hidden"}
	drain(ctx, w)
	store.Update([]watch.Key{shown, hidden}, time.Now())
	for _, k := range []watch.Key{shown, hidden} {
		if got := measured(t, store, k); got != 1 {
			t.Fatalf("%s: %d measurements from the first list, want 1", k, got)
		}
	}

	w.SetWanted(map[watch.Key]bool{shown: true})
	// The shown rollout's runs are listed again for the new selection:
	// wait for that to settle before measuring.
	time.Sleep(time.Second)
	drain(ctx, w)
	// The hidden rollout's run measures again: nothing to re-derive.
	measure(ctx, t, ns, "hidden-run", 2, v1alpha1.AnalysisPhaseRunning)
	// The shown one's does: it is re-derived with the run as it is now.
	measure(ctx, t, ns, "shown-run", 2, v1alpha1.AnalysisPhaseRunning)
	keys := dirtyWithin(ctx, t, w, 5*time.Second, shown)
	if keys[hidden] {
		t.Fatalf("a measurement of an off-screen rollout's run re-derives it: %v", keys)
	}
	store.Update([]watch.Key{shown, hidden}, time.Now())
	if got := measured(t, store, shown); got != 2 {
		t.Errorf("shown: %d measurements after its run measured again, want 2", got)
	}
	if got := measured(t, store, hidden); got != 1 {
		t.Errorf("hidden: %d measurements, want 1 as last read (it is off screen)", got)
	}

	// The hidden run fails, and its Rollout records it: the rollout needs
	// someone, though its run was not read again.
	measure(ctx, t, ns, "hidden-run", 3, v1alpha1.AnalysisPhaseFailed)
	recordRun(ctx, t, ns, "hidden", "hidden-run", "h-hidden", v1alpha1.AnalysisPhaseFailed)
	dirtyWithin(ctx, t, w, 5*time.Second, hidden)
	store.Update([]watch.Key{hidden}, time.Now())
	r, _ := store.Detail(hidden)
	if a := r.AnalysisNow(); a == nil || a.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("hidden: analysis %+v, want Failed from its Rollout's record", a)
	}

	// Off screen, the hidden rollout starts a new run, never read: its
	// Rollout's record is what shows.
	createRun(ctx, t, ns, "hidden", "hidden-run-2", "h-hidden-2", uids["hidden"])
	recordRun(ctx, t, ns, "hidden", "hidden-run-2", "h-hidden-2", v1alpha1.AnalysisPhaseInconclusive)
	dirtyWithin(ctx, t, w, 5*time.Second, hidden)
	store.Update([]watch.Key{hidden}, time.Now())
	r, _ = store.Detail(hidden)
	if a := r.AnalysisNow(); a == nil || a.Name != "hidden-run-2" || a.Phase != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("hidden: analysis %+v, want hidden-run-2 Inconclusive from its Rollout's record", a)
	}

	// On screen, it is re-derived with its runs as they are now.
	w.SetWanted(map[watch.Key]bool{shown: true, hidden: true})
	dirtyWithin(ctx, t, w, 5*time.Second, hidden)
	store.Update([]watch.Key{hidden}, time.Now())
	r, _ = store.Detail(hidden)
	var old *watch.AnalysisRun
	for i := range r.Analysis {
		if r.Analysis[i].Name == "hidden-run" {
			old = &r.Analysis[i]
		}
	}
	if old == nil || len(old.Metrics) == 0 || len(old.Metrics[0].Measurements) != 3 {
		t.Errorf("hidden on screen: its first run %+v, want it read afresh with 3 measurements", old)
	}
	if a := r.AnalysisNow(); a == nil || a.Name != "hidden-run-2" || len(a.Metrics) != 1 {
		t.Errorf("hidden on screen: its current run %+v, want hidden-run-2 read in full", a)
	}

	// The shown rollout moves to a new revision with a new run: followed
	// as soon as its Rollout says so.
	recordRun(ctx, t, ns, "shown", "shown-run-2", "h-shown-2", v1alpha1.AnalysisPhaseRunning)
	time.Sleep(time.Second)
	drain(ctx, w)
	createRun(ctx, t, ns, "shown", "shown-run-2", "h-shown-2", uids["shown"])
	measure(ctx, t, ns, "shown-run-2", 4, v1alpha1.AnalysisPhaseRunning)
	deadline := time.Now().Add(10 * time.Second)
	for {
		dirtyWithin(ctx, t, w, 10*time.Second, shown)
		store.Update([]watch.Key{shown}, time.Now())
		r, _ = store.Detail(shown)
		if a := r.AnalysisNow(); a != nil && a.Name == "shown-run-2" && len(a.Metrics) == 1 && len(a.Metrics[0].Measurements) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shown: analysis %+v, want its new run shown-run-2 followed with 4 measurements", r.AnalysisNow())
		}
	}
}

// createRun creates AnalysisRun name of rollout (uid), labelled with the
// revision's pod-template hash as Argo Rollouts labels it, with one
// metric measured every 30 s.
func createRun(ctx context.Context, t *testing.T, ns, rollout, name, hash string, uid types.UID) {
	t.Helper()
	run := &v1alpha1.AnalysisRun{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.AnalysisRunKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"rollout-type": "Background", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.Kind,
				Name: rollout, UID: uid, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "error-rate", Interval: "30s", SuccessCondition: "result < 0.05",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://rates.example/rate", JSONPath: "{$.rate}"}}}}},
	}
	ru, err := v1alpha1.AnalysisRunToUnstructured(run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamicClient(t).Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).Create(ctx, ru, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create run %s of %s: %v", name, rollout, err)
	}
}

// measure writes a run's status (AnalysisRuns have no status subresource,
// as in Argo Rollouts): n measurements of its one metric, the run
// and the metric in phase.
func measure(ctx context.Context, t *testing.T, ns, name string, n int, phase v1alpha1.AnalysisPhase) {
	t.Helper()
	ms := make([]any, n)
	for i := range ms {
		p := v1alpha1.AnalysisPhaseSuccessful
		if i == n-1 && phase == v1alpha1.AnalysisPhaseFailed {
			p = phase
		}
		ms[i] = map[string]any{"phase": string(p), "value": fmt.Sprintf("0.0%d", i+1), "startedAt": time.Now().UTC().Format(time.RFC3339), "finishedAt": time.Now().UTC().Format(time.RFC3339)}
	}
	runs := dynamicClient(t).Resource(v1alpha1.AnalysisRunGVR).Namespace(ns)
	u, err := runs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = map[string]any{"phase": string(phase), "startedAt": time.Now().UTC().Format(time.RFC3339),
		"metricResults": []any{map[string]any{"name": "error-rate", "phase": string(phase), "count": int64(n), "successful": int64(n), "measurements": ms}}}
	if _, err := runs.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("write %s's status: %v", name, err)
	}
}

// recordRun writes the Rollout's record of its current background run,
// and its current revision's pod-template hash.
func recordRun(ctx context.Context, t *testing.T, ns, rollout, run, hash string, phase v1alpha1.AnalysisPhase) {
	t.Helper()
	ros := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns)
	patch := fmt.Sprintf(`{"status":{"currentPodHash":%q,"canary":{"currentBackgroundAnalysisRunStatus":{"name":%q,"status":%q,"message":"metric error-rate assessed %s"}}}}`, hash, run, phase, phase)
	if _, err := ros.Patch(ctx, rollout, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("record %s's run: %v", rollout, err)
	}
}

// measured is how many measurements the snapshot of k shows.
func measured(t *testing.T, s *watch.Store, k watch.Key) int {
	t.Helper()
	r, ok := s.Detail(k)
	if !ok || len(r.Analysis) == 0 || len(r.Analysis[0].Metrics) == 0 {
		t.Fatalf("%s: no analysis in its snapshot", k)
	}
	return len(r.Analysis[0].Metrics[0].Measurements)
}

// drain takes the changes so far.
func drain(ctx context.Context, w *watch.Watcher) {
	for {
		c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := w.WaitDirty(c, 0)
		cancel()
		if err != nil {
			return
		}
	}
}

// dirtyWithin collects the rollouts marked changed until want is among
// them, failing after timeout.
func dirtyWithin(ctx context.Context, t *testing.T, w *watch.Watcher, timeout time.Duration, want cache.ObjectName) map[watch.Key]bool {
	t.Helper()
	got := map[watch.Key]bool{}
	deadline := time.Now().Add(timeout)
	for !got[want] {
		c, cancel := context.WithDeadline(ctx, deadline)
		ch, err := w.WaitDirty(c, 0)
		cancel()
		if err != nil {
			t.Fatalf("%s was not marked changed within %s (got %v)", want, timeout, got)
		}
		for _, k := range ch.Keys {
			got[k] = true
		}
	}
	// Whatever else comes with it.
	c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if ch, err := w.WaitDirty(c, 0); err == nil {
		for _, k := range ch.Keys {
			got[k] = true
		}
	}
	return got
}
