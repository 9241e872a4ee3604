package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/demo"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/bugsnag"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/tui"
)

func runRoost(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	code = execute(context.Background(), a, args)
	return out.String(), errOut.String(), code
}

// Bad flags are refused before anything is built, naming the choices.
func TestDemoRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"demo", "--scenario", "bsy"}, []string{`--scenario "bsy": no such scenario; choose default (`, "calm (", "busy ("}},
		{[]string{"demo", "--speed", "0"}, []string{"--speed 0: give a factor between 0.25 and 10"}},
		{[]string{"demo", "--speed", "50"}, []string{"--speed 50: give a factor between 0.25 and 10"}},
		{[]string{"demo", "--speed", "fast"}, []string{`invalid argument "fast" for "--speed"`, "see `roost demo --help`"}},
		{[]string{"demo", "shop"}, []string{`unknown command "shop" for "roost demo"`}},
		{[]string{"demo", "-n", "shop"}, []string{"-n shop: roost demo shows every namespace", "filter in the cockpit with /"}},
		{[]string{"demo", "--bell", "loud"}, []string{`--bell "loud" is not a bell: use off, bell`}},
		{[]string{"demo", "--clusters", "9"}, []string{"--clusters 9: the demo simulates 1 to 5 clusters"}},
		{[]string{"demo", "--clusters", "0"}, []string{"--clusters 0: the demo simulates 1 to 5 clusters"}},
		{[]string{"demo", "--argocd-context", "mgmt"}, []string{"--argocd-context mgmt: roost demo's Argo CD is in its simulated cluster", "drop --argocd-context"}},
	}
	for _, tt := range tests {
		_, errOut, code := runRoost(tt.args...)
		if code != 1 {
			t.Errorf("roost %s: exit %d, want 1", strings.Join(tt.args, " "), code)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("roost %s: stderr %q lacks %q", strings.Join(tt.args, " "), errOut, w)
			}
		}
	}
}

func TestDemoHelpSaysWhatItOpens(t *testing.T) {
	out, _, code := runRoost("demo", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"only ports the demo opens: two,\non 127.0.0.1, chosen by the system",
		"leaves no files",
		"--log-file",
		"default  five rollouts",
		"busy     24 rollouts",
		"analysis canaries gated by Argo analysis",
		"--speed float",
		"--readonly",
		"--bell mode",
		"-v, --v level",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("roost demo --help lacks %q:\n%s", want, out)
		}
	}
	// The connection flags do not apply to the demo: its help lists none.
	for _, flag := range []string{"--kubeconfig", "--context", "--token", "--all-namespaces", "--namespace"} {
		if strings.Contains(out, flag) {
			t.Errorf("roost demo --help lists %s, which the demo ignores:\n%s", flag, out)
		}
	}
	if root, _, _ := runRoost("--help"); !strings.Contains(root, "demo ") {
		t.Errorf("roost --help does not list demo:\n%s", root)
	}
}

