//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/roost-dev/roost/internal/cluster"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// eventually polls cond every 100 ms until it holds or timeout passes; the
// failure names what was awaited and the last state seen.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (ok bool, state string, err error)) {
	t.Helper()
	var last string
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, state, err := cond(ctx)
		last, lastErr = state, err
		return ok && err == nil, nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s; last state: %s (error: %v)", timeout, what, last, lastErr)
	}
}

// podTemplate is a pod template that runs on the kwok node: kwok makes its
// pods Running and Ready at once, without running any container.
func podTemplate(labels map[string]string, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			Containers:  []corev1.Container{{Name: "app", Image: image}},
			Tolerations: []corev1.Toleration{cluster.KwokToleration()},
		},
	}
}

// kwokRollout starts a Rollout whose pods run on the kwok node.
func kwokRollout(ns, name string) *rollouttest.Builder {
	return rollouttest.New(ns, name).Tolerations(cluster.KwokToleration())
}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// podReady is true for a pod that is Ready and not being deleted.
func podReady(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func readyPods(pods []corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if podReady(p) {
			n++
		}
	}
	return n
}
