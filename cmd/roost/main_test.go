package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/watch"
)

var testNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// cluster is a fake cluster that roost commands run against.
type cluster struct {
	dyn  *dynfake.FakeDynamicClient
	kube *kubefake.Clientset
	// contexts are the other kube contexts --argocd-context may name.
	contexts map[string]*cluster
}

func newCluster(rollouts []*unstructured.Unstructured, objs ...runtime.Object) *cluster {
	ros := make([]runtime.Object, len(rollouts))
	for i, r := range rollouts {
		ros[i] = r
	}
	return &cluster{
		dyn: dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
			map[schema.GroupVersionResource]string{v1alpha1.RolloutGVR: "RolloutList", v1alpha1.AnalysisRunGVR: "AnalysisRunList", watch.ApplicationGVR: "ApplicationList"}, ros...),
		kube: kubefake.NewClientset(objs...),
	}
}

// run runs roost with args against the cluster in namespace "shop".
func (c *cluster) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := c.app(&out, &errOut)
	code = execute(context.Background(), a, args)
	return out.String(), errOut.String(), code
}

// app is roost writing to out and errOut, its clusters c (context
// "workload") and c.contexts.
func (c *cluster) app(out, errOut io.Writer) *app {
	a := newApp(out, errOut)
	a.now = func() time.Time { return testNow }
	a.connect = func() (*clients, error) {
		ns := "shop"
		if *a.flags.Namespace != "" {
			ns = *a.flags.Namespace
		}
		return &clients{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, User: "kube-user", Context: "workload"}, nil
	}
	a.contextClientsFor = func(name string) (kubernetes.Interface, dynamic.Interface, error) {
		if other, ok := c.contexts[name]; ok {
			return other.kube, other.dyn, nil
		}
		return nil, nil, fmt.Errorf("context %q does not exist", name)
	}
	// The kubeconfig's contexts are "workload" (this cluster) and the
	// others of contexts.
	a.kubeContexts = func() ([]string, error) {
		names := []string{"workload"}
		for n := range c.contexts {
			names = append(names, n)
		}
		sort.Strings(names)
		return names, nil
	}
	a.connectContext = func(name string) (*clients, error) {
		cl, err := a.connect()
		if err != nil {
			return nil, err
		}
		if other, ok := c.contexts[name]; ok {
			cl.Kube, cl.Dynamic = other.kube, other.dyn
		}
		cl.Context = name
		return cl, nil
	}
	a.reachTimeout = time.Second
	return a
}

type ro struct {
	ns, name    string
	labels      map[string]any
	annotations map[string]any
	stepIndex   int64
	paused      bool // at a pause step
	abort       bool
	healthy     bool
	phase       string
	created     time.Duration // ago
	pauseStart  time.Duration // ago
}

func (r ro) object() *unstructured.Unstructured {
	status := map[string]any{
		"phase": r.phase, "currentStepIndex": r.stepIndex, "currentPodHash": "new", "stableRS": "old",
		"observedGeneration": "1",
	}
	if r.healthy {
		status["stableRS"] = "new"
	}
	if r.paused {
		status["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": testNow.Add(-r.pauseStart).Format(time.RFC3339)}}
		status["controllerPause"] = true
	}
	if r.abort {
		status["abort"] = true
	}
	md := map[string]any{
		"name": r.name, "namespace": r.ns, "uid": r.ns + "-" + r.name, "generation": int64(1),
		"creationTimestamp": testNow.Add(-r.created).Format(time.RFC3339),
	}
	if r.labels != nil {
		md["labels"] = r.labels
	}
	if r.annotations != nil {
		md["annotations"] = r.annotations
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": md,
		"spec": map[string]any{
			"replicas": int64(10),
			"selector": map[string]any{"matchLabels": map[string]any{"app": r.name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": r.name}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": r.name + ":2"}}},
			},
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(20)},
				map[string]any{"pause": map[string]any{}},
				map[string]any{"setWeight": int64(50)},
				map[string]any{"pause": map[string]any{"duration": "5m"}},
			}}},
		},
		"status": status,
	}}
}

