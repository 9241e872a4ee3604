package actions

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Access says whether the person may act on the rollouts of one namespace,
// and if not, why, in words that say what to ask for.
type Access struct {
	Allowed bool
	// Reason is set when not Allowed, e.g. "you may not patch
	// rollouts/status in namespace shop; ask for the roost-dashboard
	// ClusterRole (deploy/rbac-dashboard.yaml)".
	Reason string
}

// actionVerbs are what every action sends: patches of the Rollout and of its
// status, and the Event naming who acted.
var actionVerbs = []authorizationv1.ResourceAttributes{
	{Verb: "patch", Group: v1alpha1.Group, Resource: v1alpha1.Resource},
	{Verb: "patch", Group: v1alpha1.Group, Resource: v1alpha1.Resource, Subresource: "status"},
	{Verb: "create", Group: "", Resource: "events"},
}

// CheckAccess asks the API server (SelfSubjectAccessReview) whether the
// person may send roost's actions to rollouts in namespace ("" is every
// namespace). An error means the server could not be asked; the caller then
// says so rather than guessing.
func CheckAccess(ctx context.Context, kube kubernetes.Interface, namespace string) (Access, error) {
	var denied []string
	for _, attrs := range actionVerbs {
		attrs.Namespace = namespace
		review := &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
		}
		got, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return Access{}, fmt.Errorf("asking the API server what you may do in %s: %w", where(namespace), err)
		}
		if !got.Status.Allowed {
			denied = append(denied, attrs.Verb+" "+resourceName(attrs))
		}
	}
	if len(denied) == 0 {
		return Access{Allowed: true}, nil
	}
	return Access{Reason: fmt.Sprintf("you may not %s in %s; ask for the roost-dashboard ClusterRole (deploy/rbac-dashboard.yaml)",
		strings.Join(denied, ", "), where(namespace))}, nil
}

func resourceName(a authorizationv1.ResourceAttributes) string {
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	return r
}

func where(namespace string) string {
	if namespace == "" {
		return "every namespace"
	}
	return "namespace " + namespace
}
