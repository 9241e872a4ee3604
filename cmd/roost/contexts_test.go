package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// regions is a kubeconfig of three clusters: workload (the current
// context), tokyo and osaka, each with rollouts of the same names.
func regions() *cluster {
	home := shopCluster()
	home.contexts = map[string]*cluster{"tokyo": shopCluster(), "osaka": shopCluster()}
	return home
}

// unreachableCluster makes the cluster refuse connections, as a stopped
// API server does.
func (c *cluster) unreachableCluster() {
	c.kube.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New(`Get "https://10.0.0.7:6443/version": dial tcp 10.0.0.7:6443: connect: connection refused`)
	})
}

// writes are the patches and creates (not Events) a cluster received.
func (c *cluster) writes() []string {
	var out []string
	for _, a := range c.dyn.Actions() {
		if a.GetVerb() == "patch" || a.GetVerb() == "update" {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestSplitContexts(t *testing.T) {
	for in, want := range map[string][]string{
		"a":             {"a"},
		"a,b,c":         {"a", "b", "c"},
		" b , a,,b ,a ": {"b", "a"},
		",":             nil,
	} {
		if got := splitContexts(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitContexts(%q) = %q, want %q", in, got, want)
		}
	}
}

// Actions run in each cluster, one line per cluster and rollout in the
// order the contexts were given.
func TestPromoteAcrossContexts(t *testing.T) {
	c := regions()
	out, errOut, code := c.run(t, "promote", "checkout", "--context", "osaka,tokyo,osaka")
	want := "osaka: shop/checkout: promoted: pause at step 2/4 released\ntokyo: shop/checkout: promoted: pause at step 2/4 released\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
	for _, name := range []string{"tokyo", "osaka"} {
		if w := c.contexts[name].writes(); len(w) == 0 {
			t.Errorf("%s: no write", name)
		}
	}
	if w := c.writes(); len(w) != 0 {
		t.Errorf("the current context, not named, got %v", w)
	}
}

// One name, even given twice, is today's roost: no prefix.
func TestOneContextIsAsBefore(t *testing.T) {
	c := regions()
	out, _, code := c.run(t, "promote", "checkout", "--context", "workload,workload")
	if code != 0 || out != "shop/checkout: promoted: pause at step 2/4 released\n" {
		t.Errorf("exit %d, stdout:\n%s", code, out)
	}
}

func TestUnreachableClusterDoesNotStopTheOthers(t *testing.T) {
	c := regions()
	c.contexts["osaka"].unreachableCluster()
	out, errOut, code := c.run(t, "promote", "checkout", "--context", "tokyo,osaka")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out != "tokyo: shop/checkout: promoted: pause at step 2/4 released\n" {
		t.Errorf("stdout:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "osaka: error: unreachable: ") || !strings.Contains(lines[0], "connection refused") ||
		!strings.Contains(lines[0], "kubectl --context osaka cluster-info") ||
		lines[1] != "error: 1 of 2 clusters could not be read or acted on (osaka); see their lines above" {
		t.Errorf("stderr:\n%s", errOut)
	}
	if w := c.contexts["osaka"].writes(); len(w) != 0 {
		t.Errorf("osaka got %v", w)
	}
	// A failed rollout and a lost cluster are both in the exit's message.
	_, errOut, code = c.run(t, "abort", "checkout", "nosuch", "--context", "tokyo,osaka")
	if code != 1 || !strings.Contains(errOut, "tokyo: shop/nosuch: error: ") ||
		!strings.Contains(errOut, "error: 1 of 2 rollouts failed; 1 of 2 clusters could not be read or acted on (osaka)") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// A slow cluster is given up after the reach timeout; the others are done
// meanwhile.
func TestSlowClusterIsGivenUp(t *testing.T) {
	c := regions()
	c.contexts["osaka"].kube.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
		time.Sleep(3 * time.Second)
		return true, nil, errors.New("no answer")
	})
	began := time.Now()
	out, errOut, code := c.run(t, "get", "--context", "tokyo,osaka", "-l", "team=payments")
	if code != 1 || !strings.Contains(out, "tokyo    cart") || !strings.Contains(errOut, "osaka: error: unreachable") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "no answer within 1s") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if took := time.Since(began); took > 2500*time.Millisecond {
		t.Errorf("took %s; the slow cluster was to be given up after 1s", took)
	}
}

func TestUnknownContextFailsBeforeAnything(t *testing.T) {
	c := regions()
	_, errOut, code := c.run(t, "abort", "checkout", "--context", "tokyo,kyoto,nara")
	want := "error: --context: kubeconfig " + clientcmdHome() + " has no contexts kyoto, nara; nothing was done. Its contexts are: osaka, tokyo, workload (see `kubectl config get-contexts`)\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	if w := c.contexts["tokyo"].writes(); len(w) != 0 {
		t.Errorf("tokyo got %v", w)
	}
	_, errOut, code = c.run(t, "get", "--context", "tokyo", "--all-contexts")
	if code != 1 || !strings.Contains(errOut, "--context and --all-contexts both pick the clusters: give one of them") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, args := range [][]string{{"restart", "checkout"}, {"undo", "checkout"}} {
		_, errOut, code = c.run(t, append(args, "--context", "tokyo,osaka")...)
		if code != 1 || !strings.Contains(errOut, "works in one cluster: give one --context NAME (several contexts are taken by the cockpit, get, promote, abort, retry, pause, resume and wait)") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
	_, errOut, code = c.run(t, "get", "analysisruns", "--context", "tokyo,osaka")
	if code != 1 || !strings.Contains(errOut, "give one --context NAME") {
		t.Errorf("get analysisruns: exit %d, stderr:\n%s", code, errOut)
	}
}

// clientcmdHome is the kubeconfig roost names without --kubeconfig or
// $KUBECONFIG.
func clientcmdHome() string {
	a := newApp(nil, nil)
	return a.kubeconfigFiles()
}

func TestGetAcrossContexts(t *testing.T) {
	c := regions()
	c.contexts["osaka"] = newCluster([]*unstructured.Unstructured{
		ro{ns: "shop", name: "checkout", stepIndex: 4, healthy: true, phase: "Healthy", created: time.Hour}.object(),
	}, replicaSet("shop", "checkout", "new", "2", 10, 10))
	out, errOut, code := c.run(t, "get", "--context", "tokyo,osaka")
	want := `CLUSTER  NAME      PHASE    STEP      WEIGHT   PAUSE    CANARY  STABLE  AGE
tokyo    cart      Paused   4/4       50/50    3m30s    5/5     5/5     26h
tokyo    checkout  Paused   2/4       20/11    promote  1/2     8/8     3h
tokyo    search    Healthy  4/4 done  100/100  -        -       10/10   10d
osaka    checkout  Healthy  4/4 done  100/100  -        -       10/10   60m
`
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}

	_, _, code = c.run(t, "get", "checkout", "--context", "tokyo,osaka", "-o", "wide", "-A")
	if code != 1 {
		t.Errorf("get NAME -A: exit %d, want 1 (a NAME needs one namespace)", code)
	}
	out, _, code = c.run(t, "get", "checkout", "--context", "tokyo,osaka", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "CLUSTER  NAME      PHASE") || !strings.Contains(lines[0], "CANARY-IMAGE") ||
		!strings.HasPrefix(lines[1], "tokyo    checkout  Paused") || !strings.HasPrefix(lines[2], "osaka    checkout  Healthy") {
		t.Errorf("get NAME -o wide: exit %d:\n%s", code, out)
	}

	out, _, code = c.run(t, "get", "--context", "osaka,tokyo", "-o", "json", "-l", "team=payments")
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil || code != 0 {
		t.Fatalf("json: exit %d, %v:\n%s", code, err, out)
	}
	var got []string
	for _, it := range items {
		got = append(got, it["Cluster"].(string)+" "+it["Namespace"].(string)+"/"+it["Name"].(string))
	}
	if want := []string{"tokyo shop/cart", "tokyo shop/checkout"}; !reflect.DeepEqual(got, want) {
		t.Errorf("json items %q, want %q", got, want)
	}

	// A rollout missing in one cluster is said there; the others are shown.
	out, errOut, code = c.run(t, "get", "cart", "--context", "tokyo,osaka")
	if code != 1 || !strings.Contains(out, "tokyo    cart") || !strings.Contains(errOut, "osaka: error: no rollout cart in namespace shop; list the rollouts there with `roost get --context osaka -n shop`") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestAllContexts(t *testing.T) {
	c := regions()
	out, _, code := c.run(t, "get", "search", "--all-contexts", "-o", "json")
	var items []clusterRollout
	if err := json.Unmarshal([]byte(out), &items); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Cluster)
	}
	if want := []string{"osaka", "tokyo", "workload"}; !reflect.DeepEqual(got, want) {
		t.Errorf("clusters %q, want %q", got, want)
	}
}

// clusters in the configuration is the scope without --context; --context
// overrides it.
func TestClustersFromConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if err := os.MkdirAll(filepath.Join(dir, "roost"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "roost", "config.yaml"), []byte("clusters: [tokyo, osaka]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := regions()
	out, errOut, code := c.run(t, "resume", "checkout")
	skipped := "shop/checkout: skipped: not manually paused; it waits at a pause step: release it with `roost promote checkout -n shop`\n"
	want := "tokyo: " + skipped + "osaka: " + skipped
	if code != 0 || out != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
	out, _, code = c.run(t, "resume", "checkout", "--context", "tokyo")
	if code != 0 || strings.HasPrefix(out, "tokyo") {
		t.Errorf("--context tokyo: exit %d, stdout:\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "roost", "config.yaml"), []byte("clusters: [tokyo, kyoto]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = c.run(t, "resume", "checkout")
	if code != 1 || !strings.Contains(errOut, "error: clusters in "+filepath.Join(dir, "roost", "config.yaml")+": kubeconfig") || !strings.Contains(errOut, "has no context kyoto") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestWaitAcrossContexts(t *testing.T) {
	c := regions()
	out, errOut, code := c.run(t, "wait", "search", "--context", "tokyo,osaka", "--for=healthy", "--timeout", "5s")
	if code != 0 || !strings.Contains(out, "tokyo: rollout shop/search is healthy\n") || !strings.Contains(out, "osaka: rollout shop/search is healthy\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	c.contexts["osaka"] = newCluster([]*unstructured.Unstructured{
		ro{ns: "shop", name: "search", stepIndex: 1, paused: true, phase: "Paused", created: time.Hour}.object(),
	})
	out, errOut, code = c.run(t, "wait", "search", "--context", "tokyo,osaka", "--for=healthy", "--timeout", "300ms")
	if code != waitTimeout || out != "tokyo: rollout shop/search is healthy\n" ||
		!strings.Contains(errOut, "osaka: shop/search: not healthy (phase Paused") ||
		!strings.Contains(errOut, "error: 1 of the 2 rollouts not healthy after 300ms: shop/search in osaka; wait longer with --timeout") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	c.contexts["osaka"].unreachableCluster()
	out, errOut, code = c.run(t, "wait", "search", "--context", "tokyo,osaka", "--for=healthy", "--timeout", "5s")
	if code != waitDegraded || out != "tokyo: rollout shop/search is healthy\n" || !strings.Contains(errOut, "osaka: error: unreachable") ||
		!strings.Contains(errOut, "error: 1 of 2 clusters could not be read or acted on (osaka); see their lines above; the rollouts of the others are healthy") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
