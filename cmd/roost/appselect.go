package main

// The CLI's side of Argo CD: --app and --project pick the rollouts an
// Application or an AppProject deploys, the Applications are listed once
// per command (only when the output or the selection needs them), and
// spec changes that Argo CD's self-heal would revert are warned about.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// appPick is --app and --project: the rollouts that Argo CD's Application,
// or the Applications of an AppProject, deploy. Both together pick the
// Application only if it is in that project.
type appPick struct {
	app, project string
}

func (p *appPick) addFlags(f *pflag.FlagSet) {
	f.StringVar(&p.app, "app", "", "only the rollouts Argo CD's Application deploys: its `NAME`, or NAMESPACE/NAME for one outside Argo CD's namespace (read from the rollouts' tracking marks)")
	f.StringVar(&p.project, "project", "", "only the rollouts of Argo CD's AppProject `NAME`: those whose Application is in it (needs Argo CD's Applications readable; see --argocd-context)")
}

func (p appPick) set() bool { return p.app != "" || p.project != "" }

// String is the pick as typed, for messages: "--app shop-checkout".
func (p appPick) String() string {
	var parts []string
	if p.app != "" {
		parts = append(parts, "--app "+p.app)
	}
	if p.project != "" {
		parts = append(parts, "--project "+p.project)
	}
	return strings.Join(parts, " ")
}

// what names what was picked, for messages: "Argo CD's Application shop-checkout".
func (p appPick) what() string {
	switch {
	case p.app != "" && p.project != "":
		return fmt.Sprintf("Argo CD's Application %s in project %s", p.app, p.project)
	case p.app != "":
		return "Argo CD's Application " + p.app
	}
	return "Argo CD's project " + p.project
}

// check refuses a name Argo CD could not have given.
func (p appPick) check() error {
	if p.app != "" {
		ns, name, hasNS := strings.Cut(p.app, "/")
		if !hasNS {
			ns, name = "", p.app
		}
		if !watch.ValidAppName(name) || hasNS && !watch.ValidAppName(ns) {
			return fmt.Errorf("--app %q is not an Application's name: write NAME, or NAMESPACE/NAME for an Application outside Argo CD's namespace (lower-case letters, digits, '-' and '.')", p.app)
		}
	}
	if p.project != "" && !watch.ValidAppName(p.project) {
		return fmt.Errorf("--project %q is not an AppProject's name: lower-case letters, digits, '-' and '.'", p.project)
	}
	return nil
}

// argoRead is what one command read of Argo CD: where the Applications
// are, and their table when roost could list them.
type argoRead struct {
	argo argoCD
	// table is nil when no Applications were read.
	table *watch.AppTable
	// named is set when the person named Argo CD's cluster
	// (--argocd-context or argocd.context), so a failure to read it is
	// said even where the Applications are not required.
	named bool
	// listErr is why listing the Applications failed where roost may list
	// them.
	listErr error
}

// readArgoCD finds Argo CD's Applications (findArgoCD) and lists them once.
// Nothing here fails: what stops roost from reading them is kept for the
// caller to say, or to refuse --project with.
func (a *app) readArgoCD(ctx context.Context, c *clients, cfg metrics.ArgoCDConfig) *argoRead {
	r := &argoRead{argo: a.findArgoCD(ctx, c, cfg), named: a.argoContext != "" || cfg.Context != ""}
	r.table, r.listErr = r.argo.listApplications(ctx)
	return r
}

// argoConfig is the configuration's argocd part, from the file --config
// names (the commands that have it) or the default file; a broken file is
// warned about and its defaults used.
func (a *app) argoConfig(path string) metrics.ArgoCDConfig {
	return a.config(path).ArgoCD
}

// appOf is the Application that deploys the rollout with this metadata.
func (r *argoRead) appOf(namespace, name string, annotations, labels map[string]string) *watch.App {
	return r.argo.tracker(r.table).AppOf(namespace, name, annotations, labels)
}

// matches says whether app is one p picks. A tracking mark that names no
// namespace names an Application in Argo CD's own namespace, so
// --app NAMESPACE/NAME finds it even when the Application was not read.
func (r *argoRead) matches(app *watch.App, p appPick) bool {
	if app != nil && app.Namespace == "" {
		named := *app
		named.Namespace = r.argo.ArgoNamespace
		app = &named
	}
	v := watch.Rollout{App: app}
	return v.MatchesApp(p.app, p.project)
}

