//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// TestMultiClusterCockpitGrouped opens one cockpit over both clusters, in
// a real terminal: the same rollout waits at its first pause in each; v
// groups it across clusters with its state cluster by cluster; p on its
// group line asks once, naming each cluster, and y promotes it in both.
func TestMultiClusterCockpitGrouped(t *testing.T) {
	p := newClusterPair(t)
	p.canaryAtPause(t, "checkout")

	// The test's reconcilers step the canaries: this roost only watches
	// and acts.
	ck := startCockpit(t, p.ns, "clusters", []string{"KUBECONFIG=" + p.kubeconfig}, "--context", bothContexts, "--reconciler=off")
	ck.awaitText("2 contexts", "live")
	ck.awaitLine(contextA, "checkout", p.ns, "promote?", "25/25")
	ck.awaitLine(contextB, "checkout", p.ns, "promote?", "25/25")
	ck.awaitText("2 need you")

	ck.keys("v")
	ck.awaitText("grouped by service across clusters")
	ck.awaitLine(p.ns + "/checkout · 2 clusters · " + contextA + " paused at 25 %, " + contextB + " paused at 25 %")

	ck.keys("g")
	ck.awaitLine("▌", p.ns+"/checkout · 2 clusters")
	ck.keys("p")
	ck.awaitText("Promote service " + p.ns + "/checkout: 2 rollouts?")
	ck.awaitLine(contextA + ": " + p.ns + "/checkout: releases the pause at step")
	ck.awaitLine(contextB + ": " + p.ns + "/checkout: releases the pause at step")
	ck.keys("y")
	ck.awaitText("promote: all 2 rollouts done")
	for _, c := range []string{contextA, contextB} {
		p.await(t, c, "checkout", "paused at step 3 after the promote across clusters", atPause(3))
	}
	ck.awaitLine(p.ns + "/checkout · 2 clusters · " + contextA + " paused at 50 %, " + contextB + " paused at 50 %")
}

// TestMultiClusterCockpitOneStopped stops the second cluster's API server
// under a cockpit over both: the header and its rows say so while the
// first cluster stays live and its promote works; restarted, the second
// comes back live by itself.
func TestMultiClusterCockpitOneStopped(t *testing.T) {
	p := newClusterPair(t)
	p.canaryAtPause(t, "ledger")

	ck := startCockpit(t, p.ns, "clusters", []string{"KUBECONFIG=" + p.kubeconfig}, "--context", bothContexts, "--reconciler=off")
	ck.awaitText("2 contexts", "✓ live")
	ck.awaitLine(contextA+" ", "ledger", "promote?")
	ck.awaitLine(contextB+" ", "ledger", "promote?")

	restart := p.stopSecond(t)
	ck.awaitText(contextB + " reconnecting")
	ck.awaitLine(contextB+": ", "watch failing for ")
	ck.awaitLine(contextB+" ↻", "ledger")

	// The first cluster's rollout is first: the clusters keep the order
	// given.
	ck.keys("g", "p")
	ck.awaitLine(contextA + ": " + p.ns + "/ledger: releases the pause at step")
	ck.keys("y")
	ck.awaitText(contextA + ": " + p.ns + "/ledger: promoted")
	p.await(t, contextA, "ledger", "paused at step 3 after the promote", atPause(3))
	ck.awaitLine(contextA+" ", "ledger", "50/50")

	restart()
	ck.awaitText("2 contexts", "✓ live")
	ck.awaitScreen(contextB+"'s rows no longer marked", func(s string) bool { return !strings.Contains(s, contextB+" ↻") })
}

// TestMultiClusterCockpitStepsEach runs one cockpit over both clusters with
// --reconciler=on and no other controller: it campaigns for the Lease in
// each cluster, the header says it steps the canaries in every cluster,
// and the same release steps to its first pause in both.
func TestMultiClusterCockpitStepsEach(t *testing.T) {
	second, kubeconfig := twoClusters(t)
	ns := env.NewNamespace(t)
	sameNamespace(t, second, ns)
	p := &clusterPair{ns: ns, second: second, kubeconfig: kubeconfig,
		dyn: map[string]dynamic.Interface{contextA: dynamicClient(t), contextB: dynamicOf(t, second)}}

	ck := startCockpit(t, ns, "clusters", []string{"KUBECONFIG=" + kubeconfig}, "--context", bothContexts, "--reconciler=on")
	ck.awaitText("2 contexts", "✓ live")
	ck.awaitText("in every cluster, you step the canaries (this roost leads as ")
	for _, c := range []string{contextA, contextB} {
		ro := roleCanary(ns, "refunds", 4, rollouttest.SetWeight(25), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.Pause())
		u, err := v1alpha1.ToUnstructured(ro)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.dyn[c].Resource(v1alpha1.RolloutGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: create rollout: %v", c, err)
		}
	}
	for _, c := range []string{contextA, contextB} {
		p.await(t, c, "refunds", "Healthy at v1, stepped by the cockpit", healthy)
		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/refunds:v2"}]}}}}`
		if _, err := p.dyn[c].Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(context.Background(), "refunds", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("%s: set image: %v", c, err)
		}
	}
	for _, c := range []string{contextA, contextB} {
		p.await(t, c, "refunds", "paused at step 1, stepped by the cockpit", atPause(1))
		leases, err := p.leases(t, c)
		if err != nil || !leases {
			t.Errorf("%s: no Lease of this roost in %s: %v", c, ns, err)
		}
	}
	ck.awaitLine(contextA+" ", "refunds", "promote?")
	ck.awaitLine(contextB+" ", "refunds", "promote?")
}

// leases says whether the roost Lease is in the pair's namespace of the
// cluster of ctxName.
func (p *clusterPair) leases(t *testing.T, ctxName string) (bool, error) {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}
	_, err := p.dyn[ctxName].Resource(gvr).Namespace(p.ns).Get(context.Background(), election.DefaultLeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
