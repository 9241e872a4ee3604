//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// inProcessController is `roost controller` as cmd/roost wires it (package
// main, so not importable): election.Leader campaigning for the Lease, and
// each leadership term running a fresh reconciler with its own metrics
// registry.
type inProcessController struct {
	leader *election.Leader
	cancel context.CancelFunc
	done   chan error

	mu    sync.Mutex
	terms []*prometheus.Registry
	seen  []election.LeaderInfo
}

func startInProcessController(t *testing.T, ns, identity string) *inProcessController {
	t.Helper()
	c := &inProcessController{done: make(chan error, 1)}
	leader, err := election.NewLeader(election.LeaderConfig{
		Kube: env.Client(), Namespace: ns, Name: election.DefaultLeaseName, Identity: identity,
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: time.Second,
		OnChange: func(i election.LeaderInfo) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.seen = append(c.seen, i)
		},
	})
	if err != nil {
		t.Fatalf("leader election for %s: %v", identity, err)
	}
	c.leader = leader
	dyn := dynamicClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		c.done <- leader.Run(ctx, func(term context.Context) {
			reg := prometheus.NewRegistry()
			c.mu.Lock()
			c.terms = append(c.terms, reg)
			c.mu.Unlock()
			ctrl, err := controller.New(controller.Config{
				Kube: env.Client(), Dynamic: dyn, Namespace: ns,
				Clock: clock.RealClock{}, Metrics: reg, Resync: 10 * time.Minute,
			})
			if err != nil {
				t.Errorf("%s: build reconciler: %v", identity, err)
				return
			}
			if err := ctrl.Run(term, 2); err != nil && term.Err() == nil {
				t.Errorf("%s: reconciler: %v", identity, err)
			}
		})
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop cancels the campaign (which releases the Lease) and waits for Run.
func (c *inProcessController) stop(t *testing.T) {
	t.Helper()
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("%s: leader election: %v", c.leader.Identity(), err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still running 20s after its context was cancelled", c.leader.Identity())
	}
}

// syncs sums roost_controller_syncs_total over every leadership term.
func (c *inProcessController) syncs(t *testing.T) (terms int, total float64) {
	t.Helper()
	c.mu.Lock()
	regs := append([]*prometheus.Registry(nil), c.terms...)
	c.mu.Unlock()
	for _, reg := range regs {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "roost_controller_syncs_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return len(regs), total
}

// TestInProcessControllerWithLeaderElection runs `roost controller`'s code
// path in the test process: it takes the Lease, drives a canary to the end,
// and on stop releases the Lease and writes nothing more. A second one then
// takes the released Lease at once (not after the lease duration) and
// finishes the next revision.
func TestInProcessControllerWithLeaderElection(t *testing.T) {
	ns := env.NewNamespace(t)
	log := recordObjects(t, ns)
	ctx := context.Background()
	const app = "inproc"

	first := startInProcessController(t, ns, "e2e-first@"+ns)
	waitHolder(t, 30*time.Second, ns, "")
	if h, _, _ := leaseHolder(ctx, ns, election.DefaultLeaseName); h != first.leader.Identity() {
		t.Fatalf("lease holder %q; want %q", h, first.leader.Identity())
	}
	eventually(t, 10*time.Second, "the leader to know it leads", func(context.Context) (bool, string, error) {
		cur := first.leader.Current()
		return cur.IsMe, cur.String(), nil
	})

	ro := leaderRollout(ns, app, 4, "registry.example/inproc:v1", rollouttest.SetWeight(50), rollouttest.PauseFor("1s"))
	createRollout(t, ro)
	v1 := v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1))
	v2 := leadSetImage(t, ro, "registry.example/inproc:v2")
	leadWaitRollout(t, 60*time.Second, ns, app, "50% with the canary at step 1", func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.CurrentPodHash == v2 && ptr.Deref(r.Status.CurrentStepIndex, -1) >= 1
	})
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy", leadHealthyAt(v2))
	assertReplicas(t, ns, app, map[string]int32{v1: 0, v2: 4})
	if terms, n := first.syncs(t); terms != 1 || n == 0 {
		t.Errorf("first controller: %d leadership terms, %v syncs; want 1 term with syncs", terms, n)
	}

	first.stop(t)
	lease, err := env.Client().CoordinationV1().Leases(ns).Get(ctx, election.DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != "" {
		t.Errorf("lease holder %q after a clean stop; want it released (empty)", h)
	}
	if info, err := election.ReadLeader(ctx, env.Client(), ns, election.DefaultLeaseName, "", time.Now()); err != nil || info.Identity != "" {
		t.Errorf("ReadLeader after the release: %v, %v; want nobody", info, err)
	}
	if cur := first.leader.Current(); cur.IsMe {
		t.Errorf("the stopped controller still believes it leads: %v", cur)
	}

	// Nobody leads: a new revision must stay untouched.
	gen := func() (string, int64) {
		r, err := getRollout(ctx, t, ns, app)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.ObservedGeneration, r.Generation
	}
	v3 := leadSetImage(t, ro, "registry.example/inproc:v3")
	time.Sleep(3 * time.Second)
	if observedGen, generation := gen(); observedGen == fmt.Sprint(generation) {
		t.Errorf("status.observedGeneration %s caught up with generation %d after the only controller stopped", observedGen, generation)
	}
	if sets, err := replicaSetsByHash(ctx, ns, app); err != nil {
		t.Fatal(err)
	} else if _, ok := sets[v3]; ok {
		t.Errorf("ReplicaSet %s-%s was created after the only controller stopped", app, v3)
	}

	began := time.Now()
	second := startInProcessController(t, ns, "e2e-second@"+ns)
	waitHolder(t, 30*time.Second, ns, "")
	took := time.Since(began)
	if h, transitions, _ := leaseHolder(ctx, ns, election.DefaultLeaseName); h != second.leader.Identity() || transitions != 1 {
		t.Errorf("lease holder %q after %d transitions; want %q after 1", h, transitions, second.leader.Identity())
	}
	// A released Lease is free at once; one not released would take the
	// full 4 s lease duration.
	if took >= 4*time.Second {
		t.Errorf("the second controller took the released lease after %s; want well under the 4s lease duration", took)
	}
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 3 Healthy under the second controller", leadHealthyAt(v3))
	assertReplicas(t, ns, app, map[string]int32{v1: 0, v2: 0, v3: 4})
	checkReplicaSetsCreatedOnce(t, log, ns, app)
	t.Logf("second controller took the released lease %s after starting", took.Round(time.Millisecond))
}
