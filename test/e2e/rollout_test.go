//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// runReconciler runs roost's reconciler in-process for namespace ns until
// the test ends.
func runReconciler(t *testing.T, ns string) {
	t.Helper()
	runController(t, controller.Config{Kube: env.Client(), Dynamic: dynamicClient(t), Namespace: ns})
}

// runController runs a reconciler built from cfg until the test ends, and
// with it, when given, whatever else must run as long (a poller).
func runController(t *testing.T, cfg controller.Config, alongside ...func(context.Context)) {
	t.Helper()
	ctrl, err := controller.New(cfg)
	if err != nil {
		t.Fatalf("build reconciler: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1+len(alongside))
	for _, f := range alongside {
		go func() { f(ctx); done <- nil }()
	}
	go func() { done <- ctrl.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		for range 1 + len(alongside) {
			if err := <-done; err != nil {
				t.Errorf("reconciler: %v", err)
			}
		}
	})
}

func createRollout(t *testing.T, r *v1alpha1.Rollout) {
	t.Helper()
	u, err := v1alpha1.ToUnstructured(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(r.Namespace).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create rollout %s/%s: %v", r.Namespace, r.Name, err)
	}
}

func getRollout(ctx context.Context, t *testing.T, ns, name string) (*v1alpha1.Rollout, error) {
	u, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	r, errs := v1alpha1.FromUnstructured(u)
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return r, nil
}

// replicaSetsByHash returns the rollout's ReplicaSets keyed by pod-template hash.
func replicaSetsByHash(ctx context.Context, ns, app string) (map[string]appsv1.ReplicaSet, error) {
	list, err := env.Client().AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		out[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = rs
	}
	return out, nil
}

// podRoles counts the Ready pods per (pod-template hash, role label).
func podRoles(ctx context.Context, ns, app string) (map[string]int, error) {
	pods, err := env.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range pods.Items {
		if podReady(p) {
			out[p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]+"/"+p.Labels["role"]]++
		}
	}
	return out, nil
}

