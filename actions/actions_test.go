package actions

import (
	"context"
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

// An action confirmed against one state of a rollout is not sent once the
// rollout moved on: a dialog held open while a timed pause ran out must
// not release the next pause instead.
func TestExpectRefusesARolloutThatMovedOn(t *testing.T) {
	atPause := func(o map[string]any) {
		status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
		status(o)["currentStepIndex"] = int64(3)
	}
	f := newFixture(t, []*unstructured.Unstructured{testRollout(atPause)})
	cur := readState(f.rollout(t))
	confirmed := Expect{PodHash: cur.currentPodHash, Step: 1, Steps: cur.steps, Pausing: true}
	_, err := f.act.Promote(WithExpect(context.Background(), confirmed), "shop", "checkout")
	if !errors.Is(err, ErrMovedOn) || !strings.Contains(err.Error(), "now at step 4/") || !strings.Contains(err.Error(), "you confirmed step 2/") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("err = %v; want the rollout moved on from step 2 to 4, nothing sent", err)
	}
	if p := f.patches(); len(p) != 0 {
		t.Fatalf("sent %v", p)
	}
	// The same state as confirmed: sent.
	confirmed.Step = 3
	if _, err := f.act.Promote(WithExpect(context.Background(), confirmed), "shop", "checkout"); err != nil {
		t.Fatalf("promote of the state confirmed: %v", err)
	}
	if p := f.patches(); len(p) == 0 {
		t.Fatal("nothing sent for the state confirmed")
	}
}

// Abort is bound to the canary revision alone: a canary that took a step
// or paused since the dialog opened is still aborted, one replaced by a new
// revision or already aborted is not.
func TestExpectRevisionHoldsAcrossSteps(t *testing.T) {
	atPause := func(o map[string]any) {
		status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
		status(o)["currentStepIndex"] = int64(3)
	}
	f := newFixture(t, []*unstructured.Unstructured{testRollout(atPause)})
	cur := readState(f.rollout(t))

	other := Expect{PodHash: "0ther", Step: 3, Steps: cur.steps, Pausing: true, Revision: true}
	if _, err := f.act.Abort(WithExpect(context.Background(), other), "shop", "checkout", "bad"); !errors.Is(err, ErrMovedOn) || !strings.Contains(err.Error(), "a new revision is rolling out") {
		t.Fatalf("abort of a replaced revision: err = %v; want refused", err)
	}
	if p := f.patches(); len(p) != 0 {
		t.Fatalf("sent %v", p)
	}

	earlier := Expect{PodHash: cur.currentPodHash, Step: 2, Steps: cur.steps, Revision: true}
	if _, err := f.act.Abort(WithExpect(context.Background(), earlier), "shop", "checkout", "bad"); err != nil {
		t.Fatalf("abort of the same canary one step on: %v", err)
	}
	if p := f.patches(); len(p) == 0 {
		t.Fatal("nothing sent for the same canary revision")
	}
}

func TestExpectRevisionRefusesACompletedCanary(t *testing.T) {
	ctx := WithExpect(context.Background(), Expect{PodHash: "abc", Step: 1, Steps: 4, Revision: true})
	done := int64(4)
	err := checkExpect(ctx, "shop", "cart", rolloutState{currentPodHash: "abc", stepIndex: &done, steps: 4})
	if !errors.Is(err, ErrMovedOn) || !strings.Contains(err.Error(), "completed") {
		t.Fatalf("err = %v; want refused, the canary completed", err)
	}
	step3 := int64(2)
	if err := checkExpect(ctx, "shop", "cart", rolloutState{currentPodHash: "abc", stepIndex: &step3, steps: 4, pauseConds: 1, paused: true}); err != nil {
		t.Fatalf("a step on, paused: %v; want allowed", err)
	}
}