// warnings are what the person should know of how Argo CD was read: why
// the Applications were not, when they named Argo CD's cluster, and a
// failed list.
func (r *argoRead) warnings() []string {
	var out []string
	if r.named && r.argo.Why != "" {
		out = append(out, r.argo.Why)
	}
	if r.listErr != nil {
		out = append(out, r.listErr.Error()+"; rollouts are matched by their tracking marks alone, without projects")
	}
	return out
}

// needApplications is nil when the Applications were read, else why p
// cannot be resolved without them and how to fix it. Only --project needs
// them: an Application's rollouts are known from their marks.
func (r *argoRead) needApplications(p appPick) error {
	if p.project == "" || r.table != nil {
		return nil
	}
	head := fmt.Sprintf("--project %s needs Argo CD's Applications (a rollout's project is its Application's spec.project), and roost cannot read them", p.project)
	switch {
	case r.listErr != nil:
		return fmt.Errorf("%s: %w; check the RBAC to list applications.argoproj.io in %s, or point roost at Argo CD's cluster with --argocd-context NAME", head, r.listErr, r.argo.Where)
	case r.argo.Missing == argoNoContext:
		return fmt.Errorf("%s: %s", head, r.argo.ContextProblem)
	case r.argo.Missing == argoForbidden:
		return fmt.Errorf("%s: you may not list Argo CD Applications in %s (namespace %s); ask for get, list and watch on applications.argoproj.io (deploy/rbac-dashboard.yaml's roost-dashboard ClusterRole grants them), or point roost at Argo CD's cluster with --argocd-context NAME or argocd.context in the configuration", head, r.argo.Where, r.argo.ArgoNamespace)
	case r.named:
		return fmt.Errorf("%s: %s has no Argo CD Application resource (applications.argoproj.io); give the kube context of the cluster Argo CD runs in with --argocd-context NAME or argocd.context in the configuration", head, r.argo.Where)
	}
	return fmt.Errorf("%s: this cluster has no Argo CD Application resource (applications.argoproj.io); if Argo CD runs in another cluster, give its kube context with --argocd-context NAME or argocd.context in the configuration ($XDG_CONFIG_HOME/roost/config.yaml)", head)
}

// pickedRollout is a rollout in scope with the Application that deploys it.
type pickedRollout struct {
	obj *unstructured.Unstructured
	app *watch.App
}

func (p pickedRollout) target() actions.Target {
	return actions.Target{Namespace: p.obj.GetNamespace(), Name: p.obj.GetName()}
}

// pickRollouts lists the rollouts of namespace ns ("" for every one) with
// the label selector, each with its Application; with p set, only those p
// picks. They come sorted by namespace and name.
func (a *app) pickRollouts(ctx context.Context, c *clients, ns, selector string, p appPick, r *argoRead) ([]pickedRollout, error) {
	list, err := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, listError(ns, err)
	}
	var out []pickedRollout
	for i := range list.Items {
		u := &list.Items[i]
		var app *watch.App
		if r != nil {
			app = r.appOf(u.GetNamespace(), u.GetName(), u.GetAnnotations(), u.GetLabels())
		}
		if p.set() && !r.matches(app, p) {
			continue
		}
		out = append(out, pickedRollout{obj: u, app: app})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].target().String() < out[j].target().String() })
	return out, nil
}

// noneMatched says that p picked no rollout in ns, and why that may be.
func (r *argoRead) noneMatched(p appPick, ns, verb string) string {
	where := "namespace " + ns
	if ns == "" {
		where = "any namespace"
	}
	msg := fmt.Sprintf("No rollouts in %s are deployed by %s; nothing to %s.", where, p.what(), verb)
	if r.table != nil {
		if p.app != "" && !r.hasApplication(p.app) {
			msg += fmt.Sprintf(" Argo CD (%s) has no Application %s.", r.argo.Where, p.app)
		} else if p.project != "" && !r.hasProject(p.project) {
			msg += fmt.Sprintf(" No Application of Argo CD (%s) is in project %s.", r.argo.Where, p.project)
		}
	}
	if ns != "" {
		msg += " Add -A to look in every namespace;"
	}
	return msg + " `roost get -A -o wide` shows each rollout's Application and project (Argo CD marks a rollout it deploys with the annotation " + watch.TrackingIDAnnotation + ")."
}

