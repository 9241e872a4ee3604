package actions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// testRollout is a rollout of 4 steps; mutate adjusts its object before the
// clients are built.
func testRollout(mutate func(obj map[string]any)) *unstructured.Unstructured {
	obj := map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Rollout",
		"metadata":   map[string]any{"name": "checkout", "namespace": "shop", "uid": "ro-uid", "resourceVersion": "7"},
		"spec": map[string]any{
			"replicas": int64(10),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "checkout"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "checkout"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "checkout:2"}}},
			},
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(20)},
				map[string]any{"pause": map[string]any{}},
				map[string]any{"setWeight": int64(50)},
				map[string]any{"pause": map[string]any{"duration": "30s"}},
			}}},
		},
		"status": map[string]any{
			"currentStepIndex": int64(1),
			"currentPodHash":   "canaryhash",
			"stableRS":         "stablehash",
		},
	}
	if mutate != nil {
		mutate(obj)
	}
	return &unstructured.Unstructured{Object: obj}
}

func status(obj map[string]any) map[string]any { return obj["status"].(map[string]any) }
func spec(obj map[string]any) map[string]any   { return obj["spec"].(map[string]any) }

type fixture struct {
	dyn   *dynfake.FakeDynamicClient
	kube  *kubefake.Clientset
	act   *Actions
	clock *clocktesting.FakeClock
}

func newFixture(t *testing.T, rollouts []*unstructured.Unstructured, kubeObjs ...runtime.Object) *fixture {
	t.Helper()
	objs := make([]runtime.Object, len(rollouts))
	for i, r := range rollouts {
		objs[i] = r
	}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.RolloutGVR: "RolloutList"}, objs...)
	kube := kubefake.NewClientset(kubeObjs...)
	clk := clocktesting.NewFakeClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	return &fixture{dyn: dyn, kube: kube, clock: clk, act: NewActions(dyn, kube, "alice@example.com").WithClock(clk)}
}

type sentPatch struct {
	pt          types.PatchType
	subresource string
	body        string
}

// patches lists the patches the dynamic client received, in order.
func (f *fixture) patches() []sentPatch {
	var out []sentPatch
	for _, a := range f.dyn.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			out = append(out, sentPatch{p.GetPatchType(), p.GetSubresource(), string(p.GetPatch())})
		}
	}
	return out
}

