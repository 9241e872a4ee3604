//go:build e2e

package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// canarySteps are the steps of the CLI scenarios: 20%, a manual pause, 50%,
// a 10 s pause, then 100%.
func canarySteps() []v1alpha1.CanaryStep {
	return []v1alpha1.CanaryStep{rollouttest.SetWeight(20), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.PauseFor("10s")}
}

// startCanary creates a 5-replica rollout, waits until its first revision
// is Healthy with 5 stable pods, then sets image v2 and waits at the first
// pause: 1 canary pod (20% of 5) and 4 stable ones. It returns the stable
// and canary pod-template hashes and the canary pod's name.
func startCanary(t *testing.T, ns, name string, steps []v1alpha1.CanaryStep) (stable, canary, canaryPod string) {
	t.Helper()
	createRollout(t, roleCanary(ns, name, 5, steps...))
	r := awaitRollout(t, ns, name, 60*time.Second, "first revision Healthy", healthy)
	stable = r.Status.StableRS
	awaitPods(t, ns, name, "5 stable pods", map[string]int{stable + "/stable": 5}, map[string]int32{stable: 5})

	setImage(t, ns, name, "registry.example/"+name+":v2")
	r = awaitRollout(t, ns, name, 60*time.Second, "paused at step 1 with the v2 canary", atPause(1))
	canary = r.Status.CurrentPodHash
	if canary == stable || r.Status.StableRS != stable {
		t.Fatalf("after the new image: currentPodHash %s, stableRS %s; want a new hash and stable %s kept", canary, r.Status.StableRS, stable)
	}
	names := awaitPods(t, ns, name, "20%: 1 canary + 4 stable pods",
		map[string]int{stable + "/stable": 4, canary + "/canary": 1}, map[string]int32{stable: 4, canary: 1})
	return stable, canary, names[canary+"/canary"][0]
}

