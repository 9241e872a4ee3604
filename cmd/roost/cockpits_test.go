package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/tui"
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

// --reconciler=auto decides per cluster, and the reconciler campaigns for
// the Lease in each cluster where it steps: tokyo lets this person step
// canaries, osaka does not.
func TestCockpitReconcilerPerCluster(t *testing.T) {
	c := regions()
	crd := []*metav1.APIResourceList{{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "rollouts", Namespaced: true, Kind: "Rollout"}}}}
	for name, cl := range c.contexts {
		cl.kube.Resources = crd
		allowed := name == "tokyo"
		cl.kube.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
			r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
			r.Status.Allowed = allowed
			return true, r, nil
		})
	}
	var out, errOut bytes.Buffer
	a := c.app(&out, &errOut)
	ctx, cancel := context.WithCancel(context.Background())
	o := &cockpitOptions{reconciler: "auto", workers: 1, config: "/nonexistent/roost.yaml"}
	opts, started := a.clustersOptions(ctx, o, []string{"tokyo", "osaka"}, func(string) *cockpitOptions { return o })
	defer func() { cancel(); started.stop() }()
	made := map[string]tui.Cluster{}
	for _, cl := range opts.Clusters {
		m, err := cl.Connect(ctx)
		if err != nil {
			t.Fatalf("%s: %v", cl.Name, err)
		}
		made[cl.Name] = m
	}
	says := func(name, text string) bool {
		for _, n := range made[name].Notices {
			if strings.Contains(n.Text, text) {
				return true
			}
		}
		return false
	}
	if !says("osaka", "you may not create replicasets in namespace shop, so this roost only watches and acts") {
		t.Errorf("osaka's notices %+v do not say why this roost does not step there", made["osaka"].Notices)
	}
	if says("tokyo", "you may not") {
		t.Errorf("tokyo's notices %+v", made["tokyo"].Notices)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.contexts["tokyo"].kube.CoordinationV1().Leases("shop").Get(ctx, election.DefaultLeaseName, metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Lease in tokyo: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.contexts["osaka"].kube.CoordinationV1().Leases("shop").Get(ctx, election.DefaultLeaseName, metav1.GetOptions{}); err == nil {
		t.Error("this roost campaigns in osaka, where it may not step canaries")
	}
}
