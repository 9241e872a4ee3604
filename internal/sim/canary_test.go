package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// The canary of the demo, stepped by roost's real reconciler: 20%, a pause
// until promoted, 50%, a 2s pause, done.
func TestCanaryPromotedThroughItsSteps(t *testing.T) {
	c := running(t, fast)
	reconciling(t, c)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("checkout", setWeight(20), pause(), setWeight(50), pauseFor("2s"))); err != nil {
		t.Fatal(err)
	}
	first := healthy(t, c, "checkout", 20*time.Second)
	oldRS := first.stable.Name

	if err := c.SetImage(testNS, "checkout", "shop:v2"); err != nil {
		t.Fatal(err)
	}
	var v view
	eventually(t, 20*time.Second, "paused at step 2 with 2 canary pods", func() (bool, string) {
		v = look(t, c, "checkout")
		ok := stepIs(v.r, 1) && len(v.r.Status.PauseConditions) == 1 && v.r.Status.Phase == v1alpha1.PhasePaused &&
			v.canary != nil && ptr.Deref(v.canary.Spec.Replicas, 0) == 2 && v.readyWithRole(v.canary, "canary") == 2 &&
			v.stable != nil && v.stable.Name == oldRS && v.readyWithRole(v.stable, "stable") == 8
		return ok, v.String()
	})
	for _, p := range v.pods[v.canary.Name] {
		if p.Spec.Containers[0].Image != "shop:v2" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("canary pod %s runs %s, phase %s; want shop:v2, Running", p.Name, p.Spec.Containers[0].Image, p.Status.Phase)
		}
	}
	// Paused means paused: nothing moves without a promote.
	time.Sleep(300 * time.Millisecond)
	if again := look(t, c, "checkout"); !stepIs(again.r, 1) || ptr.Deref(again.canary.Spec.Replicas, 0) != 2 {
		t.Fatalf("the pause did not hold: %s", again)
	}

	acts := actions.NewActions(c.Dynamic, c.Kube, "tester")
	res, err := acts.Promote(ctx, testNS, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped {
		t.Fatalf("promote skipped: %s", res)
	}

	var atTimedPause view
	eventually(t, 20*time.Second, "5 canary pods at the timed pause", func() (bool, string) {
		atTimedPause = look(t, c, "checkout")
		ok := stepIs(atTimedPause.r, 3) && len(atTimedPause.r.Status.PauseConditions) == 1 &&
			atTimedPause.canary != nil && atTimedPause.readyWithRole(atTimedPause.canary, "canary") == 5 &&
			atTimedPause.readyWithRole(atTimedPause.stable, "stable") == 5
		return ok, atTimedPause.String()
	})
	canaryPods := map[string]bool{}
	for _, p := range atTimedPause.pods[atTimedPause.canary.Name] {
		canaryPods[p.Name] = true
	}
	newRS := atTimedPause.canary.Name

	pauseEnds := atTimedPause.r.Status.PauseConditions[0].StartTime.Add(2 * time.Second)
	end := healthy(t, c, "checkout", 30*time.Second)
	if now := time.Now(); now.Before(pauseEnds) {
		t.Errorf("healthy at %s, before the 2s pause ended at %s", now.Format(time.StampMilli), pauseEnds.Format(time.StampMilli))
	}
	if end.stable.Name != newRS {
		t.Fatalf("stable ReplicaSet is %s, want the canary's %s: %s", end.stable.Name, newRS, end)
	}
	final := map[string]bool{}
	for _, p := range end.pods[newRS] {
		final[p.Name] = true
	}
	for name := range canaryPods {
		if !final[name] {
			t.Errorf("canary pod %s was replaced instead of relabelled in place; pods now %v", name, podSummary(end.pods[newRS]))
		}
	}
	for _, rs := range end.rss {
		if rs.Name == oldRS && ptr.Deref(rs.Spec.Replicas, 1) != 0 {
			t.Errorf("old ReplicaSet %s has %d replicas, want 0", oldRS, *rs.Spec.Replicas)
		}
	}
	eventually(t, 10*time.Second, "old pods gone", func() (bool, string) {
		pods, err := c.Pods(testNS, v1alpha1.DefaultRolloutUniqueLabelKey+"="+strings.TrimPrefix(oldRS, "checkout-"))
		if err != nil {
			t.Fatal(err)
		}
		return len(pods) == 0, strings.Join(podSummary(pods), " ")
	})
}

// An abort sends the canary back to 0 and says why; a retry starts over.
func TestAbortAndRetry(t *testing.T) {
	c := running(t, fast)
	reconciling(t, c)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("cart", setWeight(20), pause(), setWeight(50))); err != nil {
		t.Fatal(err)
	}
	healthy(t, c, "cart", 20*time.Second)
	if err := c.SetImage(testNS, "cart", "shop:v2"); err != nil {
		t.Fatal(err)
	}
	atPause := func(what string) {
		t.Helper()
		eventually(t, 20*time.Second, what, func() (bool, string) {
			v := look(t, c, "cart")
			ok := stepIs(v.r, 1) && v.r.Status.Phase == v1alpha1.PhasePaused && !v.r.Status.Abort &&
				v.readyWithRole(v.canary, "canary") == 2 && v.readyWithRole(v.stable, "stable") == 8
			return ok, v.String()
		})
	}
	atPause("paused at step 2")

	acts := actions.NewActions(c.Dynamic, c.Kube, "tester")
	if _, err := acts.Abort(ctx, testNS, "cart", "error rate 4x stable"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "aborted: canary at 0, Degraded with the reason", func() (bool, string) {
		v := look(t, c, "cart")
		ok := v.r.Status.Phase == v1alpha1.PhaseDegraded && strings.Contains(v.r.Status.Message, "error rate 4x stable") &&
			v.canary != nil && ptr.Deref(v.canary.Spec.Replicas, 1) == 0 && len(v.pods[v.canary.Name]) == 0 &&
			v.readyWithRole(v.stable, "stable") == 10
		return ok, v.String()
	})

	if _, err := acts.Retry(ctx, testNS, "cart"); err != nil {
		t.Fatal(err)
	}
	atPause("paused at step 2 again after the retry")
}