func replicaSet(ns, rollout, hash, rev string, replicas, ready int32) *appsv1.ReplicaSet {
	yes := true
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: rollout + "-" + hash, Namespace: ns, UID: types.UID("rs-" + ns + "-" + rollout + "-" + hash),
			Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Rollout", Name: rollout, UID: types.UID(ns + "-" + rollout), Controller: &yes}},
		},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: rollout + ":" + rev}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready},
	}
}

func shopCluster() *cluster {
	return newCluster(
		[]*unstructured.Unstructured{
			ro{ns: "shop", name: "checkout", stepIndex: 1, paused: true, phase: "Paused", created: 3 * time.Hour, labels: map[string]any{"team": "payments"}}.object(),
			ro{ns: "shop", name: "cart", stepIndex: 3, paused: true, pauseStart: 90 * time.Second, phase: "Paused", created: 26 * time.Hour, labels: map[string]any{"team": "payments"}}.object(),
			ro{ns: "shop", name: "search", stepIndex: 4, healthy: true, phase: "Healthy", created: 10 * 24 * time.Hour}.object(),
			ro{ns: "web", name: "front", stepIndex: 0, abort: true, phase: "Degraded", created: 5 * time.Minute}.object(),
		},
		replicaSet("shop", "checkout", "old", "1", 8, 8),
		replicaSet("shop", "checkout", "new", "2", 2, 1),
		replicaSet("shop", "cart", "old", "4", 5, 5),
		replicaSet("shop", "cart", "new", "5", 5, 5),
		replicaSet("shop", "search", "new", "7", 10, 10),
		replicaSet("web", "front", "old", "1", 10, 10),
	)
}

func TestGetTable(t *testing.T) {
	c := shopCluster()
	out, errOut, code := c.run(t, "get", "-A")
	want := `NAMESPACE  NAME      PHASE     STEP      WEIGHT   PAUSE    CANARY  STABLE  AGE
shop       cart      Paused    4/4       50/50    3m30s    5/5     5/5     26h
shop       checkout  Paused    2/4       20/11    promote  1/2     8/8     3h
shop       search    Healthy   4/4 done  100/100  -        -       10/10   10d
web        front     Degraded  1/4       0/0      -        -       10/10   5m
`
	if code != 0 || out != want {
		t.Errorf("code %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errOut, out, want)
	}

	out, _, code = c.run(t, "get", "-l", "team=payments", "-o", "wide")
	if code != 0 || !strings.HasPrefix(out, "NAME      PHASE   STEP  WEIGHT  PAUSE    CANARY  STABLE  AGE  CANARY-IMAGE  APP  PROJECT  MESSAGE\ncart ") ||
		strings.Contains(out, "search") || !strings.Contains(out, "checkout:2") {
		t.Errorf("wide, selected:\n%s", out)
	}
}

func TestGetDetail(t *testing.T) {
	c := shopCluster()
	yes := true
	for _, role := range []string{"stable", "stable", "canary"} {
		rs := "shop-checkout-old"
		if role == "canary" {
			rs = "shop-checkout-new"
		}
		_ = c.kube.Tracker().Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "p-" + role + rs + time.Now().String(), Namespace: "shop", Labels: map[string]string{"app": "checkout", "role": role},
			OwnerReferences: []metav1.OwnerReference{{UID: types.UID("rs-" + rs), Controller: &yes}},
		}})
	}
	_ = c.kube.Tracker().Add(&corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "shop", Annotations: map[string]string{watch.ActorAnnotation: "alice@example.com"}},
		InvolvedObject: corev1.ObjectReference{Kind: "Rollout", Namespace: "shop", Name: "checkout", UID: "shop-checkout"},
		Reason:         actions.EventPaused, Message: "paused by alice@example.com", Type: "Normal", LastTimestamp: metav1.NewTime(testNow.Add(-2 * time.Minute)),
	})
	out, errOut, code := c.run(t, "get", "checkout")
	for _, want := range []string{
		"Name:      checkout\n",
		"Phase:     Paused\n",
		"Step:      2/4\n",
		"Weight:    desired 20%, actual 11% (canary available pods / all available pods)\n",
		"Pause:     waiting for promote: roost promote checkout -n shop\n",
		"  ok 1. setWeight 20\n  -> 2. pause (until promoted)\n     3. setWeight 50\n     4. pause 5m0s\n",
		"  stable  checkout-old  1         checkout:1  8/8    8          stable=2\n",
		"  canary  checkout-new  2         checkout:2  1/2    1          canary=1\n",
		"  2m ago  Normal  RolloutPausedByUser  paused by alice@example.com\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("detail lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || errOut != "" {
		t.Errorf("code %d stderr %q", code, errOut)
	}

	out, _, code = c.run(t, "get", "front", "-n", "web", "-o", "json")
	var front watch.Rollout
	if err := json.Unmarshal([]byte(out), &front); err != nil || code != 0 || !front.Aborted || front.Phase != v1alpha1.PhaseDegraded {
		t.Errorf("front: %v (code %d) %+v", err, code, front)
	}
	out, _, _ = c.run(t, "get", "front", "-n", "web")
	if !strings.Contains(out, "Phase:        Degraded\n") || !strings.Contains(out, "Abort reason: (none given)\n") {
		t.Errorf("aborted detail:\n%s", out)
	}
	out, _, code = c.run(t, "get", "cart", "-o", "json")
	var v watch.Rollout
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 {
		t.Fatalf("json: %v (code %d)\n%s", err, code, out)
	}
	if v.Name != "cart" || v.PauseRemaining != 210*time.Second || v.DesiredWeight != 50 {
		t.Errorf("json view = %+v", v)
	}
	out, _, code = c.run(t, "get", "cart", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "Name: cart\n") {
		t.Errorf("yaml:\n%s", out)
	}
}