// The demo's cockpit is the real one: every namespace, this roost
// stepping the canaries, the actions on, and the evidence from the demo's
// servers with its made-up keys, which no message shows.
func TestDemoCockpitWiring(t *testing.T) {
	// The real environment must not redirect the demo's clients, nor the
	// person's configuration file its Argo CD.
	t.Setenv("DD_SITE", "datadoghq.eu")
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if err := os.MkdirAll(filepath.Join(xdg, "roost"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(xdg, "roost", "config.yaml"), []byte("argocd:\n  context: mgmt\n  namespace: gitops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DD_API_KEY", "0123456789abcdef0123456789abcdef")
	t.Setenv("DD_APP_KEY", "0123456789abcdef0123456789abcdef01234567")
	t.Setenv("DD_ADDRESS", "https://api.datadoghq.eu")
	w, err := demo.New(demo.Options{Speed: 10, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	worldDone := make(chan error, 1)
	go func() { worldDone <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-worldDone; err != nil {
			t.Errorf("world: %v", err)
		}
	}()

	a := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	a.contextClientsFor = func(name string) (kubernetes.Interface, dynamic.Interface, error) {
		t.Errorf("the demo asked for the clients of kube context %q; it reads no kubeconfig", name)
		return nil, nil, errors.New("no kubeconfig in the demo")
	}
	// A read-only demo: no actions, and still this roost steps the
	// simulated canaries (nothing else does).
	c, co := a.demoCockpit(w, &demoOptions{theme: "mono", readonly: true})
	if ro, err := a.buildCockpit(ctx, c, co, demo.ContextName); err != nil || !ro.opts.ReadOnly || ro.opts.Actor != nil || ro.leader == nil || ro.ready == nil {
		t.Errorf("demo --readonly: err %v, read-only %v, actor %v, stepping %v, waits for the start %v", err, ro.opts.ReadOnly, ro.opts.Actor != nil, ro.leader != nil, ro.ready != nil)
	}
	c, co = a.demoCockpit(w, &demoOptions{theme: "mono"})
	if err := checkCRD(c); err != nil {
		t.Fatal(err)
	}
	ck, err := a.buildCockpit(ctx, c, co, demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	o := ck.opts
	switch {
	case o.Context != "roost-demo (simulated, nothing is real)" || o.Namespace != "" || !a.allNamespaces:
		t.Errorf("header: context %q, namespace %q (all %v); want the demo's, every namespace", o.Context, o.Namespace, a.allNamespaces)
	case ck.leader == nil || ck.newCtrl == nil:
		t.Error("this roost does not step the canaries")
	case o.Actor == nil || o.ReadOnly:
		t.Error("the actions are off")
	case o.Evidence == nil || o.MetricsOff != "" || o.ErrorsOff != "" || o.Headline != "error_rate":
		t.Errorf("evidence %v, metrics off %q, errors off %q, headline %q", o.Evidence != nil, o.MetricsOff, o.ErrorsOff, o.Headline)
	case o.Theme.Name != "mono":
		t.Errorf("theme %q, want mono", o.Theme.Name)
	case ck.providers.Datadog == nil:
		t.Error("the AnalysisRuns' Datadog metrics have no provider")
	case !ck.watcher.WatchesAnalysisRuns():
		t.Error("the cockpit does not watch AnalysisRuns")
	case ck.watcher.ApplicationInformer() == nil:
		t.Error("the cockpit does not watch the demo's Argo CD Applications")
	}
	for _, n := range o.Notices {
		if n.Level == themes.Warning || strings.Contains(n.Text, "Argo CD") || strings.Contains(n.Text, "Applications") {
			t.Errorf("notice at start: %s", n.Text)
		}
	}

	// The cockpit's own poller reads the demo's Datadog and Bugsnag with
	// the made-up keys: answers, not refusals.
	u, err := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace("shop").Get(ctx, "checkout", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := v1alpha1.FromUnstructured(u)
	poller, ok := o.Evidence.(*metrics.Poller)
	if !ok {
		t.Fatalf("the evidence is a %T", o.Evidence)
	}
	fctx, done := context.WithTimeout(ctx, 20*time.Second)
	defer done()
	ev := poller.FetchOnce(fctx, metrics.Target{Namespace: "shop", Name: "checkout", Annotations: r.Annotations, TemplateLabels: r.Spec.Template.Labels, Poll: true})
	if ev.MetricsState.Stale || ev.ErrorsState.Stale || ev.MetricsOff != "" || ev.ErrorsOff != "" || len(ev.Metrics) != 3 {
		t.Errorf("checkout's evidence: metrics %+v (off %q), errors %+v (off %q)", ev.MetricsState, ev.MetricsOff, ev.ErrorsState, ev.ErrorsOff)
	}
	for _, m := range ev.Metrics {
		if m.Error != "" {
			t.Errorf("%s: %s", m.ID, m.Error)
		}
	}

	// The analysis' Datadog provider measures on the demo's Datadog with
	// its keys, whatever DD_API_KEY, DD_APP_KEY and DD_ADDRESS say.
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-run"}}
	stable := "{service:checkout,env:demo,kube_role:stable}"
	read := ck.providers.Datadog.Measure(fctx, run, v1alpha1.Metric{Name: "error-rate", Provider: v1alpha1.MetricProvider{Datadog: &v1alpha1.DatadogMetric{
		APIVersion: v1alpha1.DatadogAPIv2, Interval: "5m", Aggregator: v1alpha1.DatadogAggregatorSum, Formula: "errors / hits",
		Queries: map[string]string{"errors": "sum:trace.http.request.errors" + stable + ".as_count()", "hits": "sum:trace.http.request.hits" + stable + ".as_count()"},
	}}}, time.Now())
	if rate, ok := read.Result.(float64); read.Err != nil || !ok || rate <= 0 || rate > 0.02 {
		t.Errorf("checkout's stable error rate through the analysis provider: %+v; want about 0.008", read)
	}

	shown := fmt.Sprintf("%+v %+v %v %+v", o, ev, o.Notices, read)
	for _, k := range []string{"DD_API_KEY", "DD_APP_KEY", bugsnag.TokenEnv} {
		if key := w.Getenv(k); key == "" || strings.Contains(shown, key) {
			t.Errorf("%s is %q, or shows in the cockpit's options or evidence", k, key)
		}
	}
	if w.Getenv("DD_SITE") != "" || !strings.HasPrefix(w.Metrics().Datadog.Address, "http://127.0.0.1:") {
		t.Errorf("the demo's Datadog is %q (DD_SITE %q); want its loopback server", w.Metrics().Datadog.Address, w.Getenv("DD_SITE"))
	}
}

// The default log file exists only once something is logged: a demo that
// drops its logs leaves no file.
func TestDefaultLogFileOpensAtTheFirstLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "roost", "roost.log")
	w := &fileOnFirstWrite{path: path}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Fatalf("the log's folder exists before anything was logged: %v", err)
	}
	if n, err := w.Write([]byte("first\n")); n != 6 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	_, _ = w.Write([]byte("second\n"))
	w.close()
	if b, err := os.ReadFile(path); err != nil || string(b) != "first\nsecond\n" {
		t.Errorf("log file %q, %v", b, err)
	}
	// A file that cannot be made drops the lines rather than failing.
	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dropped := &fileOnFirstWrite{path: filepath.Join(blocked, "roost.log")}
	if n, err := dropped.Write([]byte("lost\n")); n != 5 || err != nil {
		t.Errorf("Write to an impossible file = %d, %v; want the line dropped quietly", n, err)
	}
}

// roost demo --clusters 2: two simulated clusters with the same services,
// each stepped by its own reconciler, their rollouts told apart by
// cluster.
func TestDemoClusters(t *testing.T) {
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	ctx, cancel := context.WithCancel(context.Background())
	opts, started, stopped, err := a.demoClusters(ctx, &demoOptions{clusters: 2, speed: 10, scenario: demo.DefaultScenario, theme: "mono"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		started.stop()
		if err := stopped(); err != nil {
			t.Errorf("worlds: %v", err)
		}
	}()
	if len(opts.Clusters) != 2 || opts.Clusters[0].Name != "demo-tokyo" || opts.Clusters[1].Name != "demo-osaka" {
		t.Fatalf("clusters %+v", opts.Clusters)
	}
	services := map[string][]string{}
	for _, cl := range opts.Clusters {
		made, err := cl.Connect(ctx)
		if err != nil {
			t.Fatalf("%s: %v", cl.Name, err)
		}
		if made.Actor == nil || made.Evidence == nil || made.Stepping == nil {
			t.Errorf("%s: actor %v, evidence %v, stepping %v", cl.Name, made.Actor != nil, made.Evidence != nil, made.Stepping != nil)
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := made.Rollouts.Wait(wctx, time.Now); err != nil {
			t.Fatalf("%s: %v", cl.Name, err)
		}
		wcancel()
		var targets []metrics.Target
		for _, r := range made.Rollouts.Overview() {
			if r.Cluster != cl.Name {
				t.Errorf("%s/%s of %s says cluster %q", r.Namespace, r.Name, cl.Name, r.Cluster)
			}
			services[cl.Name] = append(services[cl.Name], r.Namespace+"/"+r.Name)
			targets = append(targets, metrics.TargetOf(r))
		}
		slices.Sort(services[cl.Name])
		// Each cluster's canaries get their own series: the queries filter
		// on the cluster, which the demo's series carry as Datadog's agent
		// tags them.
		made.Evidence.SetTargets(targets)
		if !canaryMeasured(ctx, made.Evidence, targets) {
			t.Errorf("%s: no canary under way got its metrics within 20s", cl.Name)
		}
	}
	if len(services["demo-tokyo"]) == 0 || !slices.Equal(services["demo-tokyo"], services["demo-osaka"]) {
		t.Errorf("the clusters' services differ: %v", services)
	}
}

// canaryMeasured waits for a canary under way among targets to have a
// measured metric on its canary side.
func canaryMeasured(ctx context.Context, ev tui.Evidence, targets []metrics.Target) bool {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		for _, tg := range targets {
			e, ok := ev.Evidence(tg.Namespace, tg.Name)
			if !ok || !tg.Poll {
				continue
			}
			for _, m := range e.Metrics {
				if _, ok := m.Canary.Latest(); ok && strings.Contains(m.Query, "kube_cluster_name:"+tg.Cluster) {
					return true
				}
			}
		}
		if _, err := ev.WaitChanged(ctx); err != nil {
			return false
		}
	}
}
