//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// TestCanarySurvivesAPIServerRestart restarts kube-apiserver while a canary
// waits at a manual pause, with the in-process reconciler running and
// `roost wait --for=healthy` watching. Right after the restart `roost
// promote` must get through (retrying while the server warms up), and the
// reconciler must then carry the canary through 50% and a timed pause to
// completion on its own, which `roost wait` must notice.
func TestCanarySurvivesAPIServerRestart(t *testing.T) {
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const app = "restart"
	ro := leaderRollout(ns, app, 4, "registry.example/restart:v1", rollouttest.SetWeight(25), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.PauseFor("3s"))
	createRollout(t, ro)
	v1 := v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1))
	v2 := leadSetImage(t, ro, "registry.example/restart:v2")
	leadWaitRollout(t, 60*time.Second, ns, app, "25% and paused at step 1", func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.CurrentPodHash == v2 && r.Status.Phase == v1alpha1.PhasePaused && ptr.Deref(r.Status.CurrentStepIndex, -1) == 1
	})
	assertReplicas(t, ns, app, map[string]int32{v1: 3, v2: 1})

	waiter := startRoost(t, "roost", "wait", "-n", ns, app, "--for=healthy", "--timeout", "90s")
	// Let it read the rollout and open its watch, so that the restart cuts
	// a watch in progress.
	time.Sleep(time.Second)
	if done, err := waiter.exited(); done {
		t.Fatalf("roost wait ended before the restart (%v):\n%s", err, waiter.out.String())
	}

	began := time.Now()
	if err := env.RestartAPIServer(context.Background()); err != nil {
		t.Fatalf("restart kube-apiserver: %v", err)
	}
	restarted := time.Now()
	t.Logf("kube-apiserver restarted in %s", restarted.Sub(began).Round(time.Millisecond))

	// The server answers /readyz before every client has reconnected; a
	// person would run promote again if it failed, and so does the test.
	attempts := 0
	for {
		attempts++
		code, out := runRoost(t, 30*time.Second, "promote", "-n", ns, app)
		if code == 0 {
			t.Logf("roost promote succeeded %s after the restart, attempt %d", time.Since(restarted).Round(time.Millisecond), attempts)
			break
		}
		if time.Since(restarted) > 30*time.Second {
			t.Fatalf("roost promote still failing 30s after the restart (exit %d):\n%s", code, out)
		}
		t.Logf("roost promote attempt %d exited %d: %s", attempts, code, strings.TrimSpace(out))
		time.Sleep(500 * time.Millisecond)
	}

	final := leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy after the restart", leadHealthyAt(v2))
	t.Logf("canary completed %s after the restart", time.Since(restarted).Round(time.Millisecond))
	assertReplicas(t, ns, app, map[string]int32{v1: 0, v2: 4})
	if final.Status.StableRS != v2 {
		t.Errorf("status.stableRS = %s, want %s", final.Status.StableRS, v2)
	}
	eventually(t, 30*time.Second, "4 Ready pods of revision 2", func(ctx context.Context) (bool, string, error) {
		got, err := podRoles(ctx, ns, app)
		return got[v2+"/"] == 4 && len(got) == 1, describe(got), err
	})
	if code := waiter.wait(t, 30*time.Second); code != 0 {
		t.Errorf("roost wait --for=healthy exited %d across the restart; want 0:\n%s", code, waiter.out.String())
	} else if !strings.Contains(waiter.out.String(), "is healthy") {
		t.Errorf("roost wait exited 0 without saying the rollout is healthy:\n%s", waiter.out.String())
	}
}