func TestGetErrors(t *testing.T) {
	c := shopCluster()
	_, errOut, code := c.run(t, "get", "nope")
	if code != 1 || errOut != "error: rollout nope not found in namespace shop; list rollouts with `roost get -A`\n" {
		t.Errorf("code %d: %q", code, errOut)
	}
	_, errOut, code = c.run(t, "get", "-o", "table")
	if code != 1 || !strings.Contains(errOut, "use -o wide, -o json or -o yaml") {
		t.Errorf("code %d: %q", code, errOut)
	}
	_, errOut, code = c.run(t, "get", "-l", "a in (")
	if code != 1 || !strings.Contains(errOut, "label selector") {
		t.Errorf("code %d: %q", code, errOut)
	}
	empty := newCluster(nil)
	_, errOut, code = empty.run(t, "get")
	if code != 0 || errOut != "No rollouts found in namespace shop.\n" {
		t.Errorf("code %d: %q", code, errOut)
	}
	empty.dyn.PrependReactor("list", "rollouts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, notFoundNoName()
	})
	_, errOut, code = empty.run(t, "get", "-A")
	if code != 1 || !strings.Contains(errOut, "install the CRD with `roost install`") {
		t.Errorf("code %d: %q", code, errOut)
	}
}

func TestBatchPromoteWithOneMissing(t *testing.T) {
	c := shopCluster()
	out, errOut, code := c.run(t, "promote", "checkout", "missing", "cart")
	wantOut := "shop/checkout: promoted: pause at step 2/4 released\nshop/cart: promoted: pause at step 4/4 released\n"
	wantErr := "shop/missing: error: rollout missing not found in namespace shop; list rollouts with `roost get -A`\nerror: 1 of 3 rollouts failed\n"
	if code != 1 || out != wantOut || errOut != wantErr {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, name := range []string{"checkout", "cart"} {
		u, err := c.dyn.Resource(v1alpha1.RolloutGVR).Namespace("shop").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, found, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions"); found {
			t.Errorf("%s still paused", name)
		}
	}
	evs, _ := c.kube.CoreV1().Events("shop").List(context.Background(), metav1.ListOptions{})
	if len(evs.Items) != 2 || !strings.Contains(evs.Items[0].Message, "by kube-user") {
		t.Errorf("events = %+v", evs.Items)
	}
}