func (f *fixture) events(t *testing.T) []corev1.Event {
	t.Helper()
	l, err := f.kube.CoreV1().Events("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func (f *fixture) rollout(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	u, err := f.dyn.Resource(v1alpha1.RolloutGVR).Namespace("shop").Get(context.Background(), "checkout", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestActionPatches(t *testing.T) {
	merge := types.MergePatchType
	tests := []struct {
		name    string
		mutate  func(obj map[string]any)
		do      func(a *Actions) (Result, error)
		want    []sentPatch
		summary string
		reason  string // Event reason; "" when nothing is recorded
		message string
	}{{
		name: "promote at a pause releases it",
		mutate: func(o map[string]any) {
			status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
			status(o)["controllerPause"] = true
		},
		do:      func(a *Actions) (Result, error) { return a.Promote(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "status", `{"status":{"pauseConditions":null}}`}},
		summary: "promoted: pause at step 2/4 released",
		reason:  EventPromoted, message: "promoted by alice@example.com: pause at step 2/4 released",
	}, {
		name: "promote at a pause of a manually paused rollout also unpauses the spec",
		mutate: func(o map[string]any) {
			status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
			spec(o)["paused"] = true
		},
		do: func(a *Actions) (Result, error) { return a.Promote(context.Background(), "shop", "checkout") },
		want: []sentPatch{
			{merge, "status", `{"status":{"pauseConditions":null}}`},
			{merge, "", `{"spec":{"paused":false}}`},
		},
		summary: "promoted: pause at step 2/4 released, manual pause lifted",
		reason:  EventPromoted,
	}, {
		name:    "promote with no pause skips to the next step",
		mutate:  func(o map[string]any) { status(o)["currentStepIndex"] = int64(2) },
		do:      func(a *Actions) (Result, error) { return a.Promote(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "status", `{"status":{"controllerPause":false,"currentStepIndex":3,"pauseConditions":null}}`}},
		summary: "promoted: step 3/4 skipped, now at step 4/4",
		reason:  EventPromoted,
	}, {
		name:    "promote at the last step is capped at len(steps)",
		mutate:  func(o map[string]any) { status(o)["currentStepIndex"] = int64(3) },
		do:      func(a *Actions) (Result, error) { return a.Promote(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "status", `{"status":{"controllerPause":false,"currentStepIndex":4,"pauseConditions":null}}`}},
		summary: "promoted: step 4/4 skipped, all steps done",
		reason:  EventPromoted,
	}, {
		name: "promote of a healthy rollout is skipped",
		mutate: func(o map[string]any) {
			status(o)["currentStepIndex"] = int64(4)
			status(o)["stableRS"] = "canaryhash"
		},
		do:      func(a *Actions) (Result, error) { return a.Promote(context.Background(), "shop", "checkout") },
		summary: "skipped: already fully promoted",
	}, {
		name:    "promote full",
		do:      func(a *Actions) (Result, error) { return a.PromoteFull(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "status", `{"status":{"promoteFull":true}}`}},
		summary: "fully promoted: remaining steps skipped",
		reason:  EventPromotedFull, message: "fully promoted by alice@example.com: remaining steps skipped",
	}, {
		name:   "promote full of a paused rollout unpauses it",
		mutate: func(o map[string]any) { spec(o)["paused"] = true },
		do:     func(a *Actions) (Result, error) { return a.PromoteFull(context.Background(), "shop", "checkout") },
		want: []sentPatch{
			{merge, "status", `{"status":{"promoteFull":true}}`},
			{merge, "", `{"spec":{"paused":false}}`},
		},
		summary: "fully promoted: remaining steps skipped",
		reason:  EventPromotedFull,
	}, {
		name:    "promote full when stable is current sends nothing",
		mutate:  func(o map[string]any) { status(o)["stableRS"] = "canaryhash" },
		do:      func(a *Actions) (Result, error) { return a.PromoteFull(context.Background(), "shop", "checkout") },
		summary: "skipped: already fully promoted",
	}, {
		name: "abort with a reason annotates first",
		do: func(a *Actions) (Result, error) {
			return a.Abort(context.Background(), "shop", "checkout", "p99 latency 3x stable")
		},
		want: []sentPatch{
			{merge, "", `{"metadata":{"annotations":{"rollouts.roost.dev/abort-reason":"p99 latency 3x stable"}}}`},
			{merge, "status", `{"status":{"abort":true}}`},
		},
		summary: "aborted: canary scaling to 0, stable to all replicas (reason: p99 latency 3x stable)",
		reason:  EventAborted, message: "aborted by alice@example.com: p99 latency 3x stable",
	}, {
		name:    "abort without a reason sends only the status",
		do:      func(a *Actions) (Result, error) { return a.Abort(context.Background(), "shop", "checkout", "") },
		want:    []sentPatch{{merge, "status", `{"status":{"abort":true}}`}},
		summary: "aborted: canary scaling to 0, stable to all replicas",
		reason:  EventAborted, message: "aborted by alice@example.com",
	}, {
		name: "abort without a reason removes an old reason",
		mutate: func(o map[string]any) {
			o["metadata"].(map[string]any)["annotations"] = map[string]any{v1alpha1.AbortReasonAnnotation: "old"}
		},
		do: func(a *Actions) (Result, error) { return a.Abort(context.Background(), "shop", "checkout", " ") },
		want: []sentPatch{
			{merge, "", `{"metadata":{"annotations":{"rollouts.roost.dev/abort-reason":null}}}`},
			{merge, "status", `{"status":{"abort":true}}`},
		},
		summary: "aborted: canary scaling to 0, stable to all replicas",
		reason:  EventAborted,
	}, {
		name:    "abort of an aborted rollout is skipped",
		mutate:  func(o map[string]any) { status(o)["abort"] = true },
		do:      func(a *Actions) (Result, error) { return a.Abort(context.Background(), "shop", "checkout", "x") },
		summary: "skipped: already aborted",
	}, {
		name:    "retry",
		mutate:  func(o map[string]any) { status(o)["abort"] = true },
		do:      func(a *Actions) (Result, error) { return a.Retry(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "status", `{"status":{"abort":false}}`}},
		summary: "retried: restarting from step 1",
		reason:  EventRetried, message: "retried by alice@example.com",
	}, {
		name: "retry clears the abort reason",
		mutate: func(o map[string]any) {
			status(o)["abort"] = true
			o["metadata"].(map[string]any)["annotations"] = map[string]any{v1alpha1.AbortReasonAnnotation: "bad"}
		},
		do: func(a *Actions) (Result, error) { return a.Retry(context.Background(), "shop", "checkout") },
		want: []sentPatch{
			{merge, "status", `{"status":{"abort":false}}`},
			{merge, "", `{"metadata":{"annotations":{"rollouts.roost.dev/abort-reason":null}}}`},
		},
		summary: "retried: restarting from step 1",
		reason:  EventRetried,
	}, {
		name:    "retry of a rollout that is not aborted is skipped",
		do:      func(a *Actions) (Result, error) { return a.Retry(context.Background(), "shop", "checkout") },
		summary: "skipped: not aborted; nothing to retry",
	}, {
		name:    "pause",
		do:      func(a *Actions) (Result, error) { return a.Pause(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "", `{"spec":{"paused":true}}`}},
		summary: "paused: holding at the current step until `roost resume`",
		reason:  EventPaused, message: "paused by alice@example.com",
	}, {
		name:    "resume",
		mutate:  func(o map[string]any) { spec(o)["paused"] = true },
		do:      func(a *Actions) (Result, error) { return a.Resume(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "", `{"spec":{"paused":false}}`}},
		summary: "resumed: manual pause lifted",
		reason:  EventResumed, message: "resumed by alice@example.com",
	}, {
		name: "resume at a pause step points to promote",
		mutate: func(o map[string]any) {
			status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
		},
		do:      func(a *Actions) (Result, error) { return a.Resume(context.Background(), "shop", "checkout") },
		summary: "skipped: not manually paused; it waits at a pause step: release it with `roost promote checkout -n shop`",
	}, {
		name:    "restart",
		do:      func(a *Actions) (Result, error) { return a.Restart(context.Background(), "shop", "checkout") },
		want:    []sentPatch{{merge, "", `{"spec":{"restartAt":"2026-03-04T05:06:07Z"}}`}},
		summary: "restart requested at 2026-03-04T05:06:07Z: pods are replaced one by one",
		reason:  EventRestarted, message: "restart requested by alice@example.com",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []*unstructured.Unstructured{testRollout(tt.mutate)})
			res, err := tt.do(f.act)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if res.String() != tt.summary {
				t.Errorf("summary = %q, want %q", res.String(), tt.summary)
			}
			if res.Skipped != (tt.want == nil) {
				t.Errorf("Skipped = %v with %d patches expected", res.Skipped, len(tt.want))
			}
			got := f.patches()
			if len(got) != len(tt.want) {
				t.Fatalf("patches = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("patch %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			evs := f.events(t)
			if tt.reason == "" {
				if len(evs) != 0 {
					t.Errorf("a skipped action recorded %d events", len(evs))
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("recorded %d events, want 1", len(evs))
			}
			ev := evs[0]
			if ev.Reason != tt.reason || ev.InvolvedObject.Kind != "Rollout" || ev.InvolvedObject.Name != "checkout" ||
				ev.InvolvedObject.UID != "ro-uid" || ev.Annotations[ActorAnnotation] != "alice@example.com" || ev.Type != corev1.EventTypeNormal {
				t.Errorf("event = %+v", ev)
			}
			if tt.message != "" && ev.Message != tt.message {
				t.Errorf("event message = %q, want %q", ev.Message, tt.message)
			}
		})
	}
}

func TestPromoteAbortedRolloutIsRefused(t *testing.T) {
	f := newFixture(t, []*unstructured.Unstructured{testRollout(func(o map[string]any) { status(o)["abort"] = true })})
	_, err := f.act.Promote(context.Background(), "shop", "checkout")
	want := "rollout shop/checkout is aborted; retry it first with `roost retry checkout -n shop`"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if p := f.patches(); len(p) != 0 {
		t.Errorf("sent %v", p)
	}
}

func TestStatusSubresourceNotFoundFallsBackToOnePatch(t *testing.T) {
	f := newFixture(t, []*unstructured.Unstructured{testRollout(func(o map[string]any) {
		status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
		spec(o)["paused"] = true
	})})
	f.dyn.PrependReactor("patch", "rollouts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}, "checkout")
		}
		return false, nil, nil
	})
	res, err := f.act.Promote(context.Background(), "shop", "checkout")
	if err != nil {
		t.Fatal(err)
	}
	want := []sentPatch{
		{types.MergePatchType, "status", `{"status":{"pauseConditions":null}}`},
		{types.MergePatchType, "", `{"spec":{"paused":false},"status":{"pauseConditions":null}}`},
	}
	got := f.patches()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("patches = %+v, want %+v", got, want)
	}
	if res.Skipped {
		t.Error("promote reported skipped")
	}
	// The fallback reached the object: the main resource carries both fields.
	u := f.rollout(t)
	if p, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); p {
		t.Error("spec.paused still true")
	}
	if _, found, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions"); found {
		t.Error("pauseConditions still set")
	}
}