func (r *argoRead) hasApplication(name string) bool {
	ns, n, hasNS := strings.Cut(name, "/")
	for _, a := range r.table.Applications() {
		if hasNS && a.Namespace == ns && a.Name == n || !hasNS && a.Name == name {
			return true
		}
	}
	return false
}

func (r *argoRead) hasProject(project string) bool {
	for _, a := range r.table.Applications() {
		if a.Project == project {
			return true
		}
	}
	return false
}

// selfHealing says whether any Application read auto-syncs with
// self-heal, so that a spec change may be reverted at all.
func (r *argoRead) selfHealing() bool {
	if r == nil || r.table == nil {
		return false
	}
	for _, a := range r.table.Applications() {
		if a.AutoSync && a.SelfHeal {
			return true
		}
	}
	return false
}

// revertWarnings are the warnings for spec changes (pause, undo) that Argo
// CD's self-heal will revert, by rollout: only for those changed (not
// skipped, not failed). r is what was read of Argo CD already, nil to read
// it now (only when something changed); apps holds the Applications known
// from a listing, the others are read from their rollouts.
func (a *app) revertWarnings(ctx context.Context, c *clients, r *argoRead, outcomes []actions.Outcome, apps map[actions.Target]*watch.App) map[actions.Target]string {
	var changed []actions.Target
	for _, o := range outcomes {
		if o.Err == nil && !o.Result.Skipped {
			changed = append(changed, o.Target)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if r == nil {
		r = a.readArgoCD(ctx, c, a.argoConfig(""))
	}
	// Without a self-healing Application there is nothing to revert and
	// no rollout to read.
	if !r.selfHealing() {
		return nil
	}
	out := map[actions.Target]string{}
	for _, t := range changed {
		app, listed := apps[t]
		if !listed {
			u, err := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			app = r.appOf(t.Namespace, t.Name, u.GetAnnotations(), u.GetLabels())
		}
		if app.Reverts() {
			out[t] = fmt.Sprintf("Argo CD's Application %s/%s auto-syncs with self-heal and will revert this change to %s's spec; pause auto-sync in Argo CD first, or make the change in Git", app.Namespace, app.Name, t)
		}
	}
	return out
}

// appColumn is a rollout's Application as --app takes it: NAME in Argo CD's
// namespace, else NAMESPACE/NAME; "-" for none.
func appColumn(v watch.Rollout, argoNamespace string) string {
	switch {
	case v.App == nil:
		return "-"
	case v.App.Namespace == "" || v.App.Namespace == argoNamespace:
		return v.App.Name
	}
	return v.App.Namespace + "/" + v.App.Name
}

// projectColumn is the AppProject of a rollout's Application, "-" when
// none or unknown.
func projectColumn(v watch.Rollout) string {
	if v.App == nil || !v.App.Known {
		return "-"
	}
	return v.App.Project
}

// applicationLine is the detail's Application line: name, project, sync,
// health and how it syncs.
func applicationLine(app *watch.App) string {
	name := app.Name
	if app.Namespace != "" {
		name = app.Namespace + "/" + app.Name
	}
	if !app.Known {
		mark := "tracking annotation " + watch.TrackingIDAnnotation
		if app.ByLabel {
			mark = "instance label"
		}
		return fmt.Sprintf("%s (from its %s; the Application itself was not read, so its project and sync are unknown)", name, mark)
	}
	state := func(s, what string) string {
		if s == "" {
			return what + " unknown"
		}
		return s
	}
	policy := "manual sync"
	switch {
	case app.Reverts():
		policy = "auto-sync with self-heal: Argo CD reverts a pause or undo made here"
	case app.AutoSync:
		policy = "auto-sync without self-heal"
	}
	return fmt.Sprintf("%s (project %s): %s, %s, %s", name, app.Project, state(app.Sync, "sync"), state(app.Health, "health"), policy)
}
