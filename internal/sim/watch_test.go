package sim

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/watch"
)

// dashboard is roost's read model on the simulated cluster, fed as the
// dashboard feeds it: WaitDirty, then Store.Update.
type dashboard struct {
	t     *testing.T
	w     *watch.Watcher
	store *watch.Store
	ctx   context.Context
}

func watching(t *testing.T, c *Cluster) *dashboard {
	t.Helper()
	w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w.Start(ctx)
	if !w.WaitForCacheSync(ctx) {
		t.Fatal("caches did not sync")
	}
	return &dashboard{t: t, w: w, store: watch.NewStore(w), ctx: ctx}
}

// until re-derives changed rollouts until the snapshot of name satisfies cond.
func (d *dashboard) until(name, what string, cond func(*watch.Rollout) bool) *watch.Rollout {
	d.t.Helper()
	key := watch.Key{Namespace: testNS, Name: name}
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	last := "no snapshot"
	for {
		if r, ok := d.store.Detail(key); ok {
			if cond(r) {
				return r
			}
			last = describe(r)
		}
		ch, err := d.w.WaitDirty(ctx, watch.FrameInterval)
		if err != nil {
			d.t.Fatalf("%s: %v; last snapshot: %s", what, err, last)
		}
		d.store.Update(ch.Keys, time.Now())
	}
}

func describe(r *watch.Rollout) string {
	s := fmt.Sprintf("phase=%s step=%d/%d paused=%v weight=%d/%d", r.Phase, r.StepIndex, r.StepsTotal, r.Paused, r.ActualWeight, r.DesiredWeight)
	if r.Stable != nil {
		s += fmt.Sprintf(" stable=%s%v", r.Stable.Name, r.Stable.PodsByRole)
	}
	if r.Canary != nil {
		s += fmt.Sprintf(" canary=%s%v", r.Canary.Name, r.Canary.PodsByRole)
	}
	return s
}

func TestDashboardReadModelFollowsTheCanary(t *testing.T) {
	c := running(t, fast)
	reconciling(t, c)
	d := watching(t, c)
	ctx := context.Background()
	if err := c.CreateRollout(ctx, canary("checkout", setWeight(20), pause(), setWeight(50), pauseFor("2s"))); err != nil {
		t.Fatal(err)
	}
	d.until("checkout", "healthy", func(r *watch.Rollout) bool {
		return r.Phase == v1alpha1.PhaseHealthy && r.Stable != nil && r.Stable.PodsByRole["stable"] == 10 && r.Stable.Available == 10
	})
	if err := c.SetImage(testNS, "checkout", "shop:v2"); err != nil {
		t.Fatal(err)
	}
	d.until("checkout", "step 1/4 done, paused until promoted, 2 canary pods", func(r *watch.Rollout) bool {
		return r.StepIndex == 1 && r.StepsTotal == 4 && r.Paused && r.PauseUntilPromoted && r.DesiredWeight == 20 && r.ActualWeight == 20 &&
			r.Canary != nil && r.Canary.PodsByRole["canary"] == 2 && r.Canary.Available == 2 &&
			r.Stable != nil && r.Stable.PodsByRole["stable"] == 8
	})
	if _, err := actions.NewActions(c.Dynamic, c.Kube, "tester").Promote(ctx, testNS, "checkout"); err != nil {
		t.Fatal(err)
	}
	timed := d.until("checkout", "step 3/4 done, timed pause, 5 canary pods", func(r *watch.Rollout) bool {
		return r.StepIndex == 3 && r.Paused && !r.PauseUntilPromoted && r.Canary != nil && r.Canary.PodsByRole["canary"] == 5 && r.Canary.Available == 5
	})
	if timed.PauseRemaining <= 0 || timed.PauseRemaining > 2*time.Second {
		t.Errorf("pause remaining %s, want within the 2s pause", timed.PauseRemaining)
	}
	if len(timed.Events) == 0 {
		t.Error("the snapshot shows no Events of the rollout")
	}
	evs, err := c.Kube.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Rollout,involvedObject.name=checkout,reason=" + actions.EventPromoted})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 || evs.Items[0].Annotations[actions.ActorAnnotation] != "tester" {
		t.Errorf("%d %s Events, want one by tester: %+v", len(evs.Items), actions.EventPromoted, evs.Items)
	}
	d.until("checkout", "healthy on the new revision, all pods stable", func(r *watch.Rollout) bool {
		return r.Phase == v1alpha1.PhaseHealthy && r.StepIndex == 4 && r.Canary == nil && r.Stable != nil &&
			r.Stable.Name == timed.Canary.Name && r.Stable.PodsByRole["stable"] == 10 && len(r.Stable.PodsByRole) == 1
	})
}

// simGoroutines counts the goroutines running the simulator's code, by kind.
func simGoroutines() map[string]int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		switch {
		case strings.Contains(g, "internal/sim.(*watcher).run"):
			out["watch"]++
		case strings.Contains(g, "internal/sim.(*loops).next"):
			out["worker"]++
		case strings.Contains(g, "created by k8s.io/client-go/util/workqueue.newDelayingQueue"):
			out["queue timer"]++
		}
	}
	return out
}

func (a *apiServer) openWatches() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.watchers)
}

// The simulator, roost's reconciler and its watches all stop with their
// context, leaving no goroutine behind; at rest the simulator holds one
// goroutine per worker, per open watch and one for the queue's timers.
func TestRunLeavesNoGoroutineBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		c, err := New(fast)
		if err != nil {
			t.Fatal(err)
		}
		ctrl, err := controller.New(controller.Config{Kube: c.Kube, Dynamic: c.Dynamic})
		if err != nil {
			t.Fatal(err)
		}
		w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { _ = c.Run(ctx) })
		wg.Go(func() { _ = ctrl.Run(ctx, 2) })
		w.Start(ctx)
		if !w.WaitForCacheSync(ctx) {
			t.Fatal("caches did not sync")
		}
		if err := c.CreateRollout(ctx, canary("checkout", setWeight(50))); err != nil {
			t.Fatal(err)
		}
		healthy(t, c, "checkout", 20*time.Second)
		if err := c.SetImage(testNS, "checkout", "shop:v2"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the new revision healthy", func() (bool, string) {
			v := look(t, c, "checkout")
			ok := v.r.Status.Phase == v1alpha1.PhaseHealthy && v.r.Status.ObservedGeneration == "2" && v.readyWithRole(v.stable, "stable") == 10 && len(v.pods) == 1
			return ok, v.String()
		})
		// One goroutine per open watch (the reconciler's informers and the
		// dashboard's), none per pod or rollout.
		eventually(t, 5*time.Second, "the simulator at rest", func() (bool, string) {
			g, open := simGoroutines(), c.api.openWatches()
			ok := g["worker"] == workers && g["watch"] == open && open >= 4 && g["queue timer"] >= 1
			return ok, fmt.Sprintf("%v, %d open watches", g, open)
		})
		t.Logf("at rest: %v", simGoroutines())
		cancel()
		wg.Wait()
	}()
	eventually(t, 10*time.Second, "goroutines back to where they were", func() (bool, string) {
		n := runtime.NumGoroutine()
		if n <= before {
			return true, ""
		}
		buf := make([]byte, 1<<20)
		return false, fmt.Sprintf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	})
}
