//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
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

	if err := p.second.StopAPIServer(); err != nil {
		t.Fatalf("stop the second cluster's kube-apiserver: %v", err)
	}
	restarted := false
	restart := func() {
		if restarted {
			return
		}
		restarted = true
		if err := p.second.StartAPIServer(context.Background()); err != nil {
			t.Fatalf("start the second cluster's kube-apiserver again: %v", err)
		}
	}
	t.Cleanup(restart)
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
