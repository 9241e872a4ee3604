package watch

// Argo CD: which Application deploys a Rollout (its resource tracking), what
// roost keeps of an Application, and the overview's groups by Application
// and AppProject. Nothing here is required: a Rollout Argo CD does not track
// has no App, and roost shows it as before.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Argo CD's marks on the objects it syncs.
const (
	// TrackingIDAnnotation is Argo CD's resource tracking annotation (the
	// default from Argo CD 3.0): "<app>:<group>/<Kind>:<namespace>/<name>",
	// where <app> is "<appNamespace>_<appName>" for an Application outside
	// Argo CD's own namespace.
	TrackingIDAnnotation = "argocd.argoproj.io/tracking-id"
	// DefaultInstanceLabel is the label Argo CD 2.x tracks by (label
	// tracking). Helm charts set it too, for their release, so it can lie:
	// see AppTracker.
	DefaultInstanceLabel = "app.kubernetes.io/instance"
	// DefaultArgoCDNamespace is where Argo CD runs and keeps its
	// Applications unless told otherwise.
	DefaultArgoCDNamespace = "argocd"
)

// ApplicationGVR and AppProjectGVR are Argo CD's resources.
var (
	ApplicationGVR = schema.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version, Resource: "applications"}
	AppProjectGVR  = schema.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version, Resource: "appprojects"}
)

// AppRef names the Application a Rollout's tracking mark names. Namespace is
// set only when the mark names it (apps in any namespace, "ns_app");
// otherwise the Application lives in Argo CD's own namespace.
type AppRef struct {
	Namespace, Name string
	// ByLabel is set when the instance label named it, not the tracking
	// annotation.
	ByLabel bool
}

func (r AppRef) String() string {
	if r.Namespace != "" {
		return r.Namespace + "/" + r.Name
	}
	return r.Name
}

// ParseTrackingID reads Argo CD's tracking annotation on the Rollout
// namespace/name. It returns false for a value that is malformed or that
// names another object (a manifest copied from elsewhere keeps its mark;
// Argo CD does not count such an object as its own either): that rollout is
// ungrouped, never an error.
func ParseTrackingID(value, namespace, name string) (AppRef, bool) {
	// <app>:<group>/<Kind>:<namespace>/<name>. An app name has no ':' (it
	// is a DNS subdomain, with an optional "ns_" in front).
	app, rest, ok := strings.Cut(strings.TrimSpace(value), ":")
	if !ok || app == "" {
		return AppRef{}, false
	}
	gk, obj, ok := strings.Cut(rest, ":")
	if !ok {
		return AppRef{}, false
	}
	group, kind, ok := strings.Cut(gk, "/")
	if !ok || group != v1alpha1.Group || kind != v1alpha1.Kind {
		return AppRef{}, false
	}
	objNS, objName, ok := strings.Cut(obj, "/")
	if !ok || objName != name || (objNS != "" && objNS != namespace) {
		return AppRef{}, false
	}
	ref := AppRef{Name: app}
	hasNS := false
	if ns, n, ok := strings.Cut(app, "_"); ok {
		ref, hasNS = AppRef{Namespace: ns, Name: n}, true
	}
	if !ValidAppName(ref.Name) || (hasNS && !ValidAppName(ref.Namespace)) {
		return AppRef{}, false
	}
	return ref, true
}

// ValidAppName is a lenient DNS-subdomain check, as Argo CD names its
// objects (Applications, AppProjects, namespaces): lower-case letters,
// digits, '-' and '.', at most 253 characters.
func ValidAppName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Application is what roost keeps of an Argo CD Application.
type Application struct {
	Namespace, Name string
	// Project is spec.project ("default" when unset, as Argo CD reads it).
	Project string
	// Sync and Health are status.sync.status and status.health.status.
	Sync, Health string
	// AutoSync is spec.syncPolicy.automated; SelfHeal its selfHeal: Argo
	// CD then reverts what is changed by hand in the spec (an undo, a
	// pause).
	AutoSync, SelfHeal bool
}

