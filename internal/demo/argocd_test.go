package demo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/watch"
)

// Argo CD's health check of a Rollout: Progressing until the latest spec
// is seen, then the phase, Paused read as Suspended.
func TestRolloutHealth(t *testing.T) {
	tests := []struct {
		generation      int64
		observed, phase string
		want            string
	}{
		{1, "", "", "Progressing"},
		{2, "1", "Healthy", "Progressing"},
		{2, "2", "Healthy", "Healthy"},
		{2, "2", "Progressing", "Progressing"},
		{2, "2", "Paused", "Suspended"},
		{2, "2", "Degraded", "Degraded"},
		{2, "2", "", "Progressing"},
		// Argo Rollouts before v0.10 wrote a hash: seen.
		{2, "5d8f9c7b6", "Paused", "Suspended"},
		{2, "3", "Healthy", "Healthy"},
	}
	for _, tt := range tests {
		if got := rolloutHealth(tt.generation, tt.observed, tt.phase); got != tt.want {
			t.Errorf("generation %d, observed %q, phase %q: %s, want %s", tt.generation, tt.observed, tt.phase, got, tt.want)
		}
	}
}

// Every scenario's rollouts are deployed by Argo CD: one Application per
// rollout, named in the rollout's tracking mark, a few in each of the two
// projects, auto-synced; one of them self-heals where its analysis, not
// roost's judge, decides its canaries.
func TestScenariosAreDeployedByArgoCD(t *testing.T) {
	for _, name := range ScenarioNames() {
		s, _ := Lookup(name)
		projects, healers, names := map[string]int{}, 0, map[string]bool{}
		for _, svc := range s.Services {
			app := appOf(svc)
			rs := &runningService{Service: svc}
			r := rs.rollout()
			tracked := watch.DefaultAppTracker.AppOf(r.Namespace, r.Name, r.Annotations, r.Labels)
			if tracked == nil || tracked.ByLabel || tracked.Name != app.Name {
				t.Errorf("%s: rollout %s is tracked as %+v, want by annotation as Application %s", name, svc.Key(), tracked, app.Name)
			}
			if names[app.Name] {
				t.Errorf("%s: Application %s deploys two rollouts", name, app.Name)
			}
			names[app.Name] = true
			want := "shop"
			if svc.Namespace == "payments" {
				want = "payments"
			}
			if app.Project != want || app.DestNamespace != svc.Namespace {
				t.Errorf("%s: %s's Application is in project %s, deploys to %s; want %s, %s", name, svc.Key(), app.Project, app.DestNamespace, want, svc.Namespace)
			}
			projects[app.Project]++
			if !app.AutoSync {
				t.Errorf("%s: %s does not auto-sync", name, app.Name)
			}
			if app.SelfHeal {
				healers++
				if len(svc.templates()) == 0 {
					t.Errorf("%s: %s self-heals, and roost's judge, which holds with spec.paused, gates its canaries", name, app.Name)
				}
			}
		}
		want := 1
		if name == "busy" {
			want = 0
		}
		if projects["shop"] < 2 || projects["payments"] < 2 || healers != want {
			t.Errorf("%s: Applications per project %v, %d self-healing; want a few in each project and %d self-healing", name, projects, healers, want)
		}
	}
}

