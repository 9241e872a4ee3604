//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/internal/rollouttest"
	"github.com/roost-dev/roost/watch"
)

// argoWorld is Argo CD as a test sees it: its CRDs and its namespace
// (shared by every test and never removed), and the Applications and
// AppProjects this test made (removed when it ends). Names carry suffix,
// so that tests running at once never share an Application or a project.
type argoWorld struct {
	t      *testing.T
	suffix string
}

// newArgoWorld installs Argo CD's CRDs and namespace where missing; suffix
// makes the test's names unique (a namespace of its own ends with one).
func newArgoWorld(t *testing.T, ns string) *argoWorld {
	t.Helper()
	ctx := context.Background()
	if err := argocd.InstallCRDs(ctx, dynamicClient(t)); err != nil {
		t.Fatal(err)
	}
	_, err := env.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argocd.Namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", argocd.Namespace, err)
	}
	return &argoWorld{t: t, suffix: ns[strings.LastIndex(ns, "-")+1:]}
}

// create makes an Argo CD object, and removes it when the test ends.
func (w *argoWorld) create(gvr schema.GroupVersionResource, u *unstructured.Unstructured) {
	w.t.Helper()
	ri := dynamicClient(w.t).Resource(gvr).Namespace(u.GetNamespace())
	if _, err := ri.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		w.t.Fatalf("create %s %s/%s: %v", gvr.Resource, u.GetNamespace(), u.GetName(), err)
	}
	w.t.Cleanup(func() {
		if err := ri.Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			w.t.Errorf("delete %s %s/%s: %v", gvr.Resource, u.GetNamespace(), u.GetName(), err)
		}
	})
}

func (w *argoWorld) project(name string) {
	w.t.Helper()
	w.create(argocd.AppProjectGVR, argocd.AppProject(name, "roost e2e "+w.t.Name()))
}

func (w *argoWorld) application(a argocd.App) {
	w.t.Helper()
	w.create(argocd.ApplicationGVR, argocd.Application(a))
}

// argoRollout is a one-replica canary with two pauses whose metadata
// carries the given annotations and labels.
func argoRollout(ns, name string, annotations, labels map[string]string) *v1alpha1.Rollout {
	r := roleCanary(ns, name, 1, rollouttest.SetWeight(50), rollouttest.Pause(), rollouttest.SetWeight(75), rollouttest.Pause())
	r.Annotations, r.Labels = annotations, labels
	return r
}

func trackedBy(app, ns, name string) map[string]string {
	return map[string]string{watch.TrackingIDAnnotation: argocd.TrackingID(app, ns, name)}
}

func aborted(r *v1alpha1.Rollout) bool {
	return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
}