func replicaSet(name string, revision string, image string, owner types.UID) *appsv1.ReplicaSet {
	yes := true
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop",
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: revision},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "checkout", UID: owner, Controller: &yes}},
		},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "checkout", v1alpha1.DefaultRolloutUniqueLabelKey: name[len("checkout-"):]}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
		}},
	}
}

// withEphemeral gives rs the role label the reconciler injects from stableMetadata.
func withEphemeral(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	rs.Annotations[v1alpha1.EphemeralMetadataAnnotation] = `{"labels":{"role":"stable"},"annotations":{"team":"pay"}}`
	rs.Spec.Template.Labels["role"] = "stable"
	rs.Spec.Template.Annotations = map[string]string{"team": "pay", "kept": "yes"}
	return rs
}

func TestUndo(t *testing.T) {
	rss := []runtime.Object{
		replicaSet("checkout-aaa", "1", "checkout:1", "ro-uid"),
		withEphemeral(replicaSet("checkout-bbb", "2", "checkout:2", "ro-uid")),
		replicaSet("checkout-ccc", "3", "checkout:3", "ro-uid"),
		replicaSet("checkout-zzz", "9", "other:9", "someone-else"),
	}
	tests := []struct {
		name    string
		to      int64
		image   string
		summary string
		err     string
	}{
		{name: "previous", to: 0, image: "checkout:2", summary: "rolled back to the template of revision 2 (ReplicaSet checkout-bbb); a new canary starts"},
		{name: "explicit", to: 1, image: "checkout:1", summary: "rolled back to the template of revision 1 (ReplicaSet checkout-aaa); a new canary starts"},
		{name: "current", to: 3, summary: "skipped: revision 3 is already the current one"},
		{name: "missing", to: 9, err: "rollout shop/checkout has no revision 9; it has revisions 3, 2, 1"},
		{name: "negative", to: -1, err: "rollout shop/checkout: revision -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []*unstructured.Unstructured{testRollout(nil)}, rss...)
			res, err := f.act.Undo(context.Background(), "shop", "checkout", tt.to)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.String() != tt.summary {
				t.Errorf("summary = %q, want %q", res, tt.summary)
			}
			got := f.patches()
			if tt.image == "" {
				if len(got) != 0 {
					t.Fatalf("sent %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].pt != types.JSONPatchType || got[0].subresource != "" {
				t.Fatalf("patches = %+v, want one JSON patch on the main resource", got)
			}
			var ops []struct {
				Op    string                 `json:"op"`
				Path  string                 `json:"path"`
				Value corev1.PodTemplateSpec `json:"value"`
			}
			if err := json.Unmarshal([]byte(got[0].body), &ops); err != nil {
				t.Fatal(err)
			}
			if len(ops) != 1 || ops[0].Op != "replace" || ops[0].Path != "/spec/template" {
				t.Fatalf("ops = %+v", ops)
			}
			v := ops[0].Value
			if img := v.Spec.Containers[0].Image; img != tt.image {
				t.Errorf("image = %q, want %q", img, tt.image)
			}
			if _, ok := v.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
				t.Errorf("template keeps the pod-template-hash label: %v", v.Labels)
			}
			if len(v.Labels) != 1 || v.Labels["app"] != "checkout" {
				t.Errorf("labels = %v, want only app (no injected role)", v.Labels)
			}
			if tt.to == 0 && (len(v.Annotations) != 1 || v.Annotations["kept"] != "yes") {
				t.Errorf("annotations = %v, want only the template's own", v.Annotations)
			}
			img, _, _ := unstructured.NestedSlice(f.rollout(t).Object, "spec", "template", "spec", "containers")
			if img[0].(map[string]any)["image"] != tt.image {
				t.Errorf("rollout template after undo = %v", img)
			}
			if evs := f.events(t); len(evs) != 1 || evs[0].Reason != EventUndone || !strings.Contains(evs[0].Message, "by alice@example.com") {
				t.Errorf("events = %+v", evs)
			}
		})
	}
}