// TestCLIPromoteThroughCanary walks a whole canary with the roost binary:
// `roost promote` releases the manual pause, the timed pause ends by itself,
// the canary pods are relabelled stable in place, and `roost wait
// --for=healthy` returns 0 once it is done.
func TestCLIPromoteThroughCanary(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const name = "checkout"
	stable, canary, firstCanaryPod := startCanary(t, ns, name, canarySteps())

	mustRoost(t, ns, 0, "wait", name, "--for=paused", "--timeout", "30s")
	// `roost wait` is started before the promote and must return only when
	// the canary is done, 10 s of timed pause later.
	waitDone := make(chan cliResult, 1)
	waitCtx, stopWait := context.WithCancel(context.Background())
	var waiting sync.WaitGroup
	waiting.Add(1)
	go func() {
		defer waiting.Done()
		waitDone <- roostCLIContext(waitCtx, t, ns, "wait", name, "--for=healthy", "--timeout", "90s")
	}()
	// A failing test must not leave roost running past its end.
	t.Cleanup(func() {
		stopWait()
		waiting.Wait()
	})

	res := mustRoost(t, ns, 0, "promote", name)
	if !strings.Contains(res.stdout, ns+"/"+name+": promoted") {
		t.Errorf("roost promote did not report %s/%s as promoted:\n%s", ns, name, res)
	}
	r := awaitRollout(t, ns, name, 60*time.Second, "at the timed pause (step 3)", atPause(3))
	pauseStart := r.Status.PauseConditions[0].StartTime.Time
	// 50% of 5 with maxSurge 25% (2): 3 canary + 3 stable, closest to 50%.
	names := awaitPods(t, ns, name, "50%: 3 canary + 3 stable pods",
		map[string]int{stable + "/stable": 3, canary + "/canary": 3}, map[string]int32{stable: 3, canary: 3})
	canaryPods := names[canary+"/canary"]
	if !contains(canaryPods, firstCanaryPod) {
		t.Errorf("the first canary pod %s was replaced during the promote; canary pods now %v", firstCanaryPod, canaryPods)
	}

	// No promote: the 10 s pause ends by itself and the canary completes.
	r = awaitRollout(t, ns, name, 60*time.Second, "Healthy on v2 after the timed pause", healthy)
	if waited := time.Since(pauseStart); waited < 9*time.Second {
		t.Errorf("the 10s pause ended after %s", waited.Round(time.Millisecond))
	}
	if r.Status.StableRS != canary {
		t.Errorf("status.stableRS = %s, want the canary hash %s", r.Status.StableRS, canary)
	}
	final := awaitPods(t, ns, name, "5 v2 pods labelled stable, v1 drained",
		map[string]int{canary + "/stable": 5}, map[string]int32{stable: 0, canary: 5})
	// The canary pods were relabelled in place, not replaced.
	for _, p := range canaryPods {
		if !contains(final[canary+"/stable"], p) {
			t.Errorf("canary pod %s is gone after completion; stable pods are %v (want the canary pods relabelled in place)", p, final[canary+"/stable"])
		}
	}
	for n, l := range podLabels(t, ns, canaryPods) {
		if l["role"] != "stable" {
			t.Errorf("pod %s: role=%q after completion, want stable", n, l["role"])
		}
	}

	select {
	case res := <-waitDone:
		if res.code != 0 {
			t.Errorf("roost wait --for=healthy: want exit 0, got %s", res)
		}
		if res.took < 9*time.Second {
			t.Errorf("roost wait --for=healthy returned after %s, before the 10s pause could end", res.took.Round(time.Millisecond))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("roost wait --for=healthy still running 30s after the rollout became Healthy")
	}
	mustRoost(t, ns, 0, "wait", name, "--for=completed", "--timeout", "30s")
}

// TestCLIPromoteFull skips every remaining step from the first pause with
// `roost promote --full`: the canary goes to 100% at once, past a pause of
// an hour, and its pods are relabelled stable in place.
func TestCLIPromoteFull(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const name = "cart"
	steps := []v1alpha1.CanaryStep{rollouttest.SetWeight(20), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.PauseFor("1h")}
	stable, canary, canaryPod := startCanary(t, ns, name, steps)

	res := mustRoost(t, ns, 0, "promote", "--full", name)
	if !strings.Contains(res.stdout, ns+"/"+name+": fully promoted") {
		t.Errorf("roost promote --full did not report %s/%s as fully promoted:\n%s", ns, name, res)
	}
	mustRoost(t, ns, 0, "wait", name, "--for=healthy", "--timeout", "60s")
	r, err := getRollout(context.Background(), t, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if !healthy(r) || r.Status.StableRS != canary || r.Status.PromoteFull {
		t.Errorf("after roost wait returned 0: %s; want Healthy, stableRS %s, promoteFull cleared", rolloutSummary(r), canary)
	}
	final := awaitPods(t, ns, name, "5 v2 pods labelled stable, v1 drained",
		map[string]int{canary + "/stable": 5}, map[string]int32{stable: 0, canary: 5})
	if !contains(final[canary+"/stable"], canaryPod) {
		t.Errorf("canary pod %s was replaced; stable pods are %v (want it relabelled in place)", canaryPod, final[canary+"/stable"])
	}
	if l := podLabels(t, ns, []string{canaryPod})[canaryPod]; l["role"] != "stable" {
		t.Errorf("pod %s: role=%q after promote --full, want stable", canaryPod, l["role"])
	}

	// A second promote has nothing to do and says so, exit code 0.
	res = mustRoost(t, ns, 0, "promote", "--full", name)
	if !strings.Contains(res.stdout, "already fully promoted") {
		t.Errorf("second roost promote --full:\n%s\nwant it to say the rollout is already fully promoted", res)
	}
}

// TestCLIAbortAndRetry aborts a canary mid-way with a reason, checks the
// canary ReplicaSet drained and the reason in the status, then retries it
// from the first step.
func TestCLIAbortAndRetry(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const name = "payments"
	stable, canary, _ := startCanary(t, ns, name, canarySteps())

	const reason = "error rate 5x stable"
	res := mustRoost(t, ns, 0, "abort", name, "--reason", reason)
	if !strings.Contains(res.stdout, reason) {
		t.Errorf("roost abort does not echo the reason:\n%s", res)
	}
	r := awaitRollout(t, ns, name, 60*time.Second, "Degraded after the abort", func(r *v1alpha1.Rollout) bool {
		return r.Status.Phase == v1alpha1.PhaseDegraded && r.Status.Abort && r.Status.AbortedAt != nil
	})
	if !strings.Contains(r.Status.Message, reason) {
		t.Errorf("status.message %q does not quote the abort reason %q", r.Status.Message, reason)
	}
	if stepIndex(r) != 0 || len(r.Status.PauseConditions) != 0 {
		t.Errorf("after the abort: %s; want currentStepIndex 0 and no pause condition, so that a retry starts over", rolloutSummary(r))
	}
	if c := condition(r, v1alpha1.RolloutProgressing); c == nil || c.Reason != v1alpha1.ReasonRolloutAborted || c.Status != "False" {
		t.Errorf("Progressing condition %+v, want False with reason %s", c, v1alpha1.ReasonRolloutAborted)
	}
	awaitPods(t, ns, name, "canary drained to 0, stable back to 5",
		map[string]int{stable + "/stable": 5}, map[string]int32{stable: 5, canary: 0})
	if r.Status.StableRS != stable {
		t.Errorf("status.stableRS = %s after the abort, want %s", r.Status.StableRS, stable)
	}

	// Scripts learn of the abort: waiting for healthy fails with code 1
	// and the reason; a promote is refused until retried.
	res = roostCLI(t, ns, "wait", name, "--for=healthy", "--timeout", "30s")
	if res.code != 1 || !strings.Contains(res.stderr, reason) {
		t.Errorf("roost wait --for=healthy on the aborted rollout: want exit 1 naming %q, got %s", reason, res)
	}
	res = roostCLI(t, ns, "promote", name)
	if res.code != 1 || !strings.Contains(res.stderr, "retry") {
		t.Errorf("roost promote on an aborted rollout: want exit 1 saying to retry, got %s", res)
	}

	mustRoost(t, ns, 0, "retry", name)
	r = awaitRollout(t, ns, name, 60*time.Second, "back at the first pause after retry", func(r *v1alpha1.Rollout) bool {
		return atPause(1)(r) && !r.Status.Abort
	})
	if r.Status.CurrentPodHash != canary || r.Status.StableRS != stable {
		t.Errorf("after retry: currentPodHash %s stableRS %s, want the same canary %s and stable %s", r.Status.CurrentPodHash, r.Status.StableRS, canary, stable)
	}
	awaitPods(t, ns, name, "20% again: 1 canary + 4 stable pods",
		map[string]int{stable + "/stable": 4, canary + "/canary": 1}, map[string]int32{stable: 4, canary: 1})

	// The retried canary goes on: promote to the 50% step.
	mustRoost(t, ns, 0, "promote", name)
	awaitRollout(t, ns, name, 60*time.Second, "at the timed pause after the retry", atPause(3))
	awaitPods(t, ns, name, "50% after the retry: 3 canary + 3 stable pods",
		map[string]int{stable + "/stable": 3, canary + "/canary": 3}, map[string]int32{stable: 3, canary: 3})
}

// TestCLINewImageMidRolloutAndUndo changes the image half-way through a
// canary (a third ReplicaSet, the middle one drained, the steps restarted),
// then `roost undo` brings back the previous template's ReplicaSet without
// creating another one, and `roost undo --to-revision` of the stable
// revision ends the canary at once.
func TestCLINewImageMidRolloutAndUndo(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const name = "search"
	steps := []v1alpha1.CanaryStep{rollouttest.SetWeight(20), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.Pause()}
	stable, v2, _ := startCanary(t, ns, name, steps)
	mustRoost(t, ns, 0, "promote", name)
	awaitRollout(t, ns, name, 60*time.Second, "at the second pause", atPause(3))
	awaitPods(t, ns, name, "50%: 3 v2 canary + 3 stable pods",
		map[string]int{stable + "/stable": 3, v2 + "/canary": 3}, map[string]int32{stable: 3, v2: 3})

	setImage(t, ns, name, "registry.example/"+name+":v3")
	r := awaitRollout(t, ns, name, 60*time.Second, "v3 canary at the first pause", func(r *v1alpha1.Rollout) bool {
		return atPause(1)(r) && r.Status.CurrentPodHash != v2
	})
	v3 := r.Status.CurrentPodHash
	if v3 == stable || r.Status.StableRS != stable {
		t.Fatalf("after the v3 image: %s; want a third hash and stable %s kept", rolloutSummary(r), stable)
	}
	awaitPods(t, ns, name, "v3 at 20%, v2 drained",
		map[string]int{stable + "/stable": 4, v3 + "/canary": 1}, map[string]int32{stable: 4, v2: 0, v3: 1})
	sets, err := rolloutReplicaSets(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if got := revisions(sets, stable, v2, v3); got != "1 2 3" {
		t.Errorf("revisions of stable, v2, v3 = %s, want 1 2 3", got)
	}
	v2Name := sets[v2].name

	// Undo goes back to the previous template (v2): its ReplicaSet is
	// reused under a new revision, no fourth one is created.
	res := mustRoost(t, ns, 0, "undo", name)
	if !strings.Contains(res.stdout, "revision 2") {
		t.Errorf("roost undo does not say it went back to revision 2:\n%s", res)
	}
	r = awaitRollout(t, ns, name, 60*time.Second, "the undo seen by the reconciler", func(r *v1alpha1.Rollout) bool {
		return observed(r) && r.Status.CurrentPodHash != v3
	})
	if r.Status.CurrentPodHash != v2 {
		t.Fatalf("after roost undo the rollout's template hash is %s, not v2's %s: the restored template does not hash like the one "+
			"ReplicaSet %s was made from, so a new ReplicaSet is created instead of reusing it (%s)", r.Status.CurrentPodHash, v2, v2Name, rolloutSummary(r))
	}
	awaitRollout(t, ns, name, 60*time.Second, "v2 canary again at the first pause", atPause(1))
	awaitPods(t, ns, name, "v2 at 20% again, v3 drained",
		map[string]int{stable + "/stable": 4, v2 + "/canary": 1}, map[string]int32{stable: 4, v2: 1, v3: 0})
	sets, err = rolloutReplicaSets(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if sets[v2].name != v2Name {
		t.Errorf("the v2 ReplicaSet is now %s, was %s", sets[v2].name, v2Name)
	}
	if got := revisions(sets, stable, v2, v3); got != "1 4 3" {
		t.Errorf("revisions of stable, v2, v3 after undo = %s, want 1 4 3 (the rollback is a new revision)", got)
	}

	// Undo to the stable revision is a rollback to stable: no steps, the
	// canary drains at once.
	mustRoost(t, ns, 0, "undo", name, "--to-revision", "1")
	r = awaitRollout(t, ns, name, 60*time.Second, "Healthy on the stable template after undo to revision 1", healthy)
	if r.Status.StableRS != stable || r.Status.CurrentPodHash != stable {
		t.Errorf("after undo to revision 1: %s; want stable and current %s", rolloutSummary(r), stable)
	}
	awaitPods(t, ns, name, "5 stable pods, v2 and v3 drained",
		map[string]int{stable + "/stable": 5}, map[string]int32{stable: 5, v2: 0, v3: 0})
}

// revisions lists the revision annotations of the ReplicaSets with these
// hashes, "-" for a missing one.
func revisions(sets map[string]rsState, hashes ...string) string {
	out := make([]string, 0, len(hashes))
	for _, h := range hashes {
		s, ok := sets[h]
		if !ok {
			out = append(out, "-")
			continue
		}
		out = append(out, s.revision)
	}
	return strings.Join(out, " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
