package controller

import (
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/roost-dev/roost/api/v1alpha1"
)

const benchRollouts = 1000

// benchHarness builds benchRollouts Healthy Rollouts (3 replicas each, one
// ReplicaSet, three pods) on the fake clientsets, reconciled to a steady state,
// with the informer caches filled from the fakes.
func benchHarness(b *testing.B) (*harness, []string) {
	b.Helper()
	h := newHarness(b)
	names := make([]string, benchRollouts)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%04d", i)
		h.create(newRollout(names[i], 3, setWeight(20), pause(), setWeight(50), pauseFor("30s")))
	}
	for round := 0; ; round++ {
		if round == 10 {
			b.Fatal("rollouts did not settle")
		}
		h.clearActions()
		h.refresh()
		for _, n := range names {
			if err := h.c.SyncOnce(h.ctx, testNS, n); err != nil {
				b.Fatal(err)
			}
		}
		h.kubelet()
		h.drainEvents()
		if h.writes() == 0 {
			break
		}
	}
	if r := h.get(names[0]); r.Status.Phase != v1alpha1.PhaseHealthy {
		b.Fatalf("setup: %s", h.describe(names[0]))
	}
	return h, names
}

// setResourceVersions gives the cached Rollouts the resourceVersions a real API
// server would send (the fake keeps none), so that the decode cache can work;
// without them (on false) every sync decodes.
func setResourceVersions(h *harness, on bool) {
	for i, obj := range h.c.rolloutInformer.GetIndexer().List() {
		rv := ""
		if on {
			rv = fmt.Sprint(i + 1)
		}
		obj.(*unstructured.Unstructured).SetResourceVersion(rv)
	}
}

// BenchmarkSync measures syncs of Rollouts at rest, the bulk of a
// reconciler's work (every resync and every pod event ends in one): steady has
// the objects as an informer holds them (with resourceVersions), cold decodes
// and validates the Rollout on every sync. The 1,000 Rollouts are built once.
func BenchmarkSync(b *testing.B) {
	h, names := benchHarness(b)
	for _, tc := range []struct {
		name   string
		stamps bool
	}{{"steady", true}, {"cold", false}} {
		b.Run(tc.name, func(b *testing.B) {
			setResourceVersions(h, tc.stamps)
			h.clearActions()
			// Start from a clean heap: the setup's garbage is not the sync's cost.
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := h.c.SyncOnce(h.ctx, testNS, names[i%len(names)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "syncs/s")
			if n := h.writes(); n != 0 {
				b.Fatalf("syncs at rest wrote %d times", n)
			}
		})
	}
}