// ApplicationFrom reads an Application object; it never fails: a field of
// the wrong type reads as unset.
func ApplicationFrom(u *unstructured.Unstructured) *Application {
	a := &Application{Namespace: u.GetNamespace(), Name: u.GetName()}
	a.Project, _, _ = unstructured.NestedString(u.Object, "spec", "project")
	if a.Project == "" {
		a.Project = "default"
	}
	a.Sync, _, _ = unstructured.NestedString(u.Object, "status", "sync", "status")
	a.Health, _, _ = unstructured.NestedString(u.Object, "status", "health", "status")
	if auto, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "syncPolicy", "automated"); found && auto != nil {
		if m, ok := auto.(map[string]any); ok {
			// Argo CD 3 can switch automation off with enabled: false.
			if e, ok := m["enabled"].(bool); !ok || e {
				a.AutoSync = true
				a.SelfHeal, _ = m["selfHeal"].(bool)
			}
		}
	}
	return a
}

// TrimApplication keeps of an Application only what ApplicationFrom reads:
// an Application's status lists every object it syncs, which roost never
// shows.
func TrimApplication(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	out := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": u.GetAPIVersion(),
		"kind":       u.GetKind(),
	}}
	out.SetNamespace(u.GetNamespace())
	out.SetName(u.GetName())
	out.SetUID(u.GetUID())
	out.SetResourceVersion(u.GetResourceVersion())
	copyField := func(path ...string) {
		if v, found, _ := unstructured.NestedFieldNoCopy(u.Object, path...); found {
			_ = unstructured.SetNestedField(out.Object, v, path...)
		}
	}
	copyField("spec", "project")
	copyField("spec", "syncPolicy", "automated")
	copyField("status", "sync", "status")
	copyField("status", "health", "status")
	return out, nil
}

// App is the Argo CD Application of a rollout, as far as roost can tell.
type App struct {
	// Name and Namespace name the Application; Namespace is "" when the
	// tracking mark does not name it and no Application was read.
	Name, Namespace string
	// ByLabel: the instance label named it (Argo CD 2.x label tracking),
	// not the tracking annotation.
	ByLabel bool `json:",omitempty"`
	// Known is set when roost read the Application; then Project, Sync,
	// Health, AutoSync and SelfHeal are its own. Otherwise only the name
	// is known.
	Known    bool
	Project  string `json:",omitempty"`
	Sync     string `json:",omitempty"`
	Health   string `json:",omitempty"`
	AutoSync bool   `json:",omitempty"`
	SelfHeal bool   `json:",omitempty"`
}

// Reverts says whether Argo CD undoes a change to this rollout's spec made
// by hand (an undo, a pause): its Application auto-syncs with selfHeal.
// Status writes (promote, abort, retry) are never reverted.
func (a *App) Reverts() bool { return a != nil && a.Known && a.AutoSync && a.SelfHeal }

// AppIndex finds Applications by the name a tracking mark gives. A nil
// AppIndex, or one that found none, leaves a rollout's App with its name
// only.
type AppIndex interface {
	// Application returns the Application ref names, or nil.
	Application(ref AppRef) *Application
}

// AppTracker says which Application deploys a Rollout.
type AppTracker struct {
	// InstanceLabel is the label of Argo CD's label tracking
	// (DefaultInstanceLabel unless configured); "" turns label tracking off.
	InstanceLabel string
	// Apps finds the Applications, nil when roost reads none. Then an
	// instance label is taken at its word; with Applications readable it
	// counts only when an Application of that name exists (a Helm release
	// label is not an Application).
	Apps AppIndex
}

// DefaultAppTracker tracks by annotation and by DefaultInstanceLabel, with
// no Applications read.
var DefaultAppTracker = AppTracker{InstanceLabel: DefaultInstanceLabel}

// AppOf returns the App of a Rollout with these annotations and labels, or
// nil when Argo CD does not track it.
func (t AppTracker) AppOf(namespace, name string, annotations, labels map[string]string) *App {
	ref, ok := AppRef{}, false
	if v, has := annotations[TrackingIDAnnotation]; has {
		// Only the annotation counts when there is one, even a bad one
		// (annotation+label tracking: the annotation is authoritative).
		ref, ok = ParseTrackingID(v, namespace, name)
	} else if t.InstanceLabel != "" {
		if v := labels[t.InstanceLabel]; ValidAppName(v) {
			ref, ok = AppRef{Name: v, ByLabel: true}, true
		}
	}
	if !ok {
		return nil
	}
	var a *Application
	if t.Apps != nil {
		a = t.Apps.Application(ref)
		if a == nil && ref.ByLabel {
			return nil
		}
	}
	out := &App{Name: ref.Name, Namespace: ref.Namespace, ByLabel: ref.ByLabel}
	if a != nil {
		out.Namespace, out.Known = a.Namespace, true
		out.Project, out.Sync, out.Health = a.Project, a.Sync, a.Health
		out.AutoSync, out.SelfHeal = a.AutoSync, a.SelfHeal
	}
	return out
}

