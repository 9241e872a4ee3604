package kubetest

import (
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// AnswerAccessReviews makes kube answer every SelfSubjectAccessReview with
// allowed(the attributes asked about), as an authorizer would.
func AnswerAccessReviews(kube *kubefake.Clientset, allowed func(authorizationv1.ResourceAttributes) bool) {
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		r.Status.Allowed = allowed(*r.Spec.ResourceAttributes)
		return true, r, nil
	})
}