// linesWith returns the lines of out that contain s.
func linesWith(out, s string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestArgoCDProjectRelease releases an AppProject's six rollouts in three
// namespaces with one command while one of them is aborted, then waits for
// the project: it fails on the aborted one, names the one left behind at
// the timeout, and returns once all six are healthy. A rollout of another
// project in the same namespace is never touched.
func TestArgoCDProjectRelease(t *testing.T) {
	t.Parallel()
	nsA, nsB, nsC := env.NewNamespace(t), env.NewNamespace(t), env.NewNamespace(t)
	for _, ns := range []string{nsA, nsB, nsC} {
		runReconciler(t, ns)
	}
	w := newArgoWorld(t, nsA)
	shop, ads := "shop-"+w.suffix, "ads-"+w.suffix
	w.project(shop)
	w.project(ads)
	// Two Applications in Argo CD's namespace, one in nsC (apps in any
	// namespace, tracked as "nsC_name"), and one of another project.
	w.application(argocd.App{Name: shop + "-checkout", Project: shop, DestNamespace: nsA, AutoSync: true, Sync: "Synced", Health: "Healthy"})
	w.application(argocd.App{Name: shop + "-search", Project: shop, DestNamespace: nsB, Sync: "Synced", Health: "Healthy"})
	w.application(argocd.App{Namespace: nsC, Name: shop + "-front", Project: shop, DestNamespace: nsC, Sync: "Synced", Health: "Healthy"})
	w.application(argocd.App{Name: ads + "-banner", Project: ads, DestNamespace: nsA, Sync: "Synced", Health: "Healthy"})

	type member struct{ ns, name, app string }
	members := []member{
		{nsA, "checkout", shop + "-checkout"}, {nsA, "cart", shop + "-checkout"},
		{nsB, "search", shop + "-search"}, {nsB, "ranking", shop + "-search"},
		{nsC, "front", nsC + "_" + shop + "-front"}, {nsC, "blog", nsC + "_" + shop + "-front"},
	}
	const laggard = "ranking"
	for _, m := range members {
		labels := map[string]string{}
		if m.name == laggard {
			labels["lag"] = "yes"
		}
		createRollout(t, argoRollout(m.ns, m.name, trackedBy(m.app, m.ns, m.name), labels))
	}
	createRollout(t, argoRollout(nsA, "banner", trackedBy(ads+"-banner", nsA, "banner"), nil))
	all := append(members, member{nsA, "banner", ads + "-banner"})
	for _, m := range all {
		awaitRollout(t, m.ns, m.name, 60*time.Second, "first revision Healthy", healthy)
	}
	for _, m := range all {
		setImage(t, m.ns, m.name, "registry.example/"+m.name+":v2")
	}
	for _, m := range all {
		awaitRollout(t, m.ns, m.name, 60*time.Second, "v2 canary at the first pause", atPause(1))
	}
	mustRoost(t, nsB, 0, "abort", laggard, "--reason", "search latency")
	awaitRollout(t, nsB, laggard, 60*time.Second, "aborted", aborted)

	// One promote for the whole project: the aborted rollout says so, the
	// other five move on, exit code 1.
	res := roostCLI(t, nsA, "promote", "--project", shop, "-A")
	if res.code != 1 || !strings.Contains(res.stderr, "error: 1 of 6 rollouts failed") {
		t.Errorf("roost promote --project %s -A with one aborted: want exit 1 and \"1 of 6 rollouts failed\", got %s", shop, res)
	}
	for _, m := range members {
		lines := reportedLines(res.stdout+res.stderr, m.ns, m.name)
		want := "promoted: pause at step 2/4 released"
		if m.name == laggard {
			want = fmt.Sprintf("error: rollout %s/%s is aborted; retry it first", m.ns, laggard)
		}
		if len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("roost promote --project reported %q for %s/%s; want one line saying %q\n%s", lines, m.ns, m.name, want, res)
		}
	}
	if strings.Contains(res.stdout+res.stderr, "banner") {
		t.Errorf("roost promote --project %s acted on banner (project %s):\n%s", shop, ads, res)
	}
	for _, m := range members {
		if m.name != laggard {
			awaitRollout(t, m.ns, m.name, 60*time.Second, "at the second pause after the project promote", atPause(3))
		}
	}
	awaitRollout(t, nsB, laggard, 5*time.Second, "still aborted", aborted)
	if r := awaitRollout(t, nsA, "banner", 5*time.Second, "still at its first pause", atPause(1)); r.Status.Abort {
		t.Errorf("banner: %s; the project promote touched another project's rollout", rolloutSummary(r))
	}

	// Waiting for the project to be healthy cannot succeed while one is
	// aborted: exit code 1 at once, naming it.
	res = roostCLI(t, nsA, "wait", "--project", shop, "-A", "--for=healthy", "--timeout", "60s")
	if res.code != 1 || !strings.Contains(res.stderr, fmt.Sprintf("1 of the 6 rollouts of Argo CD's project %s cannot be healthy (%s/%s)", shop, nsB, laggard)) {
		t.Errorf("roost wait --project with one aborted: want exit 1 naming %s, got %s", laggard, res)
	}

	// The laggard is retried and left at its first pause; the five others
	// are taken to the end, picked by project and narrowed by -l.
	mustRoost(t, nsB, 0, "retry", laggard)
	awaitRollout(t, nsB, laggard, 60*time.Second, "retried: back at the first pause", func(r *v1alpha1.Rollout) bool { return atPause(1)(r) && !r.Status.Abort })
	res = mustRoost(t, nsA, 0, "promote", "--full", "--project", shop, "-A", "-l", "!lag")
	if got := len(linesWith(res.stdout, "fully promoted")); got != 5 || strings.Contains(res.stdout+res.stderr, laggard) {
		t.Errorf("roost promote --full --project %s -A -l !lag: want 5 fully promoted and nothing of %s, got %s", shop, laggard, res)
	}
	for _, m := range members {
		if m.name != laggard {
			awaitRollout(t, m.ns, m.name, 60*time.Second, "Healthy after promote --full", healthy)
		}
	}

	// At the timeout the laggard is named: exit code 2.
	res = roostCLI(t, nsA, "wait", "--project", shop, "-A", "--for=healthy", "--timeout", "3s")
	if res.code != 2 || len(linesWith(res.stdout, " is healthy")) != 5 ||
		!strings.Contains(res.stderr, fmt.Sprintf("%s/%s: not healthy (phase Paused", nsB, laggard)) ||
		!strings.Contains(res.stderr, fmt.Sprintf("1 of the 6 rollouts of Argo CD's project %s not healthy after 3s: %s/%s; wait longer with --timeout", shop, nsB, laggard)) {
		t.Errorf("roost wait --project with one left at a pause: want exit 2 naming %s, got %s", laggard, res)
	}

	// A wait started before the last rollout is released returns once all
	// six are healthy.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waited := make(chan cliResult, 1)
	go func() {
		waited <- roostCLIContext(ctx, t, nsA, "wait", "--project", shop, "-A", "--for=healthy", "--timeout", "90s")
	}()
	select {
	case res := <-waited:
		t.Fatalf("roost wait --project returned while %s waits at its pause: %s", laggard, res)
	case <-time.After(2 * time.Second):
	}
	mustRoost(t, nsB, 0, "promote", "--full", laggard)
	res = <-waited
	if res.code != 0 || len(linesWith(res.stdout, " is healthy")) != 6 || !strings.Contains(res.stdout, fmt.Sprintf("rollout %s/%s is healthy", nsB, laggard)) {
		t.Errorf("roost wait --project once all are released: want exit 0 and six healthy lines, got %s", res)
	}
}