func describe(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// TestCanaryWithKwokPods runs a whole canary with the in-process reconciler
// and checks, on the real objects, the ReplicaSet sizes and the role labels of
// the Ready pods at each step: 25% and a manual pause, promote, 50% and a
// timed pause, then completion with the canary pods relabelled stable.
func TestCanaryWithKwokPods(t *testing.T) {
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const app = "shop"
	ro := kwokRollout(ns, app).Replicas(4).Image("registry.example/shop:v1").Steps(
		rollouttest.SetWeight(25), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.PauseFor("2s"),
	).Rollout()
	createRollout(t, ro)
	ctx := context.Background()

	// wantState waits until the rollout reports phase, step and stable hash
	// as given and the Ready pods per hash/role are exactly pods.
	var stableHash string
	wantState := func(what string, phase v1alpha1.RolloutPhase, step int32, pods func(stable, canary string) map[string]int) (stable, canary string) {
		t.Helper()
		eventually(t, 60*time.Second, what, func(ctx context.Context) (bool, string, error) {
			r, err := getRollout(ctx, t, ns, app)
			if err != nil {
				return false, "", err
			}
			got, err := podRoles(ctx, ns, app)
			if err != nil {
				return false, "", err
			}
			st := r.Status
			idx := int32(-1)
			if st.CurrentStepIndex != nil {
				idx = *st.CurrentStepIndex
			}
			state := fmt.Sprintf("phase=%s step=%d stableRS=%s currentPodHash=%s pods: %s", st.Phase, idx, st.StableRS, st.CurrentPodHash, describe(got))
			stable, canary = st.StableRS, st.CurrentPodHash
			want := pods(stable, canary)
			return st.Phase == phase && idx == step && fmt.Sprint(got) == fmt.Sprint(want) && st.ObservedGeneration == fmt.Sprint(r.Generation), state, nil
		})
		return stable, canary
	}

	stableHash, _ = wantState("the first revision to be Healthy with 4 stable pods", v1alpha1.PhaseHealthy, 4, func(stable, _ string) map[string]int {
		return map[string]int{stable + "/stable": 4}
	})

	// A new image starts the canary: 25% of 4 is one canary pod, then the
	// manual pause holds it.
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/shop:v2"}]}}}}`)
	if _, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(ctx, app, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("set image v2: %v", err)
	}
	_, canaryHash := wantState("25%: 1 canary + 3 stable, paused at step 2", v1alpha1.PhasePaused, 1, func(stable, canary string) map[string]int {
		return map[string]int{stableHash + "/stable": 3, canary + "/canary": 1}
	})
	if canaryHash == stableHash {
		t.Fatalf("currentPodHash %s did not change with the new image", canaryHash)
	}
	assertReplicas(t, ns, app, map[string]int32{stableHash: 3, canaryHash: 1})
	// Argo Rollouts' words for a canary at a pause step.
	wantArgoStatus(t, ns, app, "Paused", "CanaryPauseStep", map[string]string{
		"Progressing": `Unknown RolloutPaused "Rollout is paused"`,
		"Paused":      `True RolloutPaused "Rollout is paused"`,
		"Available":   `True AvailableReason "Rollout has minimum availability"`,
		"Healthy":     `False RolloutHealthy "Rollout is not healthy"`,
		"Completed":   `False RolloutCompleted "RolloutCompleted"`,
	})

	actions := actions.NewActions(dynamicClient(t), env.Client(), "e2e")
	if _, err := actions.Promote(ctx, ns, app); err != nil {
		t.Fatalf("promote: %v", err)
	}
	// 50% of 4 is two and two; the 2 s pause then lets the canary finish on
	// its own: all four pods run the new template and are relabelled stable.
	wantState("promoted to completion: 4 pods of the new revision labelled stable", v1alpha1.PhaseHealthy, 4, func(stable, _ string) map[string]int {
		return map[string]int{canaryHash + "/stable": 4}
	})
	assertReplicas(t, ns, app, map[string]int32{stableHash: 0, canaryHash: 4})
	r, err := getRollout(ctx, t, ns, app)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status.StableRS != canaryHash {
		t.Errorf("status.stableRS = %s, want the new revision %s", r.Status.StableRS, canaryHash)
	}
	wantArgoStatus(t, ns, app, "Healthy", "", map[string]string{
		"Progressing": fmt.Sprintf(`True NewReplicaSetAvailable "ReplicaSet \"%s-%s\" has successfully progressed."`, app, canaryHash),
		"Paused":      `False RolloutPaused "Rollout is paused"`,
		"Available":   `True AvailableReason "Rollout has minimum availability"`,
		"Healthy":     `True RolloutHealthy "Rollout is healthy"`,
		"Completed":   `True RolloutCompleted "RolloutCompleted"`,
	})
}

// wantArgoStatus waits until the rollout's phase, message and conditions (as
// "status reason quoted-message" by type, all of them) are those given.
func wantArgoStatus(t *testing.T, ns, app, phase, message string, conds map[string]string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("phase %s %q and conditions %v", phase, message, conds), func(ctx context.Context) (bool, string, error) {
		r, err := getRollout(ctx, t, ns, app)
		if err != nil {
			return false, "", err
		}
		got := map[string]string{}
		for _, c := range r.Status.Conditions {
			got[string(c.Type)] = fmt.Sprintf("%s %s %q", c.Status, c.Reason, c.Message)
		}
		state := fmt.Sprintf("phase %s %q conditions %v", r.Status.Phase, r.Status.Message, got)
		return string(r.Status.Phase) == phase && r.Status.Message == message && fmt.Sprint(got) == fmt.Sprint(conds), state, nil
	})
}

func assertReplicas(t *testing.T, ns, app string, want map[string]int32) {
	t.Helper()
	eventually(t, 30*time.Second, "ReplicaSet spec.replicas "+fmt.Sprint(want), func(ctx context.Context) (bool, string, error) {
		sets, err := replicaSetsByHash(ctx, ns, app)
		if err != nil {
			return false, "", err
		}
		got := map[string]int32{}
		for h, rs := range sets {
			got[h] = ptr.Deref(rs.Spec.Replicas, 1)
		}
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got), nil
	})
}