func TestBatchBySelectorAndAll(t *testing.T) {
	c := shopCluster()
	out, errOut, code := c.run(t, "abort", "-l", "team=payments", "--reason", "card errors up")
	want := "shop/cart: aborted: canary scaling to 0, stable to all replicas (reason: card errors up)\n" +
		"shop/checkout: aborted: canary scaling to 0, stable to all replicas (reason: card errors up)\n"
	if code != 0 || out != want {
		t.Errorf("code %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = c.run(t, "retry", "--all", "-A")
	want = "shop/cart: retried: restarting from step 1\nshop/checkout: retried: restarting from step 1\n" +
		"shop/search: skipped: not aborted; nothing to retry\nweb/front: retried: restarting from step 1\n"
	if code != 0 || out != want {
		t.Errorf("retry --all -A: code %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"promote"},
		{"promote", "x", "--all"},
		{"promote", "x", "-A"},
		{"pause"},
	} {
		if _, errOut, code := c.run(t, args...); code != 1 || !strings.HasPrefix(errOut, "error: ") {
			t.Errorf("%v: code %d %q", args, code, errOut)
		}
	}
	if _, _, code := c.run(t, "pause", "-l", "a=b"); code != 1 {
		t.Errorf("pause takes no selector: code %d", code)
	}
	if out, errOut, code := c.run(t, "promote", "-l", "team=nobody"); code != 0 || out != "" || !strings.Contains(errOut, "No rollouts matched") {
		t.Errorf("no match: code %d %q %q", code, out, errOut)
	}
}

func TestSingleActions(t *testing.T) {
	c := shopCluster()
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"pause", "search"}, "shop/search: paused: holding at the current step until `roost resume`\n"},
		{[]string{"resume", "search"}, "shop/search: resumed: manual pause lifted\n"},
		{[]string{"restart", "search"}, "shop/search: restart requested at "},
		{[]string{"promote", "--full", "checkout"}, "shop/checkout: fully promoted: remaining steps skipped\n"},
	} {
		out, errOut, code := c.run(t, tc.args...)
		if code != 0 || !strings.HasPrefix(out, tc.out) {
			t.Errorf("%v: code %d %q %q", tc.args, code, out, errOut)
		}
	}
	_, errOut, code := c.run(t, "undo", "search")
	if code != 1 || errOut != "shop/search: error: rollout shop/search has only revision 7; there is no previous revision to go back to\n" {
		t.Errorf("undo without history: code %d %q", code, errOut)
	}
	out, errOut, code := c.run(t, "undo", "cart", "--to-revision", "4")
	if code != 0 || out != "shop/cart: rolled back to the template of revision 4 (ReplicaSet cart-old); a new canary starts\n" {
		t.Errorf("undo: code %d %q %q", code, out, errOut)
	}
}

func TestBareRoostAndVersion(t *testing.T) {
	c := newCluster(nil)
	// Bare roost opens the cockpit; a cluster without the Rollout CRD is
	// told before the terminal is taken over.
	_, errOut, code := c.run(t)
	if code != 1 || !strings.Contains(errOut, "install the CRD with `roost install`") {
		t.Errorf("bare roost without the CRD: code %d, %q", code, errOut)
	}
	out, _, _ := c.run(t, "--help")
	if !strings.Contains(out, "Without a command, roost opens the cockpit") || !strings.Contains(out, "--reconciler string") || !strings.Contains(out, "Available Commands:") {
		t.Errorf("roost --help:\n%s", out)
	}
	if _, errOut, code := c.run(t, "--reconciler", "maybe"); code != 1 || !strings.Contains(errOut, "--reconciler \"maybe\": use auto, on or off") {
		t.Errorf("bad --reconciler: code %d, %q", code, errOut)
	}
	if _, errOut, code := c.run(t, "--bell", "loud"); code != 1 || !strings.Contains(errOut, "--bell \"loud\" is not a bell: use off, bell") {
		t.Errorf("bad --bell: code %d, %q", code, errOut)
	}
	// -v is klog's log level, and says so: not the version.
	if !strings.Contains(out, "-v, --v level ") || strings.Contains(out, "--v roost version") || !strings.Contains(out, "--bell mode ") {
		t.Errorf("roost --help names -v or --bell's value badly:\n%s", out)
	}
	out, _, code = c.run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "roost version dev (commit ") || !strings.Contains(out, " go1.") {
		t.Errorf("version: %q", out)
	}
	out, _, _ = c.run(t, "wait", "--help")
	if !strings.Contains(out, "Exit codes:") || !strings.Contains(out, "2  the timeout passed first") {
		t.Errorf("wait --help lacks exit codes:\n%s", out)
	}
}