// column returns the text of the column named header in each row of a
// table roost printed, by the rows' NAME.
func column(table, header string) map[string]string {
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	at := strings.Index(lines[0], header)
	out := map[string]string{}
	if at < 0 {
		return out
	}
	for _, l := range lines[1:] {
		if len(l) <= at {
			continue
		}
		name := strings.Fields(l)[0]
		out[name], _, _ = strings.Cut(l[at:], " ")
	}
	return out
}

// TestArgoCDViewsAndSelfHeal reads the Applications of rollouts on the real
// API server: get's APP and PROJECT, the App in JSON, --app and --project;
// a pause on a self-healing Application warns and still pauses; a malformed
// or copied tracking annotation, or a Helm release's instance label, leaves
// a rollout out of --app and out of the cockpit's groups, without an error.
func TestArgoCDViewsAndSelfHeal(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	w := newArgoWorld(t, ns)
	web := "web-" + w.suffix
	heal, manual, helm := web+"-heal", web+"-manual", "helm-release-"+w.suffix
	w.project(web)
	w.application(argocd.App{Name: heal, Project: web, DestNamespace: ns, AutoSync: true, SelfHeal: true, Sync: "Synced", Health: "Healthy"})
	w.application(argocd.App{Name: manual, Project: web, DestNamespace: ns, Sync: "OutOfSync", Health: "Healthy"})

	createRollout(t, argoRollout(ns, "web", trackedBy(heal, ns, "web"), nil))
	createRollout(t, argoRollout(ns, "api", trackedBy(manual, ns, "api"), nil))
	// Not tracked: a mark without its object, a mark copied from web (it
	// names another rollout), and a Helm release's label no Application has.
	createRollout(t, argoRollout(ns, "malformed", map[string]string{watch.TrackingIDAnnotation: heal + ":argoproj.io/Rollout"}, nil))
	createRollout(t, argoRollout(ns, "copied", trackedBy(heal, ns, "web"), nil))
	createRollout(t, argoRollout(ns, "helm", nil, map[string]string{watch.DefaultInstanceLabel: helm}))
	names := []string{"web", "api", "malformed", "copied", "helm"}
	for _, name := range names {
		awaitRollout(t, ns, name, 60*time.Second, "first revision Healthy", healthy)
	}

	res := mustRoost(t, ns, 0, "get", "-o", "wide")
	apps, projects := column(res.stdout, "APP"), column(res.stdout, "PROJECT")
	want := map[string][2]string{"web": {heal, web}, "api": {manual, web}, "malformed": {"-", "-"}, "copied": {"-", "-"}, "helm": {"-", "-"}}
	for name, w := range want {
		if apps[name] != w[0] || projects[name] != w[1] {
			t.Errorf("roost get -o wide: %s has APP %q PROJECT %q, want %q %q\n%s", name, apps[name], projects[name], w[0], w[1], res)
		}
	}
	if res.stderr != "" {
		t.Errorf("roost get -o wide wrote to stderr: %s", res)
	}

	res = mustRoost(t, ns, 0, "get", "-o", "json")
	var views []watch.Rollout
	if err := json.Unmarshal([]byte(res.stdout), &views); err != nil {
		t.Fatalf("roost get -o json: %v\n%s", err, res)
	}
	wantApp := watch.App{Name: heal, Namespace: argocd.Namespace, Known: true, Project: web, Sync: "Synced", Health: "Healthy", AutoSync: true, SelfHeal: true}
	for _, v := range views {
		switch {
		case v.Name == "web" && (v.App == nil || *v.App != wantApp):
			t.Errorf("roost get -o json: web's App is %+v, want %+v", v.App, wantApp)
		case v.Name != "web" && v.Name != "api" && v.App != nil:
			t.Errorf("roost get -o json: %s has App %+v; its mark is not Argo CD's", v.Name, v.App)
		}
	}
	res = mustRoost(t, ns, 0, "get", "web")
	if want := fmt.Sprintf("Application: argocd/%s (project %s): Synced, Healthy, auto-sync with self-heal", heal, web); len(linesWith(res.stdout, want)) != 1 {
		t.Errorf("roost get web lacks %q:\n%s", want, res)
	}

	res = mustRoost(t, ns, 0, "get", "--app", heal)
	if rows := column(res.stdout, "NAME"); len(rows) != 1 || rows["web"] == "" {
		t.Errorf("roost get --app %s: want web alone (not malformed or copied), got %s", heal, res)
	}
	res = mustRoost(t, ns, 0, "get", "--project", web)
	if rows := column(res.stdout, "NAME"); len(rows) != 2 || rows["web"] == "" || rows["api"] == "" {
		t.Errorf("roost get --project %s: want web and api, got %s", web, res)
	}
	res = mustRoost(t, ns, 0, "promote", "--app", helm)
	if res.stdout != "" || !strings.Contains(res.stderr, "has no Application "+helm) {
		t.Errorf("roost promote --app %s (a Helm label, no Application): want nothing done and why, got %s", helm, res)
	}

	// A pause on the self-healing Application: done, with the warning.
	res = mustRoost(t, ns, 0, "pause", "--app", heal)
	wantWarning := fmt.Sprintf("warning: Argo CD's Application argocd/%s auto-syncs with self-heal and will revert this change to %s/web's spec; pause auto-sync in Argo CD first, or make the change in Git\n", heal, ns)
	if res.stdout != ns+"/web: paused: holding at the current step until `roost resume`\n" || res.stderr != wantWarning {
		t.Errorf("roost pause --app %s: want web paused with the self-heal warning, got %s", heal, res)
	}
	awaitRollout(t, ns, "web", 30*time.Second, "paused by hand", func(r *v1alpha1.Rollout) bool { return r.Spec.Paused })
	for _, name := range []string{"malformed", "copied"} {
		if r, err := getRollout(context.Background(), t, ns, name); err != nil || r.Spec.Paused {
			t.Errorf("%s paused by pause --app %s (err %v); its mark is not the Application's", name, heal, err)
		}
	}
	// Without self-heal, no warning; a status-only action never warns.
	if res = mustRoost(t, ns, 0, "pause", "api"); res.stderr != "" {
		t.Errorf("roost pause api (manual sync) warned: %s", res)
	}
	if res = mustRoost(t, ns, 0, "promote", "--app", heal); strings.Contains(res.stderr, "warning") {
		t.Errorf("roost promote --app %s warned: %s", heal, res)
	}

	// The cockpit's groups, from the same watch the cockpit runs.
	wt, err := watch.New(watch.Options{Kube: env.Client(), Dynamic: dynamicClient(t), Namespace: ns, ArgoCD: &watch.ArgoCDOptions{
		InstanceLabel: watch.DefaultInstanceLabel, Applications: dynamicClient(t), ApplicationNamespace: argocd.Namespace, ArgoNamespace: argocd.Namespace,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wt.Start(ctx)
	if !wt.WaitForCacheSync(ctx) {
		t.Fatal("the watch never synced")
	}
	store := watch.NewStore(wt)
	var keys []watch.Key
	for _, name := range names {
		keys = append(keys, watch.Key{Namespace: ns, Name: name})
	}
	store.Update(keys, time.Now())
	for _, name := range names {
		v, ok := store.Detail(watch.Key{Namespace: ns, Name: name})
		if !ok {
			t.Fatalf("the watch has no rollout %s", name)
		}
		app, project := watch.GroupKey(v, watch.GroupApplication), watch.GroupKey(v, watch.GroupProject)
		wantApp, wantProject := "", ""
		switch name {
		case "web":
			wantApp, wantProject = "app/argocd/"+heal, "project/"+web
		case "api":
			wantApp, wantProject = "app/argocd/"+manual, "project/"+web
		}
		if app != wantApp || project != wantProject {
			t.Errorf("%s is grouped as %q and %q, want %q and %q", name, app, project, wantApp, wantProject)
		}
	}
}
