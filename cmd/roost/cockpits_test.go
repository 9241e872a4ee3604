package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/watch"
)

// The cockpit takes several contexts as the CLI does, and refuses an
// unknown one before anything is done.
func TestCockpitScope(t *testing.T) {
	c := regions()
	_, errOut, code := c.run(t, "--context", "tokyo,kyoto")
	if code != 1 || !strings.Contains(errOut, "--context: kubeconfig "+clientcmdHome()+" has no context kyoto; nothing was done") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	_, errOut, code = c.run(t, "--context", "tokyo", "--all-contexts")
	if code != 1 || !strings.Contains(errOut, "--context and --all-contexts both pick the clusters") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	var out, stderr bytes.Buffer
	a := c.app(&out, &stderr)
	a.allContexts = true
	names, err := a.contexts("")
	if err != nil || strings.Join(names, ",") != "osaka,tokyo,workload" {
		t.Errorf("--all-contexts: %v, %v", names, err)
	}
}

// Each cluster of the cockpit is connected on its own: one that cannot be
// reached says so, the others' rollouts come, told apart by cluster, with
// their own actions.
func TestCockpitConnectsEachCluster(t *testing.T) {
	c := regions()
	c.contexts["osaka"].unreachableCluster()
	c.contexts["tokyo"].kube.Resources = []*metav1.APIResourceList{{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "rollouts", Namespaced: true, Kind: "Rollout"}}}}
	var out, errOut bytes.Buffer
	a := c.app(&out, &errOut)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := &cockpitOptions{reconciler: "off", workers: 1, config: "/nonexistent/roost.yaml"}
	opts, started := a.clustersOptions(ctx, o, []string{"tokyo", "osaka"}, func(string) *cockpitOptions { return o })
	defer func() { cancel(); started.stop() }()
	if len(opts.Clusters) != 2 || opts.Clusters[0].Name != "tokyo" || opts.Clusters[1].Connect == nil || opts.Namespace != "" && opts.Scope != "" {
		t.Fatalf("clusters %+v", opts.Clusters)
	}
	if _, err := opts.Clusters[1].Connect(ctx); err == nil || !strings.Contains(err.Error(), "unreachable: the cluster did not answer") {
		t.Errorf("osaka: %v", err)
	}
	tokyo, err := opts.Clusters[0].Connect(ctx)
	if err != nil {
		t.Fatalf("tokyo: %v", err)
	}
	if tokyo.Actor == nil || tokyo.Stepping == nil || tokyo.Rollouts == nil {
		t.Fatalf("tokyo's cluster lacks sources: %+v", tokyo)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := tokyo.Rollouts.Wait(wctx, time.Now); err != nil {
		t.Fatalf("tokyo's rollouts: %v", err)
	}
	list := tokyo.Rollouts.Overview()
	if len(list) == 0 {
		t.Fatal("tokyo lists no rollouts")
	}
	for _, r := range list {
		if r.Cluster != "tokyo" {
			t.Errorf("%s/%s: cluster %q, want tokyo", r.Namespace, r.Name, r.Cluster)
		}
	}
	if h := tokyo.Rollouts.Health(); h.State != watch.Connected {
		t.Errorf("tokyo's health %+v", h)
	}
}
