//go:build e2e

package e2e

// The CLI across two real clusters: the same rollout in both, acted on and
// waited for with --context roost-a,roost-b, and one cluster stopped
// mid-run.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/cluster"
	"github.com/roost-dev/roost/internal/rollouttest"
)

const bothContexts = contextA + "," + contextB

// clusterPair is one test's namespace in both clusters, each with its own
// reconciler, and the kubeconfig of both.
type clusterPair struct {
	ns         string
	second     *cluster.Cluster
	kubeconfig string
	dyn        map[string]dynamic.Interface
}

// stopSecond stops the second cluster's kube-apiserver and returns what
// starts it again; it is started again when the test ends in any case, as
// other tests need it.
func (p *clusterPair) stopSecond(t *testing.T) (restart func()) {
	t.Helper()
	if err := p.second.StopAPIServer(); err != nil {
		t.Fatalf("stop the second cluster's kube-apiserver: %v", err)
	}
	restarted := false
	restart = func() {
		if restarted {
			return
		}
		restarted = true
		if err := p.second.StartAPIServer(context.Background()); err != nil {
			t.Fatalf("start the second cluster's kube-apiserver again: %v", err)
		}
	}
	t.Cleanup(restart)
	return restart
}

func newClusterPair(t *testing.T) *clusterPair {
	t.Helper()
	second, kubeconfig := twoClusters(t)
	ns := env.NewNamespace(t)
	sameNamespace(t, second, ns)
	p := &clusterPair{ns: ns, second: second, kubeconfig: kubeconfig,
		dyn: map[string]dynamic.Interface{contextA: dynamicClient(t), contextB: dynamicOf(t, second)}}
	runReconciler(t, ns)
	runController(t, controller.Config{Kube: second.Client(), Dynamic: p.dyn[contextB], Namespace: ns})
	return p
}

// roost runs roost with the kubeconfig of both clusters in the pair's
// namespace.
func (p *clusterPair) roost(t *testing.T, args ...string) cliResult {
	t.Helper()
	return roostCLIWith(context.Background(), t, p.kubeconfig, p.ns, args...)
}

// canaryAtPause creates rollout name in both clusters (steps 25 %, pause,
// 50 %, pause), waits for it to be Healthy, starts a canary of v2 and waits
// for it at the first pause.
func (p *clusterPair) canaryAtPause(t *testing.T, name string) {
	t.Helper()
	for _, ctxName := range []string{contextA, contextB} {
		ro := roleCanary(p.ns, name, 4, rollouttest.SetWeight(25), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.Pause())
		u, err := v1alpha1.ToUnstructured(ro)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.dyn[ctxName].Resource(v1alpha1.RolloutGVR).Namespace(p.ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: create rollout %s/%s: %v", ctxName, p.ns, name, err)
		}
	}
	for _, ctxName := range []string{contextA, contextB} {
		p.await(t, ctxName, name, "Healthy at v1", healthy)
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, "registry.example/"+name+":v2")
		if _, err := p.dyn[ctxName].Resource(v1alpha1.RolloutGVR).Namespace(p.ns).Patch(context.Background(), name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("%s: set image: %v", ctxName, err)
		}
	}
	for _, ctxName := range []string{contextA, contextB} {
		p.await(t, ctxName, name, "paused at step 1", atPause(1))
	}
}

// await waits until cond holds for the rollout in the cluster of ctxName.
func (p *clusterPair) await(t *testing.T, ctxName, name, what string, cond func(*v1alpha1.Rollout) bool) {
	t.Helper()
	poll(t, 60*time.Second, fmt.Sprintf("%s: rollout %s/%s %s", ctxName, p.ns, name, what), func(ctx context.Context) (bool, string, error) {
		u, err := p.dyn[ctxName].Resource(v1alpha1.RolloutGVR).Namespace(p.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		r, errs := v1alpha1.FromUnstructured(u)
		if len(errs) > 0 {
			return false, "", errs.ToAggregate()
		}
		return cond(r), rolloutSummary(r), nil
	})
}

// wantLine fails unless out has a line starting with prefix and holding
// each of words.
func wantLine(t *testing.T, what, out, prefix string, words ...string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return
		}
	}
	t.Errorf("%s: no line %q… with %q in:\n%s", what, prefix, words, out)
}

