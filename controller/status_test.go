package controller

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestStatusMergePatch(t *testing.T) {
	old := &v1alpha1.RolloutStatus{
		CurrentStepIndex: ptr.To(int32(1)),
		PauseConditions:  []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}},
		ControllerPause:  true,
		StableRS:         "abc",
		Replicas:         4,
	}
	cur := copyStatus(old)
	cur.CurrentStepIndex = ptr.To(int32(2))
	cur.PauseConditions = nil
	cur.ControllerPause = false

	b, err := statusMergePatch(old, cur, "")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{"status": {"currentStepIndex": float64(2), "pauseConditions": nil, "controllerPause": nil}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("patch %s, want %v", b, want)
	}
	b, err = statusMergePatch(old, cur, "42")
	if err != nil {
		t.Fatal(err)
	}
	var withRV map[string]map[string]any
	if err := json.Unmarshal(b, &withRV); err != nil {
		t.Fatal(err)
	}
	if withRV["metadata"]["resourceVersion"] != "42" || !reflect.DeepEqual(withRV["status"], want["status"]) {
		t.Fatalf("patch with a precondition %s", b)
	}
	if b, _ := statusMergePatch(old, copyStatus(old), "7"); b != nil {
		t.Fatalf("no change should give no patch, got %s", b)
	}
}

func copyStatus(st *v1alpha1.RolloutStatus) *v1alpha1.RolloutStatus {
	out := &v1alpha1.RolloutStatus{}
	st.DeepCopyInto(out)
	return out
}

func TestSetCondition(t *testing.T) {
	st := &v1alpha1.RolloutStatus{}
	c := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: "R", Message: "m"}
	setCondition(st, c, t0, false)
	t1 := t0.Add(time.Minute)
	setCondition(st, c, t1, false)
	got := getCondition(st, v1alpha1.RolloutProgressing)
	if !got.LastUpdateTime.Time.Equal(t0) || !got.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("unchanged condition moved its times: %+v", got)
	}
	setCondition(st, c, t1, true)
	if got := getCondition(st, v1alpha1.RolloutProgressing); !got.LastUpdateTime.Time.Equal(t1) || !got.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("touch: %+v", got)
	}
	c.Status = corev1.ConditionFalse
	t2 := t1.Add(time.Minute)
	setCondition(st, c, t2, false)
	if got := getCondition(st, v1alpha1.RolloutProgressing); !got.LastTransitionTime.Time.Equal(t2) || len(st.Conditions) != 1 {
		t.Fatalf("transition: %+v", st.Conditions)
	}
	removeCondition(st, v1alpha1.RolloutProgressing)
	if st.Conditions != nil {
		t.Fatalf("remove: %+v", st.Conditions)
	}
}

// TestStatusWrittenOnceAsMergePatch checks that a sync writes the status with a
// single merge patch to the status subresource, and nothing when nothing changed.
func TestStatusWrittenOnceAsMergePatch(t *testing.T) {
	h := newHarness(t)
	h.create(newRollout("cart", 2, setWeight(50)))
	h.clearActions()
	h.sync("cart")
	var patches []k8stesting.PatchAction
	for _, a := range h.dyn.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			patches = append(patches, p)
		}
	}
	if len(patches) != 1 || patches[0].GetSubresource() != "status" || string(patches[0].GetPatchType()) != "application/merge-patch+json" {
		t.Fatalf("status writes: %+v", patches)
	}
	var body map[string]any
	if err := json.Unmarshal(patches[0].GetPatch(), &body); err != nil || len(body) != 1 || body["status"] == nil {
		t.Fatalf("patch %s should hold status only", patches[0].GetPatch())
	}
	h.settle("cart")
	h.clearActions()
	h.sync("cart")
	if n := h.writes(); n != 0 {
		t.Fatalf("a sync with nothing to do wrote %d times: %v", n, h.dyn.Actions())
	}
	r := h.get("cart")
	for _, ct := range []v1alpha1.RolloutConditionType{v1alpha1.RolloutProgressing, v1alpha1.RolloutAvailable, v1alpha1.RolloutHealthy, v1alpha1.RolloutCompleted} {
		if c := conditionOf(r, ct); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s: %+v", ct, c)
		}
	}
	if r.Status.HPAReplicas != 2 || r.Status.CurrentStepHash != v1alpha1.StepHash(r.Spec.Strategy.Canary.Steps) {
		t.Fatalf("status %+v", r.Status)
	}
}

// A nested object is patched key by key: a cleared current analysis run is
// written as null, not left in place by a merge patch that sends an
// emptier object.
func TestStatusPatchClearsNestedFields(t *testing.T) {
	old := v1alpha1.RolloutStatus{Canary: v1alpha1.CanaryStatus{
		CurrentStepAnalysisRunStatus:       &v1alpha1.RolloutAnalysisRunStatus{Name: "a", Status: v1alpha1.AnalysisPhaseSuccessful},
		CurrentBackgroundAnalysisRunStatus: &v1alpha1.RolloutAnalysisRunStatus{Name: "b", Status: v1alpha1.AnalysisPhaseRunning},
	}}
	cur := *old.DeepCopy()
	cur.Canary.CurrentStepAnalysisRunStatus = nil
	cur.Canary.CurrentBackgroundAnalysisRunStatus.Status = v1alpha1.AnalysisPhaseFailed
	patch, err := statusMergePatch(&old, &cur, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":{"canary":{"currentBackgroundAnalysisRunStatus":{"status":"Failed"},"currentStepAnalysisRunStatus":null}}}`
	if string(patch) != want {
		t.Fatalf("patch\n got %s\nwant %s", patch, want)
	}
}
