//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// invalidSpecCondition reads the InvalidSpec condition from the raw object:
// an invalid rollout may not decode into the typed Rollout at all.
func invalidSpecCondition(u *unstructured.Unstructured) (status, message string, found bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != string(v1alpha1.InvalidSpec) {
			continue
		}
		status, _ = m["status"].(string)
		message, _ = m["message"].(string)
		return status, message, true
	}
	return "", "", false
}

// replicaSetFingerprint lists the ReplicaSets selected by app=name with their
// resourceVersion and generation: any write to one changes it.
func replicaSetFingerprint(ctx context.Context, ns, name string) (string, error) {
	list, err := env.Client().AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return "", err
	}
	var parts []string
	for _, rs := range list.Items {
		parts = append(parts, fmt.Sprintf("%s@rv%s/gen%d", rs.Name, rs.ResourceVersion, rs.Generation))
	}
	sort.Strings(parts)
	return strings.Join(parts, " "), nil
}

// rsEvent is one change to a ReplicaSet as a watch delivered it.
type rsEvent struct {
	kind watch.EventType
	app  string
	name string
	rv   string
	at   time.Time
}

// recordReplicaSetEvents watches every ReplicaSet of ns from now until the
// test ends; the returned function lists what was seen so far. Unlike
// polling, it also catches a ReplicaSet created and deleted in between.
func recordReplicaSetEvents(t *testing.T, ns string) func() []rsEvent {
	t.Helper()
	rsClient := env.Client().AppsV1().ReplicaSets(ns)
	list, err := rsClient.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list ReplicaSets in %s: %v", ns, err)
	}
	if len(list.Items) > 0 {
		t.Fatalf("namespace %s already has %d ReplicaSets", ns, len(list.Items))
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return rsClient.Watch(ctx, o)
		},
	})
	if err != nil {
		cancel()
		t.Fatalf("watch ReplicaSets in %s: %v", ns, err)
	}
	var mu sync.Mutex
	var seen []rsEvent
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if rs, ok := ev.Object.(*appsv1.ReplicaSet); ok {
				mu.Lock()
				seen = append(seen, rsEvent{ev.Type, rs.Labels["app"], rs.Name, rs.ResourceVersion, time.Now()})
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		w.Stop()
		<-done
	})
	return func() []rsEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]rsEvent(nil), seen...)
	}
}

