//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestReplicaSetPodsBecomeReady checks the harness itself: the
// controller-manager creates pods for a ReplicaSet, the scheduler places them
// on the kwok node, and kwok makes them Ready.
func TestReplicaSetPodsBecomeReady(t *testing.T) {
	ns := env.NewNamespace(t)
	kube := env.Client()
	labels := map[string]string{"app": "harness"}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "harness", Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, "registry.example/harness:v1"),
		},
	}
	start := time.Now()
	if _, err := kube.AppsV1().ReplicaSets(ns).Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ReplicaSet %s/harness: %v", ns, err)
	}
	eventually(t, 60*time.Second, "5 ready pods and readyReplicas=5 on ReplicaSet harness", func(ctx context.Context) (bool, string, error) {
		pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=harness"})
		if err != nil {
			return false, "", err
		}
		got, err := kube.AppsV1().ReplicaSets(ns).Get(ctx, "harness", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		ready := readyPods(pods.Items)
		state := fmt.Sprintf("%d pods, %d ready, rs.status.readyReplicas=%d", len(pods.Items), ready, got.Status.ReadyReplicas)
		return ready == 5 && got.Status.ReadyReplicas == 5, state, nil
	})
	t.Logf("5 pods Ready %s after the ReplicaSet was created", time.Since(start).Round(time.Millisecond))

	pods, err := kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=harness"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.PodIP == "" {
			t.Errorf("pod %s: node %q, IP %q; want scheduled on the kwok node with an IP", p.Name, p.Spec.NodeName, p.Status.PodIP)
		}
	}
}

// TestAPIServerRestart checks RestartAPIServer: the server comes back on the
// same address with its data, and the ReplicaSet controller keeps working.
func TestAPIServerRestart(t *testing.T) {
	ns := env.NewNamespace(t)
	kube := env.Client()
	if err := env.RestartAPIServer(context.Background()); err != nil {
		t.Fatalf("restart kube-apiserver: %v", err)
	}
	if _, err := kube.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace %s created before the restart is gone: %v", ns, err)
	}
	labels := map[string]string{"app": "after-restart"}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "after-restart", Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, "registry.example/app:v1"),
		},
	}
	if _, err := kube.AppsV1().ReplicaSets(ns).Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ReplicaSet after restart: %v", err)
	}
	eventually(t, 90*time.Second, "2 ready pods after the apiserver restart", func(ctx context.Context) (bool, string, error) {
		got, err := kube.AppsV1().ReplicaSets(ns).Get(ctx, "after-restart", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return got.Status.ReadyReplicas == 2, fmt.Sprintf("readyReplicas=%d", got.Status.ReadyReplicas), nil
	})
}