// notFoundNoName is how a cluster without the Rollout CRD answers.
func notFoundNoName() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 404, Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource"}}
}

func TestUsageErrorsSayWhatToDo(t *testing.T) {
	c := newCluster(nil)
	for args, want := range map[string]string{
		"promte x":  "error: unknown command \"promte\" (did you mean \"promote\"?); run `roost --help` to list commands\n",
		"get --foo": "error: unknown flag: --foo; see `roost get --help`\n",
		"get a b":   "error: roost get shows one rollout NAME or lists them all; got 2 names (pick them with -l SELECTOR instead)\n",
	} {
		if _, errOut, code := c.run(t, strings.Fields(args)...); code != 1 || errOut != want {
			t.Errorf("roost %s: code %d %q, want %q", args, code, errOut, want)
		}
	}
}

func TestLogFileFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	var opened []string
	a.setLogFile = func(path string) error {
		opened = append(opened, path)
		if path == "/unwritable/roost.log" {
			return errors.New("permission denied")
		}
		return nil
	}
	if code := execute(context.Background(), a, []string{"version", "--log-file", "/tmp/roost-test.log"}); code != 0 || !strings.Contains(out.String(), "logs: /tmp/roost-test.log\n") {
		t.Errorf("code %d %q", code, out.String())
	}
	if code := execute(context.Background(), a, []string{"version", "--log-file", "/unwritable/roost.log"}); code != 1 ||
		!strings.Contains(errOut.String(), "error: --log-file /unwritable/roost.log: permission denied; give a writable path, or - for stderr") {
		t.Errorf("code %d %q", code, errOut.String())
	}
	if len(opened) != 2 {
		t.Errorf("opened %v", opened)
	}
}

func TestProfilerWindow(t *testing.T) {
	for _, tc := range []struct {
		path, window string
		ok, windowed bool
	}{
		{"", "", true, false},
		{"p.pprof", "", true, false},
		{"p.pprof", "10s+30s", true, true},
		{"", "10s+30s", true, false}, // no file: nothing to narrow
		{"p.pprof", "10s", false, false},
		{"p.pprof", "10s+0s", false, false},
		{"p.pprof", "-1s+3s", false, false},
		{"p.pprof", "soon+3s", false, false},
	} {
		p, err := newProfiler(tc.path, tc.window)
		if (err == nil) != tc.ok {
			t.Errorf("newProfiler(%q, %q) error %v, want ok=%v", tc.path, tc.window, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), profileWindowEnv) || !strings.Contains(err.Error(), "DELAY+LENGTH") {
				t.Errorf("error %q names neither the setting nor its form", err)
			}
			continue
		}
		if p.windowed != tc.windowed {
			t.Errorf("newProfiler(%q, %q) windowed=%v, want %v", tc.path, tc.window, p.windowed, tc.windowed)
		}
	}
	// A window writes the profile only once it opens, and the heap beside it.
	path := filepath.Join(t.TempDir(), "w.pprof")
	p, err := newProfiler(path, "0s+50ms")
	if err != nil {
		t.Fatal(err)
	}
	end := p.start()
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a windowed profile began before the first frame")
	}
	p.firstFrame()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path + ".heap"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the window never closed: no heap profile")
		}
		time.Sleep(10 * time.Millisecond)
	}
	end() // after the window: nothing more to do
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("CPU profile %v, %v", st, err)
	}
}
