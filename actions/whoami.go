package actions

import (
	"context"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// WhoAmI names the person behind the credentials, for the Events that record who
// promoted or aborted a rollout. It asks the API server (a SelfSubjectReview, which
// sees through tokens, OIDC and exec plugins) and falls back to the kubeconfig's
// user name when the server is older than 1.28 or forbids the review.
func WhoAmI(ctx context.Context, kube kubernetes.Interface, fallback string) string {
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		klog.V(2).InfoS("SelfSubjectReview failed; naming the kubeconfig user instead", "err", err, "user", fallback)
		return fallback
	}
	if name := review.Status.UserInfo.Username; name != "" {
		return name
	}
	return fallback
}
