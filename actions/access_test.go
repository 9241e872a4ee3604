package actions

import (
	"context"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/roost-dev/roost/internal/kubetest"
)

func TestCheckAccess(t *testing.T) {
	kube := kubefake.NewClientset()
	kubetest.AnswerAccessReviews(kube, func(a authorizationv1.ResourceAttributes) bool {
		return a.Namespace == "shop" || a.Subresource == ""
	})
	ctx := context.Background()
	if a, err := CheckAccess(ctx, kube, "shop"); err != nil || !a.Allowed {
		t.Errorf("shop: %+v, %v; want allowed", a, err)
	}
	a, err := CheckAccess(ctx, kube, "payments")
	if err != nil || a.Allowed {
		t.Fatalf("payments: %+v, %v; want denied", a, err)
	}
	for _, want := range []string{"patch rollouts/status", "namespace payments", "roost-dashboard"} {
		if !strings.Contains(a.Reason, want) {
			t.Errorf("reason %q does not say %q", a.Reason, want)
		}
	}
	if !a.TerminateAnalysis {
		t.Errorf("payments: %+v; want analysis runs terminable (patch analysisruns is allowed there)", a)
	}
}

// TestCheckAccessTerminate: ending an AnalysisRun is its own right; lacking
// it leaves the rollout's actions on.
func TestCheckAccessTerminate(t *testing.T) {
	kube := kubefake.NewClientset()
	kubetest.AnswerAccessReviews(kube, func(a authorizationv1.ResourceAttributes) bool { return a.Resource != "analysisruns" })
	a, err := CheckAccess(context.Background(), kube, "shop")
	if err != nil || !a.Allowed || a.TerminateAnalysis {
		t.Fatalf("%+v, %v; want the actions allowed, terminating analysis runs not", a, err)
	}
	if !strings.Contains(a.TerminateReason, "patch analysisruns in namespace shop") {
		t.Errorf("reason %q does not say what is missing", a.TerminateReason)
	}
}
