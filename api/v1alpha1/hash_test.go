package v1alpha1

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The step hashes below are the values Argo Rollouts' own tests pin for the same
// steps; equal values mean a real Argo controller and roost agree on
// status.currentStepHash and neither restarts the other's canary.
func TestStepHashMatchesArgoRollouts(t *testing.T) {
	pause := CanaryStep{Pause: &RolloutPause{}}
	tests := []struct {
		steps []CanaryStep
		want  string
	}{
		{[]CanaryStep{pause}, "6b9b86fbd5"},
		{[]CanaryStep{pause, pause}, "79c9b9f6bf"},
		{nil, "5ffbfbbd64"},
	}
	for _, tt := range tests {
		if got := StepHash(tt.steps); got != tt.want {
			t.Errorf("StepHash(%d steps) = %s, want %s", len(tt.steps), got, tt.want)
		}
	}
}

func TestStepHashDecodedFromYAML(t *testing.T) {
	r, errs := FromUnstructured(decodeYAML(t, validRolloutYAML))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	w20, w50 := int32(20), int32(50)
	d := fromString("30s")
	built := []CanaryStep{{SetWeight: &w20}, {Pause: &RolloutPause{}}, {SetWeight: &w50}, {Pause: &RolloutPause{Duration: &d}}}
	if StepHash(r.Steps()) != StepHash(built) {
		t.Fatal("steps decoded from YAML hash differently from the same steps built in Go")
	}
	if StepHash(built[:3]) == StepHash(built) {
		t.Fatal("different steps, same hash")
	}
}

func TestPodTemplateHash(t *testing.T) {
	tpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "checkout"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "shop/checkout:1"}}},
	}
	h := PodTemplateHash(&tpl, nil)
	if h != PodTemplateHash(tpl.DeepCopy(), nil) {
		t.Fatal("hash is not deterministic")
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			t.Fatalf("hash %q is not safe for a resource name", h)
		}
	}
	zero, one := int32(0), int32(1)
	if PodTemplateHash(&tpl, &zero) == h || PodTemplateHash(&tpl, &one) == PodTemplateHash(&tpl, &zero) {
		t.Fatal("collisionCount must change the hash")
	}
	other := tpl.DeepCopy()
	other.Spec.Containers[0].Image = "shop/checkout:2"
	if PodTemplateHash(other, nil) == h {
		t.Fatal("a new image must change the hash")
	}
}

func TestRoundTrip(t *testing.T) {
	r, errs := FromUnstructured(decodeYAML(t, validRolloutYAML))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	idx := int32(2)
	r.Status = RolloutStatus{CurrentStepIndex: &idx, ObservedGeneration: "3", StableRS: "abc", Phase: PhasePaused,
		PauseConditions: []PauseCondition{{Reason: PauseReasonCanaryPauseStep, StartTime: metav1.Now().Rfc3339Copy()}}}
	u, err := ToUnstructured(r)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetKind() != Kind || u.GetAPIVersion() != "argoproj.io/v1alpha1" {
		t.Fatalf("type meta lost: %s %s", u.GetAPIVersion(), u.GetKind())
	}
	if og, _, _ := unstructuredString(u.Object, "status", "observedGeneration"); og != "3" {
		t.Fatalf("observedGeneration must stay a string, got %q", og)
	}
	back, errs := FromUnstructured(u)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if StepHash(back.Steps()) != StepHash(r.Steps()) || PodTemplateHash(&back.Spec.Template, nil) != PodTemplateHash(&r.Spec.Template, nil) {
		t.Fatal("round trip changed the spec")
	}
	if *back.Status.CurrentStepIndex != 2 || back.Status.PauseConditions[0].Reason != PauseReasonCanaryPauseStep {
		t.Fatalf("round trip changed the status: %+v", back.Status)
	}
	cp := back.DeepCopy()
	*cp.Status.CurrentStepIndex = 9
	cp.Spec.Strategy.Canary.CanaryMetadata.Labels["role"] = "x"
	*cp.Spec.Strategy.Canary.Steps[0].SetWeight = 1
	if *back.Status.CurrentStepIndex != 2 || back.Spec.Strategy.Canary.CanaryMetadata.Labels["role"] != "canary" || *back.Steps()[0].SetWeight != 20 {
		t.Fatal("DeepCopy shares memory with the original")
	}
}

func TestLenientStatus(t *testing.T) {
	u := decodeYAML(t, validRolloutYAML)
	// Fields written by a newer Argo controller must not make the Rollout invalid.
	set("status.blueGreen", m{"activeSelector": "x"})(u)
	set("status.workloadObservedGeneration", "5")(u)
	set("status.stableRS", "abc")(u)
	r, errs := FromUnstructured(u)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if r.Status.StableRS != "abc" {
		t.Fatal("status not decoded")
	}
}

// An analysis step hashes over the JSON Argo Rollouts writes for it: its
// fields in Argo's order, and analysisRunMetadata as {} even when empty
// (Argo's field is a struct, which omitempty does not drop).
func TestAnalysisStepJSONIsArgos(t *testing.T) {
	hash := ValueFromPodTemplateHash("Latest")
	steps := []CanaryStep{{Analysis: &RolloutAnalysis{
		Templates: []AnalysisTemplateRef{{TemplateName: "error-rate"}, {TemplateName: "latency", ClusterScope: true}},
		Args:      []AnalysisRunArgument{{Name: "hash", ValueFrom: &RolloutArgumentValueFrom{PodTemplateHashValue: &hash}}, {Name: "svc", Value: "checkout"}},
	}}}
	b, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"analysis":{"templates":[{"templateName":"error-rate"},{"templateName":"latency","clusterScope":true}],` +
		`"args":[{"name":"hash","valueFrom":{"podTemplateHashValue":"Latest"}},{"name":"svc","value":"checkout"}],"analysisRunMetadata":{}}}]`
	if string(b) != want {
		t.Fatalf("analysis step JSON\n got %s\nwant %s", b, want)
	}
}
