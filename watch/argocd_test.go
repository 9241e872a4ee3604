package watch

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestParseTrackingID(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        AppRef
		ok          bool
	}{
		{"annotation", "shop-checkout:argoproj.io/Rollout:shop/checkout", AppRef{Name: "shop-checkout"}, true},
		{"apps in any namespace", "team-a_shop-checkout:argoproj.io/Rollout:shop/checkout", AppRef{Namespace: "team-a", Name: "shop-checkout"}, true},
		{"cluster-scoped form without namespace", "shop-checkout:argoproj.io/Rollout:/checkout", AppRef{Name: "shop-checkout"}, true},
		{"surrounding space", "  shop:argoproj.io/Rollout:shop/checkout ", AppRef{Name: "shop"}, true},
		{"empty", "", AppRef{}, false},
		{"app alone", "shop-checkout", AppRef{}, false},
		{"no object", "shop-checkout:argoproj.io/Rollout", AppRef{}, false},
		{"another kind (copied from a Deployment)", "shop:apps/Deployment:shop/checkout", AppRef{}, false},
		{"another group", "shop:example.com/Rollout:shop/checkout", AppRef{}, false},
		{"another name (manifest copied)", "shop:argoproj.io/Rollout:shop/payments", AppRef{}, false},
		{"another namespace", "shop:argoproj.io/Rollout:other/checkout", AppRef{}, false},
		{"empty app", ":argoproj.io/Rollout:shop/checkout", AppRef{}, false},
		{"upper case app", "Shop:argoproj.io/Rollout:shop/checkout", AppRef{}, false},
		{"empty namespace part", "_shop:argoproj.io/Rollout:shop/checkout", AppRef{}, false},
		{"no slash in group/kind", "shop:Rollout:shop/checkout", AppRef{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseTrackingID(tc.value, "shop", "checkout")
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ParseTrackingID(%q) = %+v, %v; want %+v, %v", tc.value, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func argoApp(ns, name, project string, selfHeal bool) *Application {
	return &Application{Namespace: ns, Name: name, Project: project, Sync: "Synced", Health: "Suspended", AutoSync: selfHeal, SelfHeal: selfHeal}
}

func TestAppTrackerAppOf(t *testing.T) {
	apps := NewAppTable([]*Application{
		argoApp("argocd", "shop-checkout", "shop", true),
		argoApp("team-a", "shop-checkout", "team-a-shop", false),
		argoApp("argocd", "ledger", "finance", false),
	}, "")
	ann := func(v string) map[string]string { return map[string]string{TrackingIDAnnotation: v} }
	label := func(v string) map[string]string { return map[string]string{DefaultInstanceLabel: v} }
	for _, tc := range []struct {
		name        string
		tracker     AppTracker
		ann, labels map[string]string
		want        *App
	}{
		{"nothing", AppTracker{InstanceLabel: DefaultInstanceLabel, Apps: apps}, nil, nil, nil},
		{"annotation, Application read", AppTracker{Apps: apps}, ann("shop-checkout:argoproj.io/Rollout:shop/checkout"), nil,
			&App{Name: "shop-checkout", Namespace: "argocd", Known: true, Project: "shop", Sync: "Synced", Health: "Suspended", AutoSync: true, SelfHeal: true}},
		{"annotation in another namespace", AppTracker{Apps: apps}, ann("team-a_shop-checkout:argoproj.io/Rollout:shop/checkout"), nil,
			&App{Name: "shop-checkout", Namespace: "team-a", Known: true, Project: "team-a-shop", Sync: "Synced", Health: "Suspended"}},
		{"annotation, no Applications read", AppTracker{}, ann("shop-checkout:argoproj.io/Rollout:shop/checkout"), nil,
			&App{Name: "shop-checkout"}},
		{"annotation, Application not found", AppTracker{Apps: apps}, ann("gone:argoproj.io/Rollout:shop/checkout"), nil,
			&App{Name: "gone"}},
		{"malformed annotation wins over the label", AppTracker{InstanceLabel: DefaultInstanceLabel, Apps: apps}, ann("garbage"), label("ledger"), nil},
		{"label confirmed by an Application", AppTracker{InstanceLabel: DefaultInstanceLabel, Apps: apps}, nil, label("ledger"),
			&App{Name: "ledger", Namespace: "argocd", ByLabel: true, Known: true, Project: "finance", Sync: "Synced", Health: "Suspended"}},
		{"label of a Helm release, not an Application", AppTracker{InstanceLabel: DefaultInstanceLabel, Apps: apps}, nil, label("my-release"), nil},
		{"label with no Applications read", AppTracker{InstanceLabel: DefaultInstanceLabel}, nil, label("my-release"), &App{Name: "my-release", ByLabel: true}},
		{"label tracking off", AppTracker{Apps: apps}, nil, label("ledger"), nil},
		{"configured label key", AppTracker{InstanceLabel: "argocd.argoproj.io/instance", Apps: apps}, nil, map[string]string{"argocd.argoproj.io/instance": "ledger", DefaultInstanceLabel: "x"},
			&App{Name: "ledger", Namespace: "argocd", ByLabel: true, Known: true, Project: "finance", Sync: "Synced", Health: "Suspended"}},
		{"label not a name", AppTracker{InstanceLabel: DefaultInstanceLabel}, nil, label("Not_A_Name"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.tracker.AppOf("shop", "checkout", tc.ann, tc.labels)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("AppOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAppRevertsOnlyWithSelfHeal(t *testing.T) {
	if (&App{Known: true, AutoSync: true}).Reverts() || (&App{AutoSync: true, SelfHeal: true}).Reverts() || (*App)(nil).Reverts() {
		t.Fatal("Reverts without a known self-healing Application")
	}
	if !(&App{Known: true, AutoSync: true, SelfHeal: true}).Reverts() {
		t.Fatal("a self-healing Application does not revert")
	}
}

func TestApplicationFrom(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "shop-checkout", "namespace": "argocd"},
		"spec":     map[string]any{"syncPolicy": map[string]any{"automated": map[string]any{"selfHeal": true, "prune": true}}},
		"status":   map[string]any{"sync": map[string]any{"status": "Synced"}, "health": map[string]any{"status": "Progressing"}, "resources": []any{map[string]any{"kind": "Rollout"}}},
	}}
	trimmed, _ := TrimApplication(u)
	tu := trimmed.(*unstructured.Unstructured)
	if _, found, _ := unstructured.NestedFieldNoCopy(tu.Object, "status", "resources"); found {
		t.Fatal("TrimApplication kept status.resources")
	}
	for _, obj := range []*unstructured.Unstructured{u, tu} {
		got := ApplicationFrom(obj)
		want := Application{Namespace: "argocd", Name: "shop-checkout", Project: "default", Sync: "Synced", Health: "Progressing", AutoSync: true, SelfHeal: true}
		if *got != want {
			t.Fatalf("ApplicationFrom = %+v, want %+v", *got, want)
		}
	}
	off := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "a", "namespace": "argocd"},
		"spec":     map[string]any{"project": "shop", "syncPolicy": map[string]any{"automated": map[string]any{"enabled": false, "selfHeal": true}}},
	}}
	if got := ApplicationFrom(off); got.AutoSync || got.SelfHeal || got.Project != "shop" {
		t.Fatalf("automation switched off read as %+v", *got)
	}
}

