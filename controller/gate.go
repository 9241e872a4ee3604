package controller

import (
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// Events of roost's judge gate.
const (
	EventReasonJudgeHeld    = "JudgeHeld" // Warning
	EventReasonJudgeResumed = "JudgeHoldReleased"
)

// gateRecheck is how often a canary under the gate is looked at for a new
// round of the judge (the poller's rounds are slower).
const gateRecheck = 10 * time.Second

// judgeActor names the gate in what it writes.
const judgeActor = "roost's judge"

// reconcileGate lets roost's judge act on a canary that has no analysis of
// its own: after enough failing rounds in a row it holds the canary
// (spec.paused, which Argo Rollouts honours too, and an annotation with the
// evidence) or aborts it, as the Rollout's gate says. A held canary waits
// for a person: a promote unpauses it, and the gate then counts afresh. It
// returns true when it wrote the Rollout's spec: the sync ends there and the
// write brings the Rollout back.
func (s *syncContext) reconcileGate() (bool, error) {
	g := s.c.gate
	if g == nil {
		return false, nil
	}
	r, st := s.r, &s.r.Status
	if r.HasAnalysis() || !s.canaryActive() || st.Abort || st.PromoteFull || s.newRS == nil {
		g.Forget(r.Namespace, r.Name)
		return false, nil
	}
	if hash, _, held := v1alpha1.JudgeHeld(r.Annotations); held && hash == s.newHash {
		if r.Spec.Paused {
			return false, nil
		}
		// A person resumed the held canary: only new rounds count now.
		g.Reset(r.Namespace, r.Name)
		if err := s.patchSpec(nil, map[string]any{analysis.JudgeHeldAnnotation: nil}); err != nil {
			return false, err
		}
		s.normal(EventReasonJudgeResumed, "Hold by %s released by a person; the judge counts failing rounds afresh", judgeActor)
		return true, nil
	}
	d := g.Decide(analysis.Canary{
		Namespace: r.Namespace, Name: r.Name, Annotations: r.Annotations, TemplateLabels: r.Spec.Template.Labels,
		PodHash: s.newHash, Since: s.newRS.CreationTimestamp.Time,
	})
	s.requeueIn(gateRecheck)
	if !d.Act {
		return false, nil
	}
	switch d.Settings.Mode {
	case analysis.GateHold:
		if r.Spec.Paused {
			return false, nil
		}
		value := fmt.Sprintf("%s: %s", s.newHash, d.Evidence)
		if err := s.patchSpec(map[string]any{"paused": true}, map[string]any{analysis.JudgeHeldAnnotation: value}); err != nil {
			return false, err
		}
		s.warning(EventReasonJudgeHeld, "Held by %s at step %d/%d: %s; promote to go on, or abort",
			judgeActor, currentStep(st)+1, len(s.steps), d.Evidence)
		return true, nil
	case analysis.GateAbort:
		g.Reset(r.Namespace, r.Name)
		s.startAbort(fmt.Sprintf("aborted by %s: %s", judgeActor, d.Evidence))
	}
	return false, nil
}

// patchSpec writes spec fields and annotations of the Rollout (nil values
// remove them) in one merge patch on the main resource, based on the
// version this sync read.
func (s *syncContext) patchSpec(spec, annotations map[string]any) error {
	meta := map[string]any{"resourceVersion": s.r.ResourceVersion}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	body := map[string]any{"metadata": meta}
	if spec != nil {
		body["spec"] = spec
	}
	patch, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("rollout %s: build patch: %w", s.key, err)
	}
	if _, err := s.c.rollouts.Namespace(s.key.Namespace).Patch(s.ctx, s.key.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("rollout %s: patch: %w", s.key, err)
	}
	s.c.wrote(s.key, s.r.ResourceVersion)
	return nil
}