func TestNotFoundErrors(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.act.Promote(context.Background(), "shop", "nope")
	want := "rollout nope not found in namespace shop; list rollouts with `roost get -A`"
	if err == nil || err.Error() != want {
		t.Errorf("missing rollout: err = %v, want %q", err, want)
	}
	f.dyn.PrependReactor("get", "rollouts", func(k8stesting.Action) (bool, runtime.Object, error) {
		// A cluster without the CRD answers 404 without naming an object.
		return true, nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 404, Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource"}}
	})
	_, err = f.act.Abort(context.Background(), "shop", "checkout", "")
	if err == nil || !strings.Contains(err.Error(), "install the CRD with `roost install`") {
		t.Errorf("missing CRD: err = %v", err)
	}
}

func TestForEachReportsEveryRollout(t *testing.T) {
	other := testRollout(func(o map[string]any) {
		o["metadata"].(map[string]any)["name"] = "cart"
		status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
	})
	first := testRollout(func(o map[string]any) {
		status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
	})
	f := newFixture(t, []*unstructured.Unstructured{first, other})
	targets := []Target{{"shop", "checkout"}, {"shop", "missing"}, {"shop", "cart"}}
	out := f.act.ForEach(context.Background(), targets, f.act.Promote)
	if len(out) != 3 {
		t.Fatalf("outcomes = %+v", out)
	}
	for i, o := range out {
		if o.Target != targets[i] {
			t.Errorf("outcome %d is for %v, want %v", i, o.Target, targets[i])
		}
	}
	if out[0].Err != nil || out[2].Err != nil {
		t.Errorf("good rollouts failed: %v, %v", out[0].Err, out[2].Err)
	}
	if out[1].Err == nil || !strings.Contains(out[1].Err.Error(), "rollout missing not found in namespace shop") {
		t.Errorf("missing rollout: %v", out[1].Err)
	}
	if n := len(f.events(t)); n != 2 {
		t.Errorf("recorded %d events, want 2", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out = f.act.ForEach(ctx, targets[:1], f.act.Promote)
	if len(out) != 1 || !errors.Is(out[0].Err, context.Canceled) {
		t.Errorf("cancelled batch: %+v", out)
	}
}

func TestEventFailureIsAWarning(t *testing.T) {
	f := newFixture(t, []*unstructured.Unstructured{testRollout(nil)})
	f.kube.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New("no RBAC"))
	})
	res, err := f.act.Pause(context.Background(), "shop", "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || !strings.Contains(res.Warning, "event not recorded") {
		t.Errorf("result = %+v", res)
	}
}