func TestGroupSummary(t *testing.T) {
	w20 := int32(20)
	paused := func(name string) *Rollout {
		return &Rollout{Name: name, Phase: v1alpha1.PhasePaused, Paused: true, PauseUntilPromoted: true, DesiredWeight: w20}
	}
	rs := []*Rollout{paused("a"), {Name: "b", Phase: v1alpha1.PhaseHealthy}, paused("c"), paused("d")}
	if got, want := GroupSummary(rs), "4 rollouts · 3 paused at 20 % · 1 healthy"; got != want {
		t.Fatalf("GroupSummary = %q, want %q", got, want)
	}
	rs = append(rs, &Rollout{Name: "e", Phase: v1alpha1.PhaseDegraded, Aborted: true})
	if got := GroupSummary(rs); !strings.HasPrefix(got, "5 rollouts · 1 aborted · 3 paused") {
		t.Fatalf("the aborted rollout is not counted first: %q", got)
	}
	if got := GroupSummary(rs[1:2]); got != "1 rollout · 1 healthy" {
		t.Fatalf("one rollout: %q", got)
	}
}

func TestGroupKeysAndMatches(t *testing.T) {
	known := &Rollout{App: &App{Name: "shop-checkout", Namespace: "argocd", Known: true, Project: "shop"}}
	nameOnly := &Rollout{App: &App{Name: "ledger"}}
	none := &Rollout{}
	if GroupKey(known, GroupApplication) != "app/argocd/shop-checkout" || GroupKey(known, GroupProject) != "project/shop" {
		t.Fatal("keys of a known Application")
	}
	if GroupKey(nameOnly, GroupProject) != "" || GroupKey(nameOnly, GroupApplication) != "app//ledger" || GroupKey(none, GroupApplication) != "" {
		t.Fatal("keys of a rollout with an unknown project or no Application")
	}
	for _, tc := range []struct {
		r            *Rollout
		app, project string
		want         bool
	}{
		{known, "shop-checkout", "", true},
		{known, "argocd/shop-checkout", "", true},
		{known, "other/shop-checkout", "", false},
		{known, "", "shop", true},
		{known, "shop-checkout", "finance", false},
		{nameOnly, "", "shop", false},
		{nameOnly, "ledger", "", true},
		{none, "ledger", "", false},
		{known, "", "", false},
	} {
		if got := tc.r.MatchesApp(tc.app, tc.project); got != tc.want {
			t.Errorf("MatchesApp(%q, %q) on %+v = %v", tc.app, tc.project, tc.r.App, got)
		}
	}
	for in, want := range map[string]GroupBy{"": GroupNone, "App": GroupApplication, "project": GroupProject, "AppProject": GroupProject} {
		if got, err := ParseGroupBy(in); err != nil || got != want {
			t.Errorf("ParseGroupBy(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseGroupBy("cluster"); err == nil {
		t.Error("ParseGroupBy took cluster")
	}
	if GroupNone.Next() != GroupApplication || GroupApplication.Next() != GroupProject || GroupProject.Next() != GroupNone {
		t.Error("Next does not cycle none → application → project")
	}
}

// TestWatcherFollowsApplications: with Applications watched, a rollout's
// App carries its project, and a change of the Application re-derives the
// rollouts it deploys and no others.
func TestWatcherFollowsApplications(t *testing.T) {
	tracked := newApp("shop", "checkout", 1, 1)
	tracked.ro.Annotations = map[string]string{TrackingIDAnnotation: "shop-checkout:argoproj.io/Rollout:shop/checkout"}
	other := newApp("bank", "ledger", 1, 0)
	c := newCluster(t, tracked, other)
	appObj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "shop-checkout", "namespace": "argocd", "resourceVersion": "1"},
		"spec":     map[string]any{"project": "shop"},
	}}
	apps := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ApplicationGVR: "ApplicationList"}, appObj)
	c.start(Options{ArgoCD: &ArgoCDOptions{InstanceLabel: DefaultInstanceLabel, Applications: apps}})
	c.quiet()
	s := NewStore(c.w)
	s.Update([]Key{key("shop", "checkout"), key("bank", "ledger")}, time.Now())
	if v, _ := s.Detail(key("shop", "checkout")); v.App == nil || !v.App.Known || v.App.Project != "shop" {
		t.Fatalf("checkout's App = %+v, want the Application of project shop", v.App)
	}
	if v, _ := s.Detail(key("bank", "ledger")); v.App != nil {
		t.Fatalf("ledger has an App: %+v", v.App)
	}
	moved := appObj.DeepCopy()
	_ = unstructured.SetNestedField(moved.Object, "payments", "spec", "project")
	moved.SetResourceVersion("2")
	if _, err := apps.Resource(ApplicationGVR).Namespace("argocd").Update(c.ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	ch, err := c.w.WaitDirty(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Keys) != 1 || ch.Keys[0] != key("shop", "checkout") {
		t.Fatalf("an Application change marked %v, want only shop/checkout", ch.Keys)
	}
	s.Update(ch.Keys, time.Now())
	if v, _ := s.Detail(key("shop", "checkout")); v.App.Project != "payments" {
		t.Fatalf("after the change, project %q", v.App.Project)
	}
}