// AppTable is an AppIndex over a list of Applications (the CLI's; the
// Watcher indexes its cache instead).
type AppTable struct {
	// ArgoNamespace is Argo CD's own namespace: a tracking mark without a
	// namespace names an Application there.
	ArgoNamespace string
	byName        map[string][]*Application
}

// NewAppTable indexes apps; argoNamespace "" is DefaultArgoCDNamespace.
func NewAppTable(apps []*Application, argoNamespace string) *AppTable {
	t := &AppTable{ArgoNamespace: cmp.Or(argoNamespace, DefaultArgoCDNamespace), byName: map[string][]*Application{}}
	for _, a := range apps {
		t.byName[a.Name] = append(t.byName[a.Name], a)
	}
	return t
}

// Application implements AppIndex.
func (t *AppTable) Application(ref AppRef) *Application {
	return pickApplication(t.byName[ref.Name], ref, t.ArgoNamespace)
}

// Applications lists every Application of the table, by namespace and name.
func (t *AppTable) Applications() []*Application {
	var out []*Application
	for _, as := range t.byName {
		out = append(out, as...)
	}
	slices.SortFunc(out, func(a, b *Application) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

// pickApplication chooses among the Applications named ref.Name: the one in
// ref's namespace when it names one, else the one in Argo CD's namespace,
// else the only one of that name anywhere (Argo CD in a namespace roost was
// not told of).
func pickApplication(named []*Application, ref AppRef, argoNamespace string) *Application {
	ns := cmp.Or(ref.Namespace, argoNamespace)
	for _, a := range named {
		if a.Namespace == ns {
			return a
		}
	}
	if ref.Namespace == "" && len(named) == 1 {
		return named[0]
	}
	return nil
}

// GroupBy is how the overview groups rollouts.
type GroupBy string

// Groupings.
const (
	GroupNone        GroupBy = "none"
	GroupApplication GroupBy = "application"
	GroupProject     GroupBy = "project"
	// GroupService groups the same service across clusters: the rollouts
	// of one Argo CD Application name, else of one namespace/name, in
	// every cluster in scope. It means something only when the cockpit
	// watches several clusters.
	GroupService GroupBy = "service"
)

// ParseGroupBy reads a grouping as written in the configuration or a flag.
func ParseGroupBy(s string) (GroupBy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "off":
		return GroupNone, nil
	case "application", "applications", "app", "apps":
		return GroupApplication, nil
	case "project", "projects", "appproject", "appprojects":
		return GroupProject, nil
	case "service", "services":
		return GroupService, nil
	}
	return GroupNone, fmt.Errorf("%q is not a grouping: write none, application (by Argo CD Application), project (by Argo CD AppProject) or service (the same service across clusters)", s)
}

// Next is the grouping after g, as a key cycles them, over one cluster.
func (g GroupBy) Next() GroupBy {
	switch g {
	case GroupNone, "":
		return GroupApplication
	case GroupApplication:
		return GroupProject
	}
	return GroupNone
}

// NextAcross is the grouping after g over several clusters: the same
// service across clusters comes first.
func (g GroupBy) NextAcross() GroupBy {
	switch g {
	case GroupNone, "":
		return GroupService
	case GroupService:
		return GroupApplication
	}
	return g.Next()
}

// GroupKey names a rollout's group under a grouping: the Application
// ("app/<ns>/<name>") or the AppProject ("project/<name>"). A rollout Argo
// CD does not track, or whose project is unknown, has "" under a grouping.
func GroupKey(r *Rollout, by GroupBy) string {
	a := r.App
	if by == GroupService {
		// Argo CD usually deploys a service to each cluster from its own
		// Application of one name; without one, the same namespace/name.
		if a != nil {
			return "service/app/" + a.Name
		}
		return "service/" + r.Namespace + "/" + r.Name
	}
	if a == nil {
		return ""
	}
	switch by {
	case GroupApplication:
		return "app/" + a.Namespace + "/" + a.Name
	case GroupProject:
		if a.Known {
			return "project/" + a.Project
		}
	}
	return ""
}

// GroupTitle is a group's name as shown: the Application's or the
// project's name.
func GroupTitle(r *Rollout, by GroupBy) string {
	if by == GroupService {
		if r.App != nil {
			return r.App.Name
		}
		return r.Namespace + "/" + r.Name
	}
	if r.App == nil {
		return ""
	}
	if by == GroupProject {
		return r.App.Project
	}
	return r.App.Name
}

// MatchesApp says whether r belongs to the Application or AppProject named
// name ("" matches nothing). An Application may be written "ns/name".
func (r *Rollout) MatchesApp(app, project string) bool {
	a := r.App
	if a == nil {
		return false
	}
	if app != "" {
		ns, n, hasNS := strings.Cut(app, "/")
		if !hasNS {
			n = app
		}
		if a.Name != n || hasNS && a.Namespace != ns {
			return false
		}
	}
	if project != "" && (!a.Known || a.Project != project) {
		return false
	}
	return app != "" || project != ""
}

// StateWord is a rollout's state in a few words, as a group line counts
// them: "healthy", "paused at 20 %", "aborted"...
func StateWord(r *Rollout) string {
	switch {
	case r.InvalidSpec != "":
		return "invalid spec"
	case r.AnalysisFailed():
		return "analysis failed"
	case r.Aborted:
		return "aborted"
	case r.Phase == v1alpha1.PhaseDegraded:
		return "degraded"
	case r.AnalysisInconclusive():
		return fmt.Sprintf("inconclusive at %d %%", r.DesiredWeight)
	case r.JudgeHeld != "":
		return fmt.Sprintf("held by judge at %d %%", r.DesiredWeight)
	case r.Paused:
		return fmt.Sprintf("paused at %d %%", r.DesiredWeight)
	case r.Phase == v1alpha1.PhaseHealthy:
		return "healthy"
	case r.Phase == v1alpha1.PhaseProgressing:
		return fmt.Sprintf("progressing to %d %%", r.DesiredWeight)
	}
	return strings.ToLower(string(r.Phase))
}

// ClusterSummary is the combined state of one service across clusters,
// cluster by cluster, the most urgent first: "3 clusters · tokyo paused at
// 50 %, osaka paused at 20 %, us healthy". A cluster with several of the
// group's rollouts names each.
func ClusterSummary(rollouts []*Rollout) string {
	ranked := make([]*Rollout, len(rollouts))
	copy(ranked, rollouts)
	slices.SortStableFunc(ranked, func(a, b *Rollout) int { return cmp.Compare(UrgencyOf(a), UrgencyOf(b)) })
	clusters := map[string]bool{}
	parts := make([]string, 0, len(ranked))
	for _, r := range ranked {
		clusters[r.Cluster] = true
		parts = append(parts, r.Cluster+" "+StateWord(r))
	}
	return plural(len(clusters), "cluster", "clusters") + " · " + strings.Join(parts, ", ")
}

// GroupSummary is the combined state of a group's rollouts, the most urgent
// first: "4 rollouts · 3 paused at 20 % · 1 healthy".
func GroupSummary(rollouts []*Rollout) string {
	type count struct {
		word    string
		urgency Urgency
		n       int
	}
	var counts []count
	for _, r := range rollouts {
		w := StateWord(r)
		i := slices.IndexFunc(counts, func(c count) bool { return c.word == w })
		if i < 0 {
			counts = append(counts, count{word: w, urgency: UrgencyOf(r)})
			i = len(counts) - 1
		}
		counts[i].n++
	}
	slices.SortStableFunc(counts, func(a, b count) int {
		return cmp.Or(cmp.Compare(a.urgency, b.urgency), cmp.Compare(b.n, a.n), strings.Compare(a.word, b.word))
	})
	parts := []string{plural(len(rollouts), "rollout", "rollouts")}
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", c.n, c.word))
	}
	return strings.Join(parts, " · ")
}