func TestWhoAmI(t *testing.T) {
	kube := kubefake.NewClientset()
	if got := WhoAmI(context.Background(), kube, "kubeconfig-user"); got != "kubeconfig-user" {
		t.Errorf("empty review: got %q", got)
	}
	kube.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: "alice@example.com"}}}, nil
	})
	if got := WhoAmI(context.Background(), kube, "kubeconfig-user"); got != "alice@example.com" {
		t.Errorf("review: got %q", got)
	}
	denied := kubefake.NewClientset()
	denied.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}, "", errors.New("denied"))
	})
	if got := WhoAmI(context.Background(), denied, "kubeconfig-user"); got != "kubeconfig-user" {
		t.Errorf("denied review: got %q", got)
	}
}

// Promoting a canary held on an Inconclusive analysis step sends what
// `kubectl argo rollouts promote` sends: the pause released and the step
// skipped, so that either controller goes on from the next step.
func TestPromoteInconclusiveAnalysisStep(t *testing.T) {
	f := newFixture(t, []*unstructured.Unstructured{testRollout(func(o map[string]any) {
		status(o)["pauseConditions"] = []any{map[string]any{"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-04T05:00:00Z"}}
		status(o)["controllerPause"] = true
		status(o)["currentStepIndex"] = int64(1)
		status(o)["canary"] = map[string]any{"currentStepAnalysisRunStatus": map[string]any{"name": "checkout-abc-2-1", "status": "Inconclusive"}}
	})})
	res, err := f.act.Promote(context.Background(), "shop", "checkout")
	if err != nil {
		t.Fatal(err)
	}
	got := f.patches()
	want := sentPatch{types.MergePatchType, "status", `{"status":{"controllerPause":false,"currentStepIndex":2,"pauseConditions":null}}`}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("patches = %+v, want %+v", got, want)
	}
	if !strings.Contains(res.Summary, "Inconclusive analysis at step 2/") {
		t.Errorf("result %q does not say the Inconclusive analysis was accepted", res.Summary)
	}
}
