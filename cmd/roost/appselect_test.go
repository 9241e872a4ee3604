package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/internal/kubetest"
	"github.com/roost-dev/roost/watch"
)

func tracked(app, ns, name string) map[string]any {
	return map[string]any{watch.TrackingIDAnnotation: argocd.TrackingID(app, ns, name)}
}

// argoRollouts are the rollouts of the Argo CD tests, in namespaces shop
// and web:
//
//	shop/checkout  Application shop-checkout (project shop, self-heal), paused at step 2
//	shop/cart      Application shop-cart (project shop, manual sync), paused at step 4
//	shop/legacy    label-tracked by shop-cart, healthy
//	shop/search    a Helm release label no Application has
//	web/front      Application team-a/front (apps in any namespace, project shop), aborted
//	web/broken     a malformed tracking annotation beside a label naming shop-cart
//	web/blog       Application blog (project web)
func argoRollouts() []*unstructured.Unstructured {
	instance := func(v string) map[string]any { return map[string]any{watch.DefaultInstanceLabel: v} }
	return []*unstructured.Unstructured{
		ro{ns: "shop", name: "checkout", stepIndex: 1, paused: true, phase: "Paused", created: time.Hour, annotations: tracked("shop-checkout", "shop", "checkout"), labels: map[string]any{"team": "payments"}}.object(),
		ro{ns: "shop", name: "cart", stepIndex: 3, paused: true, phase: "Paused", created: time.Hour, annotations: tracked("shop-cart", "shop", "cart")}.object(),
		ro{ns: "shop", name: "legacy", stepIndex: 4, healthy: true, phase: "Healthy", created: time.Hour, labels: instance("shop-cart")}.object(),
		ro{ns: "shop", name: "search", stepIndex: 4, healthy: true, phase: "Healthy", created: time.Hour, labels: instance("helm-search")}.object(),
		ro{ns: "web", name: "front", stepIndex: 0, abort: true, phase: "Degraded", created: time.Hour, annotations: tracked("team-a_front", "web", "front")}.object(),
		ro{ns: "web", name: "broken", stepIndex: 1, paused: true, phase: "Paused", created: time.Hour,
			annotations: map[string]any{watch.TrackingIDAnnotation: "shop-checkout:argoproj.io/Rollout"}, labels: instance("shop-cart")}.object(),
		ro{ns: "web", name: "blog", stepIndex: 1, paused: true, phase: "Paused", created: time.Hour, annotations: tracked("blog", "web", "blog")}.object(),
	}
}

func argoApplications() []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		argocd.Application(argocd.App{Name: "shop-checkout", Project: "shop", DestNamespace: "shop", AutoSync: true, SelfHeal: true, Sync: "Synced", Health: "Suspended"}),
		argocd.Application(argocd.App{Name: "shop-cart", Project: "shop", DestNamespace: "shop", Sync: "OutOfSync", Health: "Suspended"}),
		argocd.Application(argocd.App{Namespace: "team-a", Name: "front", Project: "shop", DestNamespace: "web", AutoSync: true, Sync: "Synced", Health: "Degraded"}),
		argocd.Application(argocd.App{Name: "blog", Project: "web", DestNamespace: "web", AutoSync: true, SelfHeal: true}),
	}
}

// serveApplications makes c a cluster where Argo CD runs: its discovery
// lists applications, and listing them is allowed when mayList says so.
func (c *cluster) serveApplications(mayList func(authorizationv1.ResourceAttributes) bool) {
	c.kube.Resources = append(c.kube.Resources, &metav1.APIResourceList{
		GroupVersion: watch.ApplicationGVR.GroupVersion().String(),
		APIResources: []metav1.APIResource{{Name: "applications", Namespaced: true, Kind: "Application"}, {Name: "appprojects", Namespaced: true, Kind: "AppProject"}},
	})
	kubetest.AnswerAccessReviews(c.kube, mayList)
}

func allowAll(authorizationv1.ResourceAttributes) bool { return true }

