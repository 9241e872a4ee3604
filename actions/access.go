package actions

import (
	"context"
	"fmt"
	"slices"
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
	// TerminateAnalysis says whether they may also end the namespace's
	// AnalysisRuns (a patch of the run); TerminateReason says why not.
	TerminateAnalysis bool
	TerminateReason   string
}

// terminateVerb is what terminating an AnalysisRun sends.
var terminateVerb = authorizationv1.ResourceAttributes{Verb: "patch", Group: v1alpha1.Group, Resource: v1alpha1.AnalysisRunResource}

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
	var out Access
	for i, attrs := range append(slices.Clone(actionVerbs), terminateVerb) {
		attrs.Namespace = namespace
		review := &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
		}
		got, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return Access{}, fmt.Errorf("asking the API server what you may do in %s: %w", where(namespace), err)
		}
		switch {
		case i == len(actionVerbs):
			out.TerminateAnalysis = got.Status.Allowed
			if !got.Status.Allowed {
				out.TerminateReason = fmt.Sprintf("you may not patch analysisruns in %s; ask for the roost-dashboard ClusterRole (deploy/rbac-dashboard.yaml)", where(namespace))
			}
		case !got.Status.Allowed:
			denied = append(denied, attrs.Verb+" "+resourceName(attrs))
		}
	}
	if len(denied) == 0 {
		out.Allowed = true
		return out, nil
	}
	out.Reason = fmt.Sprintf("you may not %s in %s; ask for the roost-dashboard ClusterRole (deploy/rbac-dashboard.yaml)",
		strings.Join(denied, ", "), where(namespace))
	return out, nil
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
