//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/metrics"
)

// A user of Argo Rollouts keeps Datadog's keys in the Secret
// argo-rollouts/datadog, which Argo's Datadog provider reads. roost finds
// them there with no configuration at all, and says so; with no address in
// the Secret it goes to Datadog's US1 site (unreachable from the test
// machine, which the evidence says, stale, never healthy).
func TestDatadogKeysFromArgoRolloutsSecret(t *testing.T) {
	ns := env.NewNamespace(t)
	ctx := context.Background()
	kube := env.Client()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argo-rollouts"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	const apiKey, appKey = "e2e0api0key0000000000000000000001", "e2e0app0key00000000000000000000000000002"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "argo-rollouts", Name: "datadog"},
		Data:       map[string][]byte{"api-key": []byte(apiKey), "app-key": []byte(appKey)},
	}
	if _, err := kube.CoreV1().Secrets("argo-rollouts").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.CoreV1().Secrets("argo-rollouts").Delete(context.Background(), "datadog", metav1.DeleteOptions{})
	})
	createRollout(t, roleCanary(ns, "cart", 2))

	// No --config, no DD_* in the environment: an empty config home.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, k := range []string{"DD_API_KEY", "DD_APP_KEY", "DD_SITE"} {
		t.Setenv(k, "")
	}
	res := mustRoost(t, ns, 0, "get", "cart", "-o", "json")
	var out struct {
		Evidence metrics.Evidence `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("roost get -o json: %v\n%s", err, res)
	}
	ev := out.Evidence
	if want := "keys from Secret argo-rollouts/datadog, site datadoghq.com from the default"; ev.MetricsFrom != want || ev.MetricsOff != "" {
		t.Fatalf("metricsFrom %q, metricsOff %q; want %q and metrics on\n%s", ev.MetricsFrom, ev.MetricsOff, want, res)
	}
	// Unreachable (no such host) or, where DNS answers, a timeout.
	reached := strings.Contains(ev.MetricsState.Reason, "api.datadoghq.com") || strings.Contains(ev.MetricsState.Reason, "timed out")
	if !ev.MetricsState.Stale || !reached || ev.Score == metrics.ScorePass {
		t.Errorf("evidence without a reachable Datadog: %+v, score %s; want stale, saying why, never Pass", ev.MetricsState, ev.Score)
	}
	for _, k := range []string{apiKey, appKey} {
		if strings.Contains(res.stdout+res.stderr, k) {
			t.Fatal("roost printed a key")
		}
	}
}