// argoCluster is one cluster with the rollouts and Argo CD's Applications.
func argoCluster() *cluster {
	c := newCluster(append(argoRollouts(), argoApplications()...),
		replicaSet("shop", "checkout", "old", "1", 8, 8),
		replicaSet("shop", "checkout", "new", "2", 2, 2),
	)
	c.serveApplications(allowAll)
	return c
}

// reported are the rollouts named at the start of out's lines ("ns/name: ...").
func reported(out string) []string {
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if name, _, ok := strings.Cut(l, ": "); ok && strings.Contains(name, "/") && !strings.Contains(name, " ") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func TestActionsByProjectAndApp(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // the rollouts acted on, sorted
		code int
	}{
		{"project across namespaces, one aborted", []string{"promote", "--project", "shop", "-A"}, "shop/cart shop/checkout shop/legacy web/front", 1},
		{"project in the namespace", []string{"promote", "--project", "shop"}, "shop/cart shop/checkout shop/legacy", 0},
		{"project narrowed by -l", []string{"promote", "--project", "shop", "-l", "team=payments"}, "shop/checkout", 0},
		{"app by name", []string{"promote", "--app", "shop-checkout"}, "shop/checkout", 0},
		{"app in Argo CD's namespace by namespace/name", []string{"promote", "--app", "argocd/shop-checkout"}, "shop/checkout", 0},
		{"app by label tracking", []string{"retry", "--app", "shop-cart"}, "shop/cart shop/legacy", 0},
		{"app in any namespace", []string{"retry", "--app", "team-a/front", "-A"}, "web/front", 0},
		{"app and project agree", []string{"resume", "--app", "blog", "--project", "web", "-n", "web"}, "web/blog", 0},
		{"app not in that project", []string{"resume", "--app", "blog", "--project", "shop", "-n", "web"}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := argoCluster()
			out, errOut, code := c.run(t, tc.args...)
			if got := strings.Join(reported(out+errOut), " "); got != tc.want || code != tc.code {
				t.Errorf("roost %s: code %d, acted on %q; want code %d, %q\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), code, got, tc.code, tc.want, out, errOut)
			}
		})
	}

	// The aborted one says so and the others move on.
	c := argoCluster()
	out, errOut, code := c.run(t, "promote", "--project", "shop", "-A")
	wantOut := "shop/cart: promoted: pause at step 4/4 released\n" +
		"shop/checkout: promoted: pause at step 2/4 released\n" +
		"shop/legacy: skipped: already fully promoted\n"
	wantErr := "web/front: error: rollout web/front is aborted; retry it first with `roost retry front -n web`\nerror: 1 of 4 rollouts failed\n"
	if code != 1 || out != wantOut || errOut != wantErr {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, name := range []string{"checkout", "cart"} {
		u, err := c.dyn.Resource(v1alpha1.RolloutGVR).Namespace("shop").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, found, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions"); found {
			t.Errorf("%s still at its pause after the project promote", name)
		}
	}
}

