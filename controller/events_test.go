package controller

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// A sync whose status write conflicts is retried; the Events about the
// status it computed are recorded once, by the attempt that wrote it.
func TestStatusEventsOnceAcrossConflicts(t *testing.T) {
	h := newHarness(t)
	h.create(newRollout("checkout", 10, setWeight(20), pause()))
	h.settle("checkout")
	h.edit("checkout", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })

	conflicts := 2
	h.dyn.PrependReactor("patch", "rollouts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" || conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Group: v1alpha1.Group, Resource: "rollouts"}, "checkout", errors.New("the object has been modified"))
	})
	h.events = nil
	for range 2 {
		h.refresh()
		if err := h.c.SyncOnce(h.ctx, testNS, "checkout"); !apierrors.IsConflict(errors.Unwrap(err)) && !strings.Contains(err.Error(), "modified") {
			t.Fatalf("sync with a conflicting status write: %v", err)
		}
	}
	h.drainEvents()
	for _, e := range h.events {
		if strings.Contains(e, EventReasonStepReached) {
			t.Fatalf("a sync that failed to write its status recorded %q", e)
		}
	}
	h.settle("checkout")
	n := 0
	for _, e := range h.events {
		if strings.Contains(e, EventReasonStepReached) && strings.Contains(e, "Step 1/2") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("step 1 reached recorded %d times, want once: %q", n, h.events)
	}
}