// TestCRDPreservesUnsupportedFields checks on the real API server that the
// CRD keeps fields roost does not support (so the reconciler can name them
// in InvalidSpec instead of them vanishing) and serves the scale subresource.
func TestCRDPreservesUnsupportedFields(t *testing.T) {
	ns := env.NewNamespace(t)
	ctx := context.Background()
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Rollout",
		"metadata":   map[string]interface{}{"name": "traffic", "namespace": ns},
		"spec": map[string]interface{}{
			"replicas": int64(3),
			"selector": map[string]interface{}{"matchLabels": map[string]interface{}{"app": "traffic"}},
			"template": map[string]interface{}{
				"metadata": map[string]interface{}{"labels": map[string]interface{}{"app": "traffic"}},
				"spec": map[string]interface{}{
					"containers":     []interface{}{map[string]interface{}{"name": "app", "image": "registry.example/app:v1"}},
					"futurePodField": "kept",
				},
			},
			"workloadRef": map[string]interface{}{"kind": "Deployment", "name": "x"},
			"strategy": map[string]interface{}{
				"blueGreen": map[string]interface{}{"activeService": "a"},
				"canary": map[string]interface{}{
					"trafficRouting": map[string]interface{}{"nginx": map[string]interface{}{"stableIngress": "shop"}},
					"steps": []interface{}{
						map[string]interface{}{"setWeight": int64(20)},
						map[string]interface{}{"experiment": map[string]interface{}{"duration": "1h"}},
						map[string]interface{}{"pause": map[string]interface{}{"duration": "10s", "untilApproved": true}},
					},
				},
			},
		},
	}}
	client := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns)
	if _, err := client.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create rollout with unsupported fields: %v", err)
	}
	got, err := client.Get(ctx, "traffic", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"spec", "workloadRef", "name"},
		{"spec", "strategy", "blueGreen", "activeService"},
		{"spec", "strategy", "canary", "trafficRouting", "nginx", "stableIngress"},
		{"spec", "template", "spec", "futurePodField"},
	} {
		if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, path...); !found {
			t.Errorf("the API server pruned %s; roost could not report it as unsupported", strings.Join(path, "."))
		}
	}
	steps, _, _ := unstructured.NestedSlice(got.Object, "spec", "strategy", "canary", "steps")
	if len(steps) != 3 {
		t.Fatalf("steps = %v, want 3", steps)
	}
	if _, ok := steps[1].(map[string]interface{})["experiment"]; !ok {
		t.Errorf("the API server pruned the experiment step: %v", steps[1])
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(steps[2].(map[string]interface{}), "pause", "untilApproved"); !found {
		t.Errorf("the API server pruned pause.untilApproved: %v", steps[2])
	}
	_, errs := v1alpha1.FromUnstructured(got)
	if len(errs) == 0 {
		t.Errorf("FromUnstructured accepted a rollout with trafficRouting, blueGreen, workloadRef and an experiment step")
	}
	for _, want := range []string{"trafficRouting", "blueGreen", "workloadRef", "experiment"} {
		if !strings.Contains(errs.ToAggregate().Error(), want) {
			t.Errorf("decode errors %q do not name %s", errs.ToAggregate().Error(), want)
		}
	}

	// The scale subresource reads spec.replicas, as `kubectl scale` and an
	// HPA do.
	scale, err := client.Get(ctx, "traffic", metav1.GetOptions{}, "scale")
	if err != nil {
		t.Fatalf("get scale subresource: %v", err)
	}
	if n, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas"); n != 3 {
		t.Errorf("scale spec.replicas = %d, want 3", n)
	}

	// The status subresource is enforced: a status in a main-resource update
	// is ignored.
	_ = unstructured.SetNestedField(got.Object, "Healthy", "status", "phase")
	updated, err := client.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update rollout: %v", err)
	}
	if phase, found, _ := unstructured.NestedString(updated.Object, "status", "phase"); found {
		t.Errorf("status.phase = %q written through the main resource; the status subresource is not enabled", phase)
	}
}