func TestMalformedTrackingLeavesRolloutOut(t *testing.T) {
	c := argoCluster()
	// web/broken carries a malformed annotation and a label naming
	// shop-cart: the annotation, even broken, is authoritative, so it
	// belongs to no Application, and no error is shown.
	out, errOut, code := c.run(t, "abort", "--app", "shop-cart", "-A")
	if code != 0 || strings.Contains(out+errOut, "broken") || strings.Contains(errOut, "error") {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	out, errOut, code = c.run(t, "get", "-A", "-o", "json")
	var views []watch.Rollout
	if err := json.Unmarshal([]byte(out), &views); err != nil || code != 0 || errOut != "" {
		t.Fatalf("get -o json: %v, code %d, %q", err, code, errOut)
	}
	for _, v := range views {
		if v.Name == "broken" && v.App != nil {
			t.Errorf("web/broken has App %+v; a malformed mark is no Application", v.App)
		}
	}
}

func TestLabelTrackingConfirmedByApplications(t *testing.T) {
	// shop/search's instance label is a Helm release's: with Applications
	// read, no Application of that name exists, so it is nobody's.
	c := argoCluster()
	out, errOut, code := c.run(t, "promote", "--app", "helm-search")
	if code != 0 || out != "" || !strings.Contains(errOut, "No rollouts in namespace shop are deployed by Argo CD's Application helm-search; nothing to promote. Argo CD (this cluster) has no Application helm-search.") {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// Without Applications to read, the label is taken at its word.
	c = newCluster(argoRollouts())
	out, _, code = c.run(t, "promote", "--full", "--app", "helm-search")
	if code != 0 || out != "shop/search: skipped: already fully promoted\n" {
		t.Errorf("marks alone: code %d %q", code, out)
	}
}

func TestNothingMatchedByApp(t *testing.T) {
	c := argoCluster()
	out, errOut, code := c.run(t, "promote", "--project", "nope")
	want := "No rollouts in namespace shop are deployed by Argo CD's project nope; nothing to promote. No Application of Argo CD (this cluster) is in project nope. Add -A to look in every namespace; `roost get -A -o wide` shows each rollout's Application and project (Argo CD marks a rollout it deploys with the annotation argocd.argoproj.io/tracking-id).\n"
	if code != 0 || out != "" || errOut != want {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The same exit code as a selector that matches nothing.
	_, _, selectorCode := c.run(t, "promote", "-l", "team=nobody")
	if selectorCode != code {
		t.Errorf("--project matching nothing exits %d, -l matching nothing %d", code, selectorCode)
	}
	_, errOut, code = c.run(t, "get", "--app", "shop-checkout", "-n", "web")
	if code != 0 || !strings.HasPrefix(errOut, "No rollouts in namespace web are deployed by Argo CD's Application shop-checkout; nothing to list. Add -A") {
		t.Errorf("get: code %d %q", code, errOut)
	}
}

func TestAppPickRefusals(t *testing.T) {
	c := argoCluster()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"promote", "checkout", "--app", "shop-checkout"}, "error: --app shop-checkout picks the rollouts by Argo CD; give rollout names or --app shop-checkout, not both\n"},
		{[]string{"promote", "--all", "--project", "shop"}, "error: --all takes every rollout in scope and --project shop picks some of them; drop --all\n"},
		{[]string{"pause", "cart", "--project", "shop"}, "error: --project shop picks the rollouts by Argo CD; give rollout names or --project shop, not both\n"},
		{[]string{"get", "checkout", "--app", "shop-checkout"}, "error: --app shop-checkout picks the rollouts by Argo CD; give a rollout NAME or --app shop-checkout, not both\n"},
		{[]string{"get", "analysisruns", "--project", "shop"}, "error: --project shop picks rollouts, not AnalysisRuns; list a rollout's runs with `roost get NAME`\n"},
		{[]string{"wait", "checkout", "--project", "shop"}, "error: --project shop picks the rollouts by Argo CD; give a rollout NAME or --project shop, not both\n"},
		{[]string{"promote", "--app", "a/b/c"}, "error: --app \"a/b/c\" is not an Application's name: write NAME, or NAMESPACE/NAME for an Application outside Argo CD's namespace (lower-case letters, digits, '-' and '.')\n"},
		{[]string{"promote", "--project", "Shop"}, "error: --project \"Shop\" is not an AppProject's name: lower-case letters, digits, '-' and '.'\n"},
		{[]string{"pause"}, "error: name the rollouts to pause, or pick them with --app NAME or --project NAME\n"},
		{[]string{"promote"}, "error: name the rollouts to promote, or pick them with -l SELECTOR, --all, --app NAME or --project NAME\n"},
		{[]string{"restart", "--app", "shop-checkout"}, "error: unknown flag: --app; see `roost restart --help`\n"},
	} {
		out, errOut, code := c.run(t, tc.args...)
		if code != 1 || out != "" || errOut != tc.want {
			t.Errorf("roost %s: code %d %q %q\nwant %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
	if acts := c.dyn.Actions(); len(acts) != 0 {
		t.Errorf("a refused command talked to the cluster: %v", acts)
	}
}

func TestProjectNeedsApplications(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *cluster)
		args  []string
		want  []string
	}{
		{"no Argo CD in the cluster", func(*cluster) {}, nil,
			[]string{"--project shop needs Argo CD's Applications", "this cluster has no Argo CD Application resource (applications.argoproj.io)", "--argocd-context NAME or argocd.context in the configuration"}},
		{"not allowed to list them", func(c *cluster) { c.serveApplications(func(authorizationv1.ResourceAttributes) bool { return false }) }, nil,
			[]string{"you may not list Argo CD Applications in this cluster (namespace argocd)", "ask for get, list and watch on applications.argoproj.io", "roost-dashboard ClusterRole"}},
		{"--argocd-context that does not exist", func(*cluster) {}, []string{"--argocd-context", "mgmt"},
			[]string{"--argocd-context \"mgmt\": context \"mgmt\" does not exist"}},
		{"--argocd-context without Argo CD", func(c *cluster) { c.contexts = map[string]*cluster{"mgmt": newCluster(nil)} }, []string{"--argocd-context", "mgmt"},
			[]string{"context mgmt has no Argo CD Application resource", "--argocd-context NAME"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(argoRollouts())
			tc.setup(c)
			for _, cmd := range [][]string{{"promote"}, {"get"}, {"wait", "--for=healthy"}, {"pause"}} {
				args := append(append(cmd, "--project", "shop"), tc.args...)
				out, errOut, code := c.run(t, args...)
				for _, w := range tc.want {
					if code != 1 || out != "" || !strings.Contains(errOut, w) {
						t.Errorf("roost %s: code %d %q\n%s\nwant it to say %q", strings.Join(args, " "), code, out, errOut, w)
					}
				}
			}
			// An Application's rollouts are known from their marks alone.
			out, errOut, code := c.run(t, append([]string{"promote", "--app", "shop-checkout"}, tc.args...)...)
			if code != 0 || out != "shop/checkout: promoted: pause at step 2/4 released\n" {
				t.Errorf("--app without Applications: code %d %q %q", code, out, errOut)
			}
		})
	}
}

func TestArgoCDContext(t *testing.T) {
	// The rollouts' cluster has no Argo CD; the management cluster "mgmt"
	// has the Applications.
	mgmt := newCluster(argoApplications())
	mgmt.serveApplications(allowAll)
	c := newCluster(argoRollouts())
	c.contexts = map[string]*cluster{"mgmt": mgmt}

	out, errOut, code := c.run(t, "promote", "--project", "shop", "-A", "--argocd-context", "mgmt")
	if got := strings.Join(reported(out+errOut), " "); code != 1 || got != "shop/cart shop/checkout shop/legacy web/front" {
		t.Errorf("code %d, acted on %q\n%s\n%s", code, got, out, errOut)
	}

	// argocd.context in the configuration, for a command with --config.
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("argocd:\n  context: mgmt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = c.run(t, "get", "-A", "--project", "web", "--config", cfg)
	if code != 0 || !strings.Contains(out, "web        blog ") || strings.Count(out, "\n") != 2 {
		t.Errorf("argocd.context: code %d\n%s\n%s", code, out, errOut)
	}
	// --argocd-context wins over the configuration.
	_, errOut, code = c.run(t, "get", "--project", "web", "--config", cfg, "--argocd-context", "other")
	if code != 1 || !strings.Contains(errOut, "--argocd-context \"other\"") {
		t.Errorf("--argocd-context over argocd.context: code %d %q", code, errOut)
	}
	// A named context that fails is said even where Applications are not
	// required.
	out, errOut, code = c.run(t, "get", "checkout", "--argocd-context", "other")
	if code != 0 || !strings.Contains(errOut, "warning: --argocd-context \"other\": context \"other\" does not exist") ||
		detailLine(out, "Application") != "shop-checkout (from its tracking annotation argocd.argoproj.io/tracking-id; the Application itself was not read, so its project and sync are unknown)" {
		t.Errorf("get with a bad --argocd-context: code %d\n%s\n%s", code, out, errOut)
	}
}

func TestGetShowsApplications(t *testing.T) {
	c := argoCluster()
	out, errOut, code := c.run(t, "get", "-A", "-o", "wide")
	want := `NAMESPACE  NAME      PHASE     STEP      WEIGHT  PAUSE    CANARY  STABLE  AGE  CANARY-IMAGE  APP            PROJECT  MESSAGE
shop       cart      Paused    4/4       50/0    5m       -       -       60m  -             shop-cart      shop     -
shop       checkout  Paused    2/4       20/20   promote  2/2     8/8     60m  checkout:2    shop-checkout  shop     -
shop       legacy    Healthy   4/4 done  100/0   -        -       -       60m  -             shop-cart      shop     -
shop       search    Healthy   4/4 done  100/0   -        -       -       60m  -             -              -        -
web        blog      Paused    2/4       20/0    promote  -       -       60m  -             blog           web      -
web        broken    Paused    2/4       20/0    promote  -       -       60m  -             -              -        -
web        front     Degraded  1/4       0/0     -        -       -       60m  -             team-a/front   shop     -
`
	if code != 0 || out != want {
		t.Errorf("code %d, stderr %q\n%s\nwant:\n%s", code, errOut, out, want)
	}

	out, _, code = c.run(t, "get", "--project", "shop", "-o", "wide")
	if code != 0 || strings.Join(reportedRows(out), " ") != "cart checkout legacy" {
		t.Errorf("get --project shop:\n%s", out)
	}

	out, _, code = c.run(t, "get", "-A", "-o", "json", "--app", "shop-checkout")
	var views []watch.Rollout
	if err := json.Unmarshal([]byte(out), &views); err != nil || code != 0 || len(views) != 1 {
		t.Fatalf("json: %v code %d\n%s", err, code, out)
	}
	wantApp := watch.App{Name: "shop-checkout", Namespace: "argocd", Known: true, Project: "shop", Sync: "Synced", Health: "Suspended", AutoSync: true, SelfHeal: true}
	if views[0].App == nil || *views[0].App != wantApp {
		t.Errorf("json App = %+v, want %+v", views[0].App, wantApp)
	}
	if !strings.Contains(out, `"App": {`) || !strings.Contains(out, `"Project": "shop"`) {
		t.Errorf("json lacks the App:\n%s", out)
	}

	for _, tc := range []struct{ args, want string }{
		{"get checkout", "argocd/shop-checkout (project shop): Synced, Suspended, auto-sync with self-heal: Argo CD reverts a pause or undo made here"},
		{"get cart", "argocd/shop-cart (project shop): OutOfSync, Suspended, manual sync"},
		{"get front -n web", "team-a/front (project shop): Synced, Degraded, auto-sync without self-heal"},
	} {
		out, errOut, code := c.run(t, strings.Fields(tc.args)...)
		if got := detailLine(out, "Application"); code != 0 || got != tc.want {
			t.Errorf("roost %s: code %d %q, Application line %q, want %q", tc.args, code, errOut, got, tc.want)
		}
	}
	out, _, _ = c.run(t, "get", "search", "-o", "yaml")
	if strings.Contains(out, "App:") {
		t.Errorf("search has no Application, yet:\n%s", out)
	}
	out, _, _ = c.run(t, "get", "search")
	if got := detailLine(out, "Application"); got != "" {
		t.Errorf("search's Helm label read as an Application: %q", got)
	}

	// Without Argo CD: names from the marks, no projects, no warning.
	c = newCluster(argoRollouts())
	out, errOut, code = c.run(t, "get", "-o", "wide")
	if code != 0 || errOut != "" || !strings.Contains(out, "-             shop-checkout  -        -\n") || !strings.Contains(out, "helm-search") {
		t.Errorf("marks alone: code %d %q\n%s", code, errOut, out)
	}
	out, _, _ = c.run(t, "get", "checkout")
	if got := detailLine(out, "Application"); got != "shop-checkout (from its tracking annotation argocd.argoproj.io/tracking-id; the Application itself was not read, so its project and sync are unknown)" {
		t.Errorf("detail from marks alone: %q", got)
	}
	out, _, _ = c.run(t, "get", "legacy")
	if got := detailLine(out, "Application"); !strings.HasPrefix(got, "shop-cart (from its instance label;") {
		t.Errorf("detail of a label-tracked rollout: %q", got)
	}
}

// detailLine is the value of the "key:" line of a rollout's detail.
func detailLine(detail, key string) string {
	for _, l := range strings.Split(detail, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// reportedRows are the NAME column of a table without NAMESPACE.
func reportedRows(table string) []string {
	var names []string
	for i, l := range strings.Split(strings.TrimSpace(table), "\n") {
		if f := strings.Fields(l); i > 0 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

const selfHealWarning = "warning: Argo CD's Application argocd/shop-checkout auto-syncs with self-heal and will revert this change to shop/checkout's spec; pause auto-sync in Argo CD first, or make the change in Git\n"

func TestSelfHealWarnings(t *testing.T) {
	c := argoCluster()
	out, errOut, code := c.run(t, "pause", "--app", "shop-checkout")
	if code != 0 || out != "shop/checkout: paused: holding at the current step until `roost resume`\n" || errOut != selfHealWarning {
		t.Errorf("pause --app: code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	u, err := c.dyn.Resource(v1alpha1.RolloutGVR).Namespace("shop").Get(context.Background(), "checkout", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); !paused {
		t.Error("the warning stopped the pause")
	}
	// Already paused: nothing changed, nothing to revert.
	if _, errOut, _ := c.run(t, "pause", "checkout"); errOut != "" {
		t.Errorf("a skipped pause warns: %q", errOut)
	}

	for _, tc := range []struct {
		args     []string
		warnings int
	}{
		{[]string{"pause", "checkout", "cart"}, 1},                    // by name: cart's Application syncs by hand
		{[]string{"pause", "--project", "web", "-n", "web"}, 1},       // blog self-heals
		{[]string{"pause", "--project", "shop", "-A"}, 1},             // front auto-syncs without self-heal
		{[]string{"promote", "checkout"}, 0},                          // status only: never reverted
		{[]string{"abort", "--app", "shop-checkout"}, 0},              // status only
		{[]string{"retry", "--app", "shop-checkout"}, 0},              // status only
		{[]string{"resume", "checkout"}, 0},                           // lifting a pause is not warned about
		{[]string{"undo", "checkout"}, 1},                             // back to revision 1
		{[]string{"pause", "legacy", "search", "-n", "shop"}, 0},      // label-tracked, manual; no Application
		{[]string{"pause", "front", "broken", "-n", "web"}, 0},        // no self-heal; malformed mark
		{[]string{"pause", "nope"}, 0},                                // failed: nothing to revert
		{[]string{"pause", "--app", "shop-checkout", "-A"}, 1},        // -A with a pick
		{[]string{"pause", "--app", "argocd/shop-checkout", "-A"}, 1}, // namespace/name
	} {
		c := argoCluster()
		out, errOut, code := c.run(t, tc.args...)
		if got := strings.Count(errOut, "warning: Argo CD's Application"); got != tc.warnings {
			t.Errorf("roost %s: %d self-heal warnings, want %d (code %d)\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), got, tc.warnings, code, out, errOut)
		}
	}

	// An undo on a self-healing Application is still made.
	c = argoCluster()
	out, errOut, code = c.run(t, "undo", "checkout")
	if code != 0 || !strings.HasPrefix(out, "shop/checkout: rolled back to the template of revision 1") || errOut != selfHealWarning {
		t.Errorf("undo: code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// Without Argo CD, a pause reads nothing more than before.
	c = newCluster(argoRollouts())
	if _, errOut, code := c.run(t, "pause", "checkout"); code != 0 || errOut != "" {
		t.Errorf("pause without Argo CD: code %d %q", code, errOut)
	}
}

func TestSingleRolloutActionsReadNoApplications(t *testing.T) {
	c := argoCluster()
	if _, _, code := c.run(t, "promote", "checkout"); code != 0 {
		t.Fatalf("promote: code %d", code)
	}
	for _, a := range c.dyn.Actions() {
		if a.GetResource().Resource == "applications" {
			t.Errorf("a single-rollout promote listed Applications: %v", a)
		}
	}
	for _, a := range c.kube.Actions() {
		if a.GetResource().Resource == "selfsubjectaccessreviews" {
			t.Errorf("a single-rollout promote asked about Applications: %v", a)
		}
	}
}

func TestWaitForProject(t *testing.T) {
	c := argoCluster()
	opened := c.watching()
	done := c.runAsync(t, "wait", "--project", "shop", "--for=healthy", "--timeout", "20s")
	// legacy is healthy already; checkout and cart are watched.
	<-opened
	<-opened
	c.setStatus(t, "checkout", map[string]any{"currentStepIndex": int64(4), "phase": "Healthy", "stableRS": "new"})
	c.setStatus(t, "cart", map[string]any{"currentStepIndex": int64(4), "phase": "Healthy", "stableRS": "new"})
	r := <-done
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	sort.Strings(lines)
	want := []string{"rollout shop/cart is healthy", "rollout shop/checkout is healthy", "rollout shop/legacy is healthy"}
	if r.code != 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") || r.errOut != "" {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
	}

	// One that cannot get there ends the wait, named; the other is said
	// to be where it stood.
	c = argoCluster()
	opened = c.watching()
	done = c.runAsync(t, "wait", "--project", "shop", "--for=healthy", "--timeout", "20s")
	<-opened
	<-opened
	c.setStatus(t, "cart", map[string]any{"abort": true, "phase": "Degraded", "message": "RolloutAborted: aborted by alice"})
	r = <-done
	if r.code != waitDegraded || !strings.Contains(r.errOut, "shop/cart: error: rollout shop/cart is Degraded while waiting for healthy") ||
		!strings.Contains(r.errOut, "shop/checkout: not healthy (phase Paused") ||
		!strings.HasSuffix(r.errOut, "error: 1 of the 3 rollouts of Argo CD's project shop cannot be healthy (shop/cart); stopped waiting for the others\n") {
		t.Errorf("degraded: code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
	}

	// At the timeout the laggards are named.
	c = argoCluster()
	_, errOut, code := c.run(t, "wait", "--app", "shop-cart", "--for=healthy", "--timeout", "200ms")
	if code != waitTimeout || !strings.Contains(errOut, "shop/cart: not healthy (phase Paused)\n") ||
		!strings.HasSuffix(errOut, "error: 1 of the 2 rollouts of Argo CD's Application shop-cart not healthy after 200ms: shop/cart; wait longer with --timeout\n") {
		t.Errorf("timeout: code %d\n%s", code, errOut)
	}

	// Nothing to wait for: said, exit code 0 as for a selector.
	_, errOut, code = c.run(t, "wait", "--project", "web", "--for=paused")
	if code != 0 || !strings.HasPrefix(errOut, "No rollouts in namespace shop are deployed by Argo CD's project web; nothing to wait for.") {
		t.Errorf("none matched: code %d %q", code, errOut)
	}
	// -A across namespaces: blog is paused already.
	out, errOut, code := c.run(t, "wait", "--project", "web", "-A", "--for=paused")
	if code != 0 || out != "rollout web/blog is paused\n" {
		t.Errorf("-A: code %d %q %q", code, out, errOut)
	}
}