// TestInvalidRolloutsNeverTouchReplicaSets creates Rollouts that roost must
// refuse on the real API server: each gets condition InvalidSpec naming the
// field and no ReplicaSet is created; one made invalid after it ran keeps
// its ReplicaSet untouched even though its template changed too; a valid
// rollout in the same namespace still completes a canary.
func TestInvalidRolloutsNeverTouchReplicaSets(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	ctx := context.Background()
	client := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns)
	rsEvents := recordReplicaSetEvents(t, ns)

	// raw builds a valid 2-replica rollout as an unstructured object, for
	// each case to break in its own way.
	raw := func(name string) *unstructured.Unstructured {
		u, err := v1alpha1.ToUnstructured(roleCanary(ns, name, 2, rollouttest.SetWeight(50), rollouttest.PauseFor("1s")))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	set := func(u *unstructured.Unstructured, value any, path ...string) {
		if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
			t.Fatalf("set %s: %v", strings.Join(path, "."), err)
		}
	}
	canary := []string{"spec", "strategy", "canary"}
	cases := []struct {
		name  string
		field string // the message must name it
		spoil func(u *unstructured.Unstructured)
	}{
		{"weight-150", "setWeight", func(u *unstructured.Unstructured) {
			set(u, []any{map[string]any{"setWeight": int64(150)}}, append(canary, "steps")...)
		}},
		{"traffic-routing", "trafficRouting", func(u *unstructured.Unstructured) {
			set(u, map[string]any{"nginx": map[string]any{"stableIngress": "shop"}}, append(canary, "trafficRouting")...)
		}},
		{"no-surge-no-unavailable", "spec.strategy.maxSurge: Invalid value: 0: MaxSurge and MaxUnavailable both can not be zero", func(u *unstructured.Unstructured) {
			set(u, int64(0), append(canary, "maxSurge")...)
			set(u, int64(0), append(canary, "maxUnavailable")...)
		}},
		{"selector-mismatch", "spec.template.metadata.labels: Invalid value: {\"app\":\"selector-mismatch\"}: `selector` does not match template `labels`", func(u *unstructured.Unstructured) {
			set(u, map[string]any{"app": "someone-else"}, "spec", "selector", "matchLabels")
		}},
		{"experiment-step", "experiment", func(u *unstructured.Unstructured) {
			set(u, []any{
				map[string]any{"setWeight": int64(20)},
				map[string]any{"experiment": map[string]any{"duration": "1h", "templates": []any{map[string]any{"name": "baseline", "specRef": "stable"}}}},
			}, append(canary, "steps")...)
		}},
	}
	for _, c := range cases {
		u := raw(c.name)
		c.spoil(u)
		if _, err := client.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create rollout %s: %v", c.name, err)
		}
	}

	// One rollout runs first, then gets a new image and a weight of 150 in
	// one edit: the reconciler must neither start a canary nor scale.
	createRollout(t, roleCanary(ns, "turned-invalid", 2, rollouttest.SetWeight(50), rollouttest.PauseFor("1s")))
	createRollout(t, roleCanary(ns, "valid", 2, rollouttest.SetWeight(50), rollouttest.PauseFor("1s")))
	before := awaitRollout(t, ns, "turned-invalid", 60*time.Second, "first revision Healthy", healthy)
	awaitPods(t, ns, "turned-invalid", "2 stable pods", map[string]int{before.Status.StableRS + "/stable": 2}, map[string]int32{before.Status.StableRS: 2})
	fingerprint, err := replicaSetFingerprint(ctx, ns, "turned-invalid")
	if err != nil {
		t.Fatal(err)
	}
	patchedAt := time.Now()
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/turned-invalid:v2"}]}},"strategy":{"canary":{"steps":[{"setWeight":150}]}}}}`
	if _, err := client.Patch(ctx, "turned-invalid", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("make turned-invalid invalid: %v", err)
	}
	cases = append(cases, struct {
		name  string
		field string
		spoil func(u *unstructured.Unstructured)
	}{name: "turned-invalid", field: "setWeight"})

	for _, c := range cases {
		poll(t, 30*time.Second, fmt.Sprintf("rollout %s/%s: condition InvalidSpec naming %s", ns, c.name, c.field), func(ctx context.Context) (bool, string, error) {
			u, err := client.Get(ctx, c.name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			status, msg, found := invalidSpecCondition(u)
			phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
			phaseMsg, _, _ := unstructured.NestedString(u.Object, "status", "message")
			observedGen, _, _ := unstructured.NestedString(u.Object, "status", "observedGeneration")
			ok := found && status == "True" && strings.Contains(msg, c.field) &&
				phase == string(v1alpha1.PhaseDegraded) && phaseMsg == "InvalidSpec: "+msg && observedGen == fmt.Sprint(u.GetGeneration())
			return ok, fmt.Sprintf("InvalidSpec found=%t status=%q message=%q phase=%q status.message=%q observedGeneration=%q generation=%d", found, status, msg, phase, phaseMsg, observedGen, u.GetGeneration()), nil
		})
	}

	// The valid rollout next door is not held up: it completes a canary.
	v1 := awaitRollout(t, ns, "valid", 60*time.Second, "first revision Healthy", healthy).Status.StableRS
	setImage(t, ns, "valid", "registry.example/valid:v2")
	done := awaitRollout(t, ns, "valid", 60*time.Second, "canary of v2 completed", func(r *v1alpha1.Rollout) bool {
		return healthy(r) && r.Status.StableRS == r.Status.CurrentPodHash && r.Status.CurrentPodHash != v1
	})
	awaitPods(t, ns, "valid", "2 v2 pods labelled stable", map[string]int{done.Status.StableRS + "/stable": 2}, map[string]int32{v1: 0, done.Status.StableRS: 2})

	// Over a few seconds (the reconciler has handled every rollout by now,
	// and resyncs and pod events keep it busy), nothing is written.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range cases[:len(cases)-1] {
			u, err := client.Get(ctx, c.name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			owned, err := ownedReplicaSets(ctx, ns, u.GetUID())
			if err != nil {
				t.Fatal(err)
			}
			byLabel, err := replicaSetFingerprint(ctx, ns, c.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(owned) > 0 || byLabel != "" {
				t.Fatalf("invalid rollout %s has ReplicaSets: owned %d, labelled app=%s: %s", c.name, len(owned), c.name, byLabel)
			}
		}
		now, err := replicaSetFingerprint(ctx, ns, "turned-invalid")
		if err != nil {
			t.Fatal(err)
		}
		if now != fingerprint {
			t.Fatalf("rollout turned-invalid has an invalid spec, yet its ReplicaSets changed: before %s, now %s", fingerprint, now)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The watch saw every ReplicaSet change since the namespace was empty.
	invalid := map[string]bool{}
	for _, c := range cases[:len(cases)-1] {
		invalid[c.name] = true
	}
	for _, ev := range rsEvents() {
		switch {
		case invalid[ev.app]:
			t.Errorf("invalid rollout %s: ReplicaSet %s %s (resourceVersion %s)", ev.app, ev.name, ev.kind, ev.rv)
		case ev.app == "turned-invalid" && ev.at.After(patchedAt):
			t.Errorf("rollout turned-invalid: ReplicaSet %s %s (resourceVersion %s) after its spec became invalid", ev.name, ev.kind, ev.rv)
		}
	}
	awaitPods(t, ns, "turned-invalid", "still 2 stable pods of the first revision",
		map[string]int{before.Status.StableRS + "/stable": 2}, map[string]int32{before.Status.StableRS: 2})
}
