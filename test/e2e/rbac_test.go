//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/deploy"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// applyClusterRole creates (or replaces) the ClusterRole named name from the
// embedded manifest file, and binds it to user.
func applyClusterRole(t *testing.T, file, name, user string) {
	t.Helper()
	ctx := context.Background()
	data, err := deploy.Manifests.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var role *rbacv1.ClusterRole
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if r.Kind == "ClusterRole" && r.Name == name {
			role = &r
		}
	}
	if role == nil {
		t.Fatalf("%s has no ClusterRole %s", file, name)
	}
	kube := env.Client()
	if err := kube.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRole %s from %s: %v", name, file, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("bind %s to %s: %v", name, user, err)
	}
}

// clientsAs returns clients that act as user (impersonation by the admin).
func clientsAs(t *testing.T, user string) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cfg := env.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kube, dyn
}

// TestShippedRolesSuffice runs a canary where the reconciler holds only
// deploy/rbac-controller.yaml's ClusterRole and the person promoting holds
// only deploy/rbac-dashboard.yaml's, so the shipped RBAC is proven on a real
// authorizer; and the dashboard role must not allow writing ReplicaSets.
func TestShippedRolesSuffice(t *testing.T) {
	ns := env.NewNamespace(t)
	ctx := context.Background()
	applyClusterRole(t, "rbac-controller.yaml", "roost-controller", "e2e-controller")
	applyClusterRole(t, "rbac-dashboard.yaml", "roost-dashboard", "e2e-dashboard")

	ctlKube, ctlDyn := clientsAs(t, "e2e-controller")
	cfg := controller.Config{
		Kube: ctlKube, Dynamic: ctlDyn, Namespace: ns, AnalysisRuns: true,
		Providers: analysis.Providers{Web: analysis.NewWebProvider(analysis.WebOptions{})},
	}
	// An analysis step whose template reads a token from a Secret: the
	// role must let the reconciler read templates and Secrets and own runs.
	srv := newRateServer(t, 0.01)
	if _, err := env.Client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "health-token", Namespace: ns},
		StringData: map[string]string{"token": "e2e-secret-token-value"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tmpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": v1alpha1.AnalysisTemplateKind,
		"metadata": map[string]any{"name": "health", "namespace": ns},
		"spec": map[string]any{
			"args": []any{map[string]any{"name": "token", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "health-token", "key": "token"}}}},
			"metrics": []any{map[string]any{
				"name": "health", "successCondition": "result < 0.05",
				"provider": map[string]any{"web": map[string]any{
					"url": srv.URL + "/rate", "jsonPath": "{$.rate}",
					"headers": []any{map[string]any{"key": "Authorization", "value": "Bearer {{args.token}}"}},
				}},
			}},
		},
	}}
	if _, err := dynamicClient(t).Resource(v1alpha1.AnalysisTemplateGVR).Namespace(ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runController(t, cfg)

	const app = "rbac"
	createRollout(t, kwokRollout(ns, app).Replicas(2).Image("registry.example/rbac:v1").Canary(func(c *v1alpha1.CanaryStrategy) {
		c.StableMetadata = nil
		c.MaxSurge = ptr.To(intstr.FromInt32(1))
	}).Steps(rollouttest.SetWeight(50), v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "health"}},
	}}, rollouttest.Pause()).Rollout())
	waitPhase := func(what string, phase v1alpha1.RolloutPhase, check func(r *v1alpha1.Rollout, pods map[string]int) bool) *v1alpha1.Rollout {
		t.Helper()
		var last *v1alpha1.Rollout
		eventually(t, 60*time.Second, what, func(ctx context.Context) (bool, string, error) {
			r, err := getRollout(ctx, t, ns, app)
			if err != nil {
				return false, "", err
			}
			pods, err := podRoles(ctx, ns, app)
			if err != nil {
				return false, "", err
			}
			last = r
			return r.Status.Phase == phase && check(r, pods), fmt.Sprintf("phase=%s message=%q pods: %s", r.Status.Phase, r.Status.Message, describe(pods)), nil
		})
		return last
	}
	first := waitPhase("first revision Healthy under the controller role", v1alpha1.PhaseHealthy, func(r *v1alpha1.Rollout, pods map[string]int) bool {
		return pods[r.Status.StableRS+"/"] == 2
	})

	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/rbac:v2"}]}}}}`)
	if _, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(ctx, app, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	paused := waitPhase("canary past its analysis and paused with a pod labelled role=canary", v1alpha1.PhasePaused, func(r *v1alpha1.Rollout, pods map[string]int) bool {
		return r.Status.CurrentPodHash != first.Status.StableRS && pods[r.Status.CurrentPodHash+"/canary"] == 1 && ptr.Deref(r.Status.CurrentStepIndex, 0) == 2
	})

	dashKube, dashDyn := clientsAs(t, "e2e-dashboard")
	if _, err := actions.NewActions(dashDyn, dashKube, "e2e-dashboard").Promote(ctx, ns, app); err != nil {
		t.Fatalf("promote with the dashboard role: %v", err)
	}
	waitPhase("promoted canary Healthy and stable", v1alpha1.PhaseHealthy, func(r *v1alpha1.Rollout, pods map[string]int) bool {
		return r.Status.StableRS == paused.Status.CurrentPodHash && pods[r.Status.StableRS+"/"] == 2 && len(pods) == 1
	})

	// The pod screen reads a pod's log and lists its Events; the groups by
	// Argo CD Application and project, get's APP and PROJECT and --project
	// list and watch Argo CD's Applications, in every namespace (apps in
	// any namespace) or Argo CD's own.
	for _, need := range []struct {
		attrs authorizationv1.ResourceAttributes
		why   string
	}{
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "pods", Subresource: "log"}, "the pod screen"},
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "list", Resource: "events"}, "the pod screen"},
		{authorizationv1.ResourceAttributes{Verb: "list", Group: "argoproj.io", Resource: "applications"}, "roost get --project"},
		{authorizationv1.ResourceAttributes{Verb: "watch", Group: "argoproj.io", Resource: "applications"}, "the cockpit's groups"},
		{authorizationv1.ResourceAttributes{Namespace: "argocd", Verb: "get", Group: "argoproj.io", Resource: "appprojects"}, "the cockpit's projects"},
	} {
		attrs := need.attrs
		r, err := dashKube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("self subject access review as the dashboard user: %v", err)
		}
		if !r.Status.Allowed {
			t.Errorf("the dashboard role may not %s %s %s/%s: %s needs it", attrs.Verb, attrs.Group, attrs.Resource, attrs.Subresource, need.why)
		}
	}
	// Argo CD's objects are only read: Argo CD owns them.
	for _, verb := range []string{"create", "update", "patch", "delete"} {
		r, err := dashKube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: "argocd", Verb: verb, Group: "argoproj.io", Resource: "applications",
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("self subject access review as the dashboard user: %v", err)
		}
		if r.Status.Allowed {
			t.Errorf("the dashboard role may %s Argo CD's Applications; it should only read them", verb)
		}
	}
	review, err := dashKube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: "update", Group: "apps", Resource: "replicasets",
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("self subject access review as the dashboard user: %v", err)
	}
	if review.Status.Allowed {
		t.Error("the dashboard role allows updating ReplicaSets; it should only read them")
	}
	if _, err := dashKube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "rbac-"},
		InvolvedObject: corev1.ObjectReference{Kind: "Rollout", Namespace: ns, Name: app},
		Reason:         "E2ECheck", Message: "the dashboard role may record events", Type: corev1.EventTypeNormal,
	}, metav1.CreateOptions{}); err != nil {
		t.Errorf("dashboard role cannot create events: %v", err)
	}
}
