package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/deploy"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/watch"
)

// The cluster serves Argo CD's Applications and AppProjects as one with
// Argo CD installed does: discovery lists them, their CRDs are
// established, the demo user may list them everywhere (what roost checks
// before it watches them), and they are created, listed and watched
// through the dynamic client.
func TestClusterServesArgoCD(t *testing.T) {
	c := running(t, fast)
	ctx := context.Background()

	list, err := c.Kube.Discovery().ServerResourcesForGroupVersion(argocd.ApplicationGVR.GroupVersion().String())
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range list.APIResources {
		served[r.Name] = r.Namespaced
	}
	for _, gvr := range []struct{ resource, kind string }{{"applications", "Application"}, {"appprojects", "AppProject"}} {
		if namespaced, ok := served[gvr.resource]; !ok || !namespaced {
			t.Errorf("discovery does not list %s as namespaced: %v", gvr.resource, served)
		}
		crd, err := c.Dynamic.Resource(deploy.CRDGVR).Get(ctx, gvr.resource+".argoproj.io", metav1.GetOptions{})
		if err != nil {
			t.Errorf("CRD of %s: %v", gvr.resource, err)
			continue
		}
		if conds := fmt.Sprint(crd.Object["status"]); !strings.Contains(conds, "Established") {
			t.Errorf("CRD of %s is not established: %s", gvr.resource, conds)
		}
		if kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind"); kind != gvr.kind {
			t.Errorf("CRD of %s names the kind %q", gvr.resource, kind)
		}
	}
	review, err := c.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "list", Group: argocd.ApplicationGVR.Group, Resource: argocd.ApplicationGVR.Resource,
		}},
	}, metav1.CreateOptions{})
	if err != nil || !review.Status.Allowed {
		t.Errorf("may the demo user list applications everywhere? %+v, %v", review.Status, err)
	}

	if err := c.CreateAppProject(ctx, argocd.AppProject("shop", "the web shop")); err != nil {
		t.Fatal(err)
	}
	app := argocd.Application(argocd.App{Name: "shop-web", Project: "shop", DestNamespace: testNS, AutoSync: true, SelfHeal: true, Sync: "Synced", Health: "Healthy"})
	if err := c.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateApplication(ctx, app); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("the same Application twice: %v, want already exists", err)
	}
	noSpec := argocd.Application(argocd.App{Name: "bare", Project: "shop"})
	delete(noSpec.Object, "spec")
	for _, tt := range []struct {
		what string
		err  error
		want string
	}{
		{"nil", c.CreateApplication(ctx, nil), "no Application given"},
		{"a project as an Application", c.CreateApplication(ctx, argocd.AppProject("payments", "")), "build it with argocd.Application"},
		{"an Application without a spec", c.CreateApplication(ctx, noSpec), "has no spec"},
		{"an Application as a project", c.CreateAppProject(ctx, app), "build it with argocd.AppProject"},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error saying %q", tt.what, tt.err, tt.want)
		}
	}

	apps, err := c.Dynamic.Resource(argocd.ApplicationGVR).List(ctx, metav1.ListOptions{})
	if err != nil || len(apps.Items) != 1 {
		t.Fatalf("Applications in every namespace: %v, %v", apps, err)
	}
	got := apps.Items[0]
	if health, _, _ := unstructured.NestedString(got.Object, "status", "health", "status"); got.GetNamespace() != argocd.Namespace || health != "Healthy" || got.GetUID() == "" {
		t.Errorf("listed %s/%s (uid %q), health %q; want argocd/shop-web as created, its status kept", got.GetNamespace(), got.GetName(), got.GetUID(), health)
	}
	if projects, err := c.Dynamic.Resource(argocd.AppProjectGVR).Namespace(argocd.Namespace).List(ctx, metav1.ListOptions{}); err != nil || len(projects.Items) != 1 || projects.Items[0].GetName() != "shop" {
		t.Errorf("AppProjects in argocd: %v, %v", projects, err)
	}

	// roost's watch reads the Application of a rollout with its tracking
	// mark, and follows a change of the Application's status.
	r := canary("web")
	r.Annotations = map[string]string{watch.TrackingIDAnnotation: argocd.TrackingID("shop-web", testNS, "web")}
	if err := c.CreateRollout(ctx, r); err != nil {
		t.Fatal(err)
	}
	w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic, ArgoCD: &watch.ArgoCDOptions{Applications: c.Dynamic}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	w.Start(wctx)
	if !w.WaitForCacheSync(wctx) {
		t.Fatal("caches did not sync")
	}
	d := &dashboard{t: t, w: w, store: watch.NewStore(w), ctx: wctx}
	d.until("web", "the Application of web, Healthy", func(r *watch.Rollout) bool {
		a := r.App
		return a != nil && a.Known && a.Name == "shop-web" && a.Project == "shop" && a.Health == "Healthy" && a.Reverts()
	})
	patch := []byte(`{"status":{"health":{"status":"Progressing"}}}`)
	if _, err := c.Dynamic.Resource(argocd.ApplicationGVR).Namespace(argocd.Namespace).Patch(ctx, "shop-web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	d.until("web", "the Application of web, Progressing", func(r *watch.Rollout) bool {
		return r.App != nil && r.App.Health == "Progressing" && r.App.Sync == "Synced"
	})
}

// An Application's status is the object's own (no status subresource): an
// update writes it, and the watch of Applications sees it.
func TestApplicationStatusIsWrittenWithTheObject(t *testing.T) {
	c := running(t, fast)
	ctx := context.Background()
	apps := c.Dynamic.Resource(argocd.ApplicationGVR).Namespace(argocd.Namespace)
	if err := c.CreateApplication(ctx, argocd.Application(argocd.App{Name: "shop-web", Project: "shop", DestNamespace: testNS})); err != nil {
		t.Fatal(err)
	}
	list, err := apps.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := apps.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Stop()
	u := list.Items[0].DeepCopy()
	if err := unstructured.SetNestedField(u.Object, string(v1alpha1.PhaseDegraded), "status", "health", "status"); err != nil {
		t.Fatal(err)
	}
	if _, err := apps.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events.ResultChan():
		got, _ := ev.Object.(*unstructured.Unstructured)
		if got == nil {
			t.Fatalf("watch event %s of a %T", ev.Type, ev.Object)
		}
		health, _, _ := unstructured.NestedString(got.Object, "status", "health", "status")
		if ev.Type != "MODIFIED" || health != "Degraded" || got.GetResourceVersion() == u.GetResourceVersion() {
			t.Errorf("watch event %s, health %q, resourceVersion %s; want MODIFIED, Degraded, a new version", ev.Type, health, got.GetResourceVersion())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event for the status update")
	}
}