// The world's cluster has what Argo CD keeps in its namespace: the two
// projects and one Application per rollout, Synced and Progressing before
// the rollouts move, as the cockpit reads them.
func TestWorldHasArgoCD(t *testing.T) {
	ctx := context.Background()
	w, err := New(Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	dyn := w.Cluster.Dynamic
	projects, err := dyn.Resource(argocd.AppProjectGVR).Namespace(argocd.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range projects.Items {
		names = append(names, p.GetName())
	}
	if strings.Join(names, ",") != "payments,shop" {
		t.Errorf("AppProjects %v, want payments and shop", names)
	}
	list, err := dyn.Resource(argocd.ApplicationGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var apps []*watch.Application
	for i := range list.Items {
		apps = append(apps, watch.ApplicationFrom(&list.Items[i]))
	}
	table := watch.NewAppTable(apps, argocd.Namespace)
	rollouts, err := dyn.Resource(v1alpha1.RolloutGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rollouts.Items) != len(apps) || len(apps) != len(w.services) {
		t.Errorf("%d rollouts, %d Applications, %d services; want one Application per rollout", len(rollouts.Items), len(apps), len(w.services))
	}
	tracker := watch.AppTracker{InstanceLabel: watch.DefaultInstanceLabel, Apps: table}
	for _, r := range rollouts.Items {
		key := r.GetNamespace() + "/" + r.GetName()
		a := tracker.AppOf(r.GetNamespace(), r.GetName(), r.GetAnnotations(), r.GetLabels())
		switch {
		case a == nil || !a.Known:
			t.Errorf("rollout %s: no Application found from its marks %v", key, r.GetAnnotations())
		case a.Namespace != argocd.Namespace || a.Project != appOf(w.services[key].Service).Project:
			t.Errorf("rollout %s: Application %s/%s in project %s", key, a.Namespace, a.Name, a.Project)
		case a.Sync != "Synced" || a.Health != "Progressing":
			t.Errorf("rollout %s: Application %s is %s and %s; want Synced and Progressing before the rollout has a status", key, a.Name, a.Sync, a.Health)
		case a.Reverts() != (key == selfHealing):
			t.Errorf("rollout %s: Application %s self-heals: %v", key, a.Name, a.Reverts())
		}
	}
}

// application reads an Application's sync and health.
func application(t *testing.T, w *World, name string) (sync, health string) {
	t.Helper()
	u, err := w.Cluster.Dynamic.Resource(argocd.ApplicationGVR).Namespace(argocd.Namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := watch.ApplicationFrom(u)
	return a.Sync, a.Health
}

// awaitApp waits until an Application reports sync and health.
func awaitApp(t *testing.T, w *World, name, sync, health string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("Application %s %s and %s", name, sync, health), func() (bool, string) {
		s, h := application(t, w, name)
		return s == sync && h == health, s + " " + h
	})
}

func pauseByHand(t *testing.T, w *World, ns, name string) {
	t.Helper()
	_, err := w.Cluster.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(context.Background(), name, types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// The default scenario, ten times faster: each Application reports its
// rollout as Argo CD does (Suspended while it waits for a promote,
// Degraded once its analysis aborted it, Healthy once promoted), and
// Synced while the rollout is as released. A pause by hand puts a rollout
// OutOfSync; the self-healing Application's Argo CD puts back its spec
// (the pause, then a template changed by hand, as an undo does), the
// others' stay as the person left them.
func TestApplicationsFollowTheirRollouts(t *testing.T) {
	w := running(t, Options{Speed: 10, Seed: 3})
	awaitApp(t, w, "shop-checkout", "Synced", "Suspended", 30*time.Second)
	awaitApp(t, w, "shop-cart", "Synced", "Healthy", 30*time.Second)
	awaitApp(t, w, "payments-refunds", "Synced", "Healthy", 90*time.Second)
	awaitApp(t, w, "payments-ledger", "Synced", "Degraded", 90*time.Second)

	// Checkout's Application does not self-heal: paused by hand, it stays
	// OutOfSync and paused.
	pauseByHand(t, w, "shop", "checkout")
	awaitApp(t, w, "shop-checkout", "OutOfSync", "Suspended", 10*time.Second)
	time.Sleep(2 * w.gitops.selfHealAfter)
	if r, _, _ := canary(t, w, "shop", "checkout"); !r.Spec.Paused {
		t.Error("checkout's pause by hand was undone, but its Application does not self-heal")
	}

	// Refunds' does: the pause and an image set by hand are put back, and
	// the Application reports Synced again.
	apps := w.Cluster.Dynamic.Resource(argocd.ApplicationGVR).Namespace(argocd.Namespace)
	for _, change := range []struct {
		what string
		do   func()
	}{
		{"a pause", func() { pauseByHand(t, w, "payments", "refunds") }},
		{"another image", func() {
			if err := w.Cluster.SetImage("payments", "refunds", "payments/refunds:1.1.9"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		cur, err := apps.Get(context.Background(), "payments-refunds", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		events, err := apps.Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=payments-refunds", ResourceVersion: cur.GetResourceVersion()})
		if err != nil {
			t.Fatal(err)
		}
		change.do()
		var seen []string
		timeout := time.After(20 * time.Second)
	follow:
		for {
			select {
			case ev := <-events.ResultChan():
				u, _ := ev.Object.(*unstructured.Unstructured)
				if u == nil {
					continue
				}
				a := watch.ApplicationFrom(u)
				seen = append(seen, a.Sync+" "+a.Health)
				if a.Sync == "Synced" && strings.Contains(strings.Join(seen, ","), "OutOfSync") {
					break follow
				}
			case <-timeout:
				t.Fatalf("after %s by hand, payments-refunds reported %v; want OutOfSync, then Synced once Argo CD healed it", change.what, seen)
			}
		}
		events.Stop()
		r, _, _ := canary(t, w, "payments", "refunds")
		if git := w.gitops.inGit("payments/refunds").image; r.Spec.Paused || r.Spec.Template.Spec.Containers[0].Image != git {
			t.Errorf("after %s by hand and Argo CD's self-heal, refunds is paused %v, runs %s; want unpaused on %s, as in Git", change.what, r.Spec.Paused, r.Spec.Template.Spec.Containers[0].Image, git)
		}
	}
	awaitApp(t, w, "payments-refunds", "Synced", "Healthy", 30*time.Second)
}
