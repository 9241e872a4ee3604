package analysis

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/internal/rollouttest"
)

func TestRunNameAndMetadata(t *testing.T) {
	ro := rollouttest.New("shop", "checkout").Identity(types.UID("uid-1"), 3).Rollout()
	ro.Labels = map[string]string{ControllerInstanceIDLabel: "prod", "team": "payments"}

	step := RunFor{Rollout: ro, PodHash: "6b9b86fbd5", Revision: 2, Step: ptr.To[int32](1),
		Labels: map[string]string{"owner": "sre", RolloutTypeLabel: "overridden"}, Annotations: map[string]string{"link": "runbook"}}
	if got := step.Name(0); got != "checkout-6b9b86fbd5-2-1" {
		t.Errorf("step run name %q", got)
	}
	if got := step.Name(2); got != "checkout-6b9b86fbd5-2-1.2" {
		t.Errorf("step run retry name %q", got)
	}
	md := step.ObjectMeta(0)
	wantLabels := map[string]string{
		"rollouts-pod-template-hash": "6b9b86fbd5",
		RolloutTypeLabel:             "overridden", // analysisRunMetadata comes after roost's own
		StepIndexLabel:               "1",
		ControllerInstanceIDLabel:    "prod",
		"owner":                      "sre",
		"app":                        "checkout", // the selector's labels come last
	}
	if !reflect.DeepEqual(md.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", md.Labels, wantLabels)
	}
	if want := map[string]string{"rollout.argoproj.io/revision": "2", "link": "runbook"}; !reflect.DeepEqual(md.Annotations, want) {
		t.Errorf("annotations %v, want %v", md.Annotations, want)
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "checkout", UID: "uid-1", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if !reflect.DeepEqual(md.OwnerReferences, wantOwner) || md.Namespace != "shop" {
		t.Errorf("owner %v in %q, want %v in shop", md.OwnerReferences, md.Namespace, wantOwner)
	}

	bg := RunFor{Rollout: ro, PodHash: "6b9b86fbd5", Revision: 2}
	bgMeta := bg.ObjectMeta(1)
	if bgMeta.Name != "checkout-6b9b86fbd5-2.1" || bgMeta.Labels[RolloutTypeLabel] != RolloutTypeBackground {
		t.Errorf("background run %q labelled %v", bgMeta.Name, bgMeta.Labels)
	}
	if _, ok := bgMeta.Labels[StepIndexLabel]; ok {
		t.Errorf("a background run carries %s", StepIndexLabel)
	}
}
