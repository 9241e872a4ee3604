//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/watch"
)

// createArgoObject creates an Application or AppProject in Argo CD's
// namespace and deletes it when the test ends (the namespace is shared by
// the tests; it stays).
func createArgoObject(t *testing.T, gvr schema.GroupVersionResource, u *unstructured.Unstructured) {
	t.Helper()
	client := dynamicClient(t).Resource(gvr).Namespace(argocd.Namespace)
	if _, err := client.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s %s/%s: %v", u.GetKind(), argocd.Namespace, u.GetName(), err)
	}
	t.Cleanup(func() {
		if err := client.Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s %s/%s: %v", u.GetKind(), argocd.Namespace, u.GetName(), err)
		}
	})
}

// TestCockpitPromoteAProject releases an AppProject at once, as a team that
// deploys with Argo CD does: two rollouts of one project's Application and
// one of another project's wait at their first pause; in the cockpit, v
// groups by AppProject, space on the project's group line marks both of
// its rollouts, p y promotes them. Both move on; the other project's does
// not.
func TestCockpitPromoteAProject(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	who := whoAmI(t)
	ctx := context.Background()
	if err := argocd.InstallCRDs(ctx, dynamicClient(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argocd.Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Names unique to this test: the cluster and Argo CD's namespace are
	// shared.
	retail, web := ns+"-retail", ns+"-web"
	shopApp, frontApp := ns+"-shop", ns+"-front"
	createArgoObject(t, watch.AppProjectGVR, argocd.AppProject(retail, "the shop's services, released together"))
	createArgoObject(t, watch.AppProjectGVR, argocd.AppProject(web, "the storefront"))
	createArgoObject(t, watch.ApplicationGVR, argocd.Application(argocd.App{Name: shopApp, Project: retail, DestNamespace: ns, AutoSync: true, Sync: "Synced", Health: "Healthy"}))
	createArgoObject(t, watch.ApplicationGVR, argocd.Application(argocd.App{Name: frontApp, Project: web, DestNamespace: ns, Sync: "Synced", Health: "Healthy"}))

	// The cockpit reads the Applications it finds at start.
	ck := startCockpit(t, ns, "cockpit", nil)
	ck.awaitText("you step the canaries (this roost leads as ")
	app := map[string]string{"cart": shopApp, "checkout": shopApp, "front": frontApp}
	names := []string{"cart", "checkout", "front"}
	for _, n := range names {
		r := roleCanary(ns, n, 4, cockpitSteps()...)
		r.Annotations = map[string]string{watch.TrackingIDAnnotation: argocd.TrackingID(app[n], ns, n)}
		createRollout(t, r)
	}
	for _, n := range names {
		awaitRollout(t, ns, n, 60*time.Second, "first revision Healthy", healthy)
		setImage(t, ns, n, "registry.example/"+n+":v2")
	}
	pauseBegan := map[string]metav1.Time{}
	canary := map[string]string{}
	for _, n := range names {
		r := awaitRollout(t, ns, n, 60*time.Second, "paused at step 1 with the v2 canary", atPause(1))
		pauseBegan[n], canary[n] = r.Status.PauseConditions[0].StartTime, r.Status.CurrentPodHash
	}
	ck.awaitText("3 need you")

	// v, v: by Application, then by AppProject.
	ck.keys("v")
	ck.awaitText("grouped by Argo CD Application")
	ck.awaitLine(shopApp + " · 2 rollouts · 2 paused at 20 %")
	ck.keys("v")
	ck.awaitText("grouped by Argo CD AppProject")
	ck.awaitLine(retail + " · 2 rollouts · 2 paused at 20 %")
	ck.awaitLine(web + " · 1 rollout · 1 paused at 20 %")

	// g goes to the first line: retail's group line, as the groups wait
	// alike and retail comes before web by name.
	ck.keys("g")
	ck.awaitLine("▌", retail+" · 2 rollouts")
	ck.keys("Space")
	ck.awaitText("marked 2 rollouts of project "+retail, "2 marked")
	ck.keys("p")
	ck.awaitText("Promote 2 rollouts?")
	ck.awaitLine(ns + "/cart: releases the pause at step 2/4")
	ck.awaitLine(ns + "/checkout: releases the pause at step 2/4")
	if s, _ := ck.capture(false); strings.Contains(s, ns+"/front:") {
		t.Errorf("the dialog lists front, of project %s:\n%s", web, s)
	}
	ck.keys("y")
	ck.awaitText("promote: all 2 rollouts done")

	for _, n := range []string{"cart", "checkout"} {
		awaitRollout(t, ns, n, 60*time.Second, "at the second pause (step 3) after the project's promote", atPause(3))
		awaitActionEvent(t, ns, n, actions.EventPromoted, who)
	}
	unmoved(t, ns, "front", 1, pauseBegan["front"], canary["front"], 1)
	countEvents(t, ns, "front", actions.EventPromoted, 0)
	ck.awaitLine(web + " · 1 rollout · 1 paused at 20 %")
	ck.awaitScreen("the marks gone after the promote", func(s string) bool { return !strings.Contains(s, "marked") })
}