// TestMultiClusterPromote promotes the same rollout in two clusters in one
// command, after get has shown it paused in both.
func TestMultiClusterPromote(t *testing.T) {
	p := newClusterPair(t)
	p.canaryAtPause(t, "checkout")

	res := p.roost(t, "get", "--context", bothContexts)
	if res.code != 0 {
		t.Fatalf("get: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CLUSTER ") ||
		!strings.HasPrefix(lines[1], contextA+"  ") || !strings.HasPrefix(lines[2], contextB+"  ") {
		t.Errorf("get across both, want a CLUSTER column and one line per cluster in the order given: %s", res)
	}
	wantLine(t, "get", res.stdout, contextA, "checkout", "Paused", "2/4")
	wantLine(t, "get", res.stdout, contextB, "checkout", "Paused", "2/4")

	res = p.roost(t, "promote", "checkout", "--context", bothContexts)
	if res.code != 0 {
		t.Fatalf("promote across both: %s", res)
	}
	for _, c := range []string{contextA, contextB} {
		wantLine(t, "promote", res.stdout, c+": "+p.ns+"/checkout: ", "promoted")
		p.await(t, c, "checkout", "paused at step 3 after the promote", atPause(3))
	}
}

// TestMultiClusterWait waits for a rollout in both clusters: timing out
// while one is still paused, naming its cluster, then succeeding once both
// are promoted.
func TestMultiClusterWait(t *testing.T) {
	p := newClusterPair(t)
	p.canaryAtPause(t, "cart")

	mustPromote := func(ctxName string) {
		t.Helper()
		if res := p.roost(t, "promote", "cart", "--full", "--context", ctxName); res.code != 0 {
			t.Fatalf("promote --full in %s: %s", ctxName, res)
		}
	}
	mustPromote(contextA)
	p.await(t, contextA, "cart", "Healthy at v2", healthy)

	res := p.roost(t, "wait", "cart", "--context", bothContexts, "--for=healthy", "--timeout", "4s")
	if res.code != 2 {
		t.Fatalf("wait with %s still paused: want exit code 2, got %s", contextB, res)
	}
	wantLine(t, "wait", res.stdout, contextA+": rollout "+p.ns+"/cart is healthy")
	wantLine(t, "wait", res.stderr, contextB+": "+p.ns+"/cart: not healthy", "Paused")
	wantLine(t, "wait", res.stderr, "error: 1 of the 2 rollouts not healthy after 4s: "+p.ns+"/cart in "+contextB)

	mustPromote(contextB)
	res = p.roost(t, "wait", "cart", "--context", bothContexts, "--for=healthy", "--timeout", "60s")
	if res.code != 0 {
		t.Fatalf("wait after both were promoted: %s", res)
	}
	wantLine(t, "wait", res.stdout, contextA+": rollout "+p.ns+"/cart is healthy")
	wantLine(t, "wait", res.stdout, contextB+": rollout "+p.ns+"/cart is healthy")
}

// TestMultiClusterOneStopped stops the second cluster's API server: the
// promote across both says it is unreachable, still promotes in the first,
// and exits 1; once it is back, the same command works in both.
func TestMultiClusterOneStopped(t *testing.T) {
	p := newClusterPair(t)
	p.canaryAtPause(t, "ledger")

	restart := p.stopSecond(t)

	res := p.roost(t, "promote", "ledger", "--context", bothContexts)
	if res.code != 1 {
		t.Fatalf("promote with %s stopped: want exit code 1, got %s", contextB, res)
	}
	t.Logf("promote with %s stopped:\n%s", contextB, res)
	if res.took > 15*time.Second {
		t.Errorf("promote with %s stopped took %s; an unreachable cluster must be given up within seconds", contextB, res.took)
	}
	wantLine(t, "promote", res.stderr, contextB+": error: unreachable", "kubectl --context "+contextB+" cluster-info")
	wantLine(t, "promote", res.stdout, contextA+": "+p.ns+"/ledger: ", "promoted")
	wantLine(t, "promote", res.stderr, "error: 1 of 2 clusters could not be read or acted on ("+contextB+")")
	p.await(t, contextA, "ledger", "paused at step 3 after the promote", atPause(3))

	res = p.roost(t, "get", "--context", bothContexts)
	if res.code != 1 {
		t.Errorf("get with %s stopped: want exit code 1, got %s", contextB, res)
	}
	wantLine(t, "get", res.stdout, contextA, "ledger", "Paused", "4/4")
	wantLine(t, "get", res.stderr, contextB+": error: unreachable")

	restart()
	// The server answers /readyz before every component has reconnected;
	// the reconciler there must see the rollout again before a promote
	// moves it, so the test retries as a person would.
	deadline := time.Now().Add(30 * time.Second)
	for {
		res = p.roost(t, "promote", "ledger", "--context", bothContexts)
		if res.code == 0 || time.Now().After(deadline) {
			break
		}
		t.Logf("promote after the restart exited %d; again:\n%s", res.code, res.stderr)
		time.Sleep(500 * time.Millisecond)
	}
	if res.code != 0 {
		t.Fatalf("promote across both after %s came back: %s", contextB, res)
	}
	wantLine(t, "promote", res.stdout, contextA+": "+p.ns+"/ledger: ", "promoted")
	wantLine(t, "promote", res.stdout, contextB+": "+p.ns+"/ledger: ", "promoted")
	p.await(t, contextA, "ledger", "Healthy at v2", healthy)
	p.await(t, contextB, "ledger", "paused at step 3", atPause(3))
}
