package main

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8swatch "k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// watching makes the fake cluster signal once a watch on rollouts is open, so
// that a test changes the rollout only when roost listens.
func (c *cluster) watching() <-chan struct{} {
	opened := make(chan struct{}, 10)
	c.dyn.PrependWatchReactor("rollouts", func(a k8stesting.Action) (bool, k8swatch.Interface, error) {
		w, err := c.dyn.Tracker().Watch(v1alpha1.RolloutGVR, a.GetNamespace())
		opened <- struct{}{}
		return true, w, err
	})
	return opened
}

func (c *cluster) setStatus(t *testing.T, name string, fields map[string]any) {
	t.Helper()
	ri := c.dyn.Resource(v1alpha1.RolloutGVR).Namespace("shop")
	u, err := ri.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if err := unstructured.SetNestedField(u.Object, v, "status", k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ri.Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

type runResult struct {
	out, errOut string
	code        int
}

func (c *cluster) runAsync(t *testing.T, args ...string) <-chan runResult {
	done := make(chan runResult, 1)
	go func() {
		out, errOut, code := c.run(t, args...)
		done <- runResult{out, errOut, code}
	}()
	return done
}

func TestWaitHealthy(t *testing.T) {
	c := shopCluster()
	opened := c.watching()
	done := c.runAsync(t, "wait", "checkout", "--for=healthy", "--timeout", "20s")
	<-opened
	// A step further is not yet healthy: roost keeps watching.
	c.setStatus(t, "checkout", map[string]any{"currentStepIndex": int64(2), "phase": "Progressing"})
	c.setStatus(t, "checkout", map[string]any{"currentStepIndex": int64(4), "phase": "Healthy", "stableRS": "new"})
	r := <-done
	if r.code != 0 || r.out != "rollout shop/checkout is healthy\n" {
		t.Errorf("code %d %q %q", r.code, r.out, r.errOut)
	}
	// The watch is used, not polling: one Get, one Watch.
	gets, watches := 0, 0
	for _, a := range c.dyn.Actions() {
		switch a.GetVerb() {
		case "get":
			gets++
		case "watch":
			watches++
		}
	}
	if gets != 3 || watches != 1 { // 2 gets are the test's own setStatus reads
		t.Errorf("gets %d, watches %d", gets, watches)
	}
}

func TestWaitDegraded(t *testing.T) {
	c := shopCluster()
	opened := c.watching()
	done := c.runAsync(t, "wait", "checkout", "--for=healthy")
	<-opened
	c.setStatus(t, "checkout", map[string]any{"abort": true, "phase": "Degraded", "message": "RolloutAborted: Rollout aborted update to revision 2: p99 up"})
	r := <-done
	want := "error: rollout shop/checkout is Degraded while waiting for healthy: phase Degraded: RolloutAborted: Rollout aborted update to revision 2: p99 up; see `roost get checkout -n shop`\n"
	if r.code != 1 || r.errOut != want {
		t.Errorf("code %d %q", r.code, r.errOut)
	}
	// Waiting for degraded, it is reached at once.
	if out, _, code := c.run(t, "wait", "checkout", "--for=degraded"); code != 0 || out != "rollout shop/checkout is degraded\n" {
		t.Errorf("for=degraded: %d %q", code, out)
	}
}

func TestWaitTimeoutAndReachedAtOnce(t *testing.T) {
	c := shopCluster()
	start := time.Now()
	_, errOut, code := c.run(t, "wait", "checkout", "--for=healthy", "--timeout", "1s")
	if code != 2 || !strings.Contains(errOut, "rollout shop/checkout: not healthy after 1s (phase Paused)") {
		t.Errorf("timeout: code %d %q", code, errOut)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %s", time.Since(start))
	}
	if out, _, code := c.run(t, "wait", "checkout", "--for=paused"); code != 0 || out != "rollout shop/checkout is paused\n" {
		t.Errorf("paused: %d %q", code, out)
	}
	if out, _, code := c.run(t, "wait", "search", "--for=completed"); code != 0 || out != "rollout shop/search is completed\n" {
		t.Errorf("completed: %d %q", code, out)
	}
	if _, errOut, code := c.run(t, "wait", "gone", "--for=paused"); code != 1 || !strings.Contains(errOut, "rollout gone not found in namespace shop") {
		t.Errorf("missing: %d %q", code, errOut)
	}
}

func TestWaitDeleted(t *testing.T) {
	c := shopCluster()
	opened := c.watching()
	done := c.runAsync(t, "wait", "checkout", "--for=healthy")
	<-opened
	if err := c.dyn.Tracker().Delete(v1alpha1.RolloutGVR, "shop", "checkout"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 1 || !strings.Contains(r.errOut, "was deleted while waiting for healthy") {
		t.Errorf("code %d %q", r.code, r.errOut)
	}
}
