package v1alpha1

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What roost does with a field of the Rollout spec, as Argo Rollouts v1.9
// does with it for a basic canary (no traffic router).
const (
	// honour: roost acts on the field as Argo does.
	honour = "honour"
	// ignore: accepted and without effect, in roost as in Argo.
	ignore = "ignore"
	// refuse: InvalidSpec, with Argo's words where Argo refuses it too.
	refuse = "refuse"
	// refuseRoost: Argo accepts it, roost does not implement it, and says so.
	refuseRoost = "refuse (roost does not implement it)"
)

// The Argo Rollouts sources each row mirrors, by file and function; the
// message constants named in the rows are in validation.go.
const (
	argoSpec     = "pkg/apis/rollouts/validation/validation.go ValidateRolloutSpec"
	argoStrategy = "pkg/apis/rollouts/validation/validation.go ValidateRolloutStrategy"
	argoCanary   = "pkg/apis/rollouts/validation/validation.go ValidateRolloutStrategyCanary"
	argoAnti     = "pkg/apis/rollouts/validation/validation.go ValidateRolloutStrategyAntiAffinity"
	argoK8sRS    = "k8s.io/kubernetes/pkg/apis/apps/validation ValidatePodTemplateSpecForReplicaSet (called by ValidateRolloutSpec)"
	argoTypes    = "pkg/apis/rollouts/v1alpha1/types.go CanaryStrategy"
)

// parityRow is one field of the spec: the Argo rule it mirrors, what roost
// does, and for a refusal the exact field error (as InvalidSpec quotes it).
type parityRow struct {
	field  string
	argo   string
	does   string
	mutate func(*unstructured.Unstructured)
	want   string              // refuse: the exact error; empty when accepted
	check  func(*Rollout) bool // accepted: the decoded value is there
}

func parityRows() []parityRow {
	canary := func(path string, v any) func(*unstructured.Unstructured) { return set("spec.strategy.canary."+path, v) }
	both := func(fs ...func(*unstructured.Unstructured)) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) {
			for _, f := range fs {
				f(u)
			}
		}
	}
	tmpl := []any{m{"templateName": "success"}}
	return []parityRow{
		// spec
		{"spec.replicas", argoSpec + ": ValidateNonnegativeField(replicas)", honour, set("spec.replicas", int64(4)), "",
			func(r *Rollout) bool { return r.GetReplicas() == 4 }},
		{"spec.replicas", argoSpec + ": ValidateNonnegativeField(replicas)", refuse, set("spec.replicas", int64(-3)),
			"spec.replicas: Invalid value: -3: must be greater than or equal to 0", nil},
		{"spec.selector", argoSpec + ": MissingFieldMessage", refuse, del("spec.selector"),
			"spec.selector: Required value: Rollout has missing field '.spec.selector'; add a selector matching spec.template.metadata.labels", nil},
		{"spec.selector", argoSpec + ": \"empty selector is invalid for deployment\"", refuse, set("spec.selector", m{}),
			"spec.selector: Invalid value: {}: empty selector is invalid for deployment; set matchLabels", nil},
		{"spec.selector", argoK8sRS + ": selector matches template labels", refuse, set("spec.selector.matchLabels", m{"app": "other"}),
			"spec.template.metadata.labels: Invalid value: {\"app\":\"checkout\"}: `selector` does not match template `labels`; make the template carry the selector's labels", nil},
		{"spec.template", argoK8sRS + ": the pod template as a ReplicaSet's", honour, set("spec.template.spec.containers", []any{m{"name": "web", "image": "shop/checkout:2"}}), "",
			func(r *Rollout) bool { return r.Spec.Template.Spec.Containers[0].Image == "shop/checkout:2" }},
		{"spec.template.spec.restartPolicy", argoK8sRS + ": restartPolicy Always", refuse, set("spec.template.spec.restartPolicy", "OnFailure"),
			`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`, nil},
		{"spec.template.spec.activeDeadlineSeconds", argoK8sRS + ": no activeDeadlineSeconds", refuse, set("spec.template.spec.activeDeadlineSeconds", int64(60)),
			"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported", nil},
		{"spec.minReadySeconds", argoSpec + ": ValidateNonnegativeField(minReadySeconds)", honour, set("spec.minReadySeconds", int64(5)), "",
			func(r *Rollout) bool { return r.Spec.MinReadySeconds == 5 }},
		{"spec.minReadySeconds", argoSpec + ": ValidateNonnegativeField(minReadySeconds)", refuse, set("spec.minReadySeconds", int64(-1)),
			"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0", nil},
		{"spec.minReadySeconds", argoSpec + ": progressDeadlineSeconds (default 600) > minReadySeconds", refuse, set("spec.minReadySeconds", int64(600)),
			"spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds; raise progressDeadlineSeconds above 600 (it defaults to 600) or lower minReadySeconds", nil},
		{"spec.revisionHistoryLimit", argoSpec + ": ValidateNonnegativeField(revisionHistoryLimit)", honour, set("spec.revisionHistoryLimit", int64(2)), "",
			func(r *Rollout) bool { return r.GetRevisionHistoryLimit() == 2 }},
		{"spec.revisionHistoryLimit", argoSpec + ": ValidateNonnegativeField(revisionHistoryLimit)", refuse, set("spec.revisionHistoryLimit", int64(-1)),
			"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0", nil},
		{"spec.progressDeadlineSeconds", argoSpec + ": ValidateNonnegativeField(progressDeadlineSeconds)", refuse, set("spec.progressDeadlineSeconds", int64(-5)),
			"spec.progressDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0", nil},
		{"spec.progressDeadlineSeconds", argoSpec + ": \"must be greater than minReadySeconds\"", refuse,
			both(set("spec.minReadySeconds", int64(30)), set("spec.progressDeadlineSeconds", int64(10))),
			"spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds; raise progressDeadlineSeconds above 30 (it defaults to 600) or lower minReadySeconds", nil},
		{"spec.paused", "types.go RolloutSpec.Paused", honour, set("spec.paused", true), "", func(r *Rollout) bool { return r.Spec.Paused }},
		{"spec.progressDeadlineAbort", "types.go RolloutSpec.ProgressDeadlineAbort", honour, set("spec.progressDeadlineAbort", true), "",
			func(r *Rollout) bool { return r.Spec.ProgressDeadlineAbort }},
		{"spec.restartAt", "types.go RolloutSpec.RestartAt", honour, set("spec.restartAt", "2026-01-02T03:04:05Z"), "",
			func(r *Rollout) bool { return r.Spec.RestartAt != nil }},
		{"spec.analysis", "types.go AnalysisRunStrategy", honour, set("spec.analysis", m{"successfulRunHistoryLimit": int64(3)}), "",
			func(r *Rollout) bool { return *r.Spec.Analysis.SuccessfulRunHistoryLimit == 3 }},
		{"spec.workloadRef", "types.go RolloutSpec.WorkloadRef (Argo resolves the template from it)", refuseRoost,
			set("spec.workloadRef", m{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}),
			"spec.workloadRef: Forbidden: workloadRef is not supported; put the pod template in spec.template" + unsupportedFix, nil},
		{"spec.rollbackWindow", "types.go RolloutSpec.RollbackWindow (Argo skips the steps of a rollback within N revisions)", refuseRoost,
			set("spec.rollbackWindow", m{"revisions": int64(3)}),
			"spec.rollbackWindow: Forbidden: rollbackWindow is not supported: roost steps a return to an older revision through the canary steps (only a return to the stable template skips them)" + unsupportedFix, nil},
		{"spec.strategy", argoStrategy + ": MissingFieldMessage (Argo's path repeats strategy)", refuse, del("spec.strategy"),
			"spec.strategy.strategy: Required value: Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'; roost steps canaries: add spec.strategy.canary with steps", nil},
		{"spec.strategy.blueGreen", "types.go BlueGreenStrategy", refuseRoost, both(del("spec.strategy.canary"), set("spec.strategy.blueGreen", m{"activeService": "web"})),
			"spec.strategy.blueGreen: Forbidden: the blue-green strategy is not supported; roost runs canaries" + unsupportedFix, nil},

		// spec.strategy.canary
		{"canary.canaryService/stableService", argoCanary + ": DuplicatedServicesCanaryMessage", honour,
			both(canary("canaryService", "web-canary"), canary("stableService", "web")), "",
			func(r *Rollout) bool { return r.Spec.Strategy.Canary.StableService == "web" }},
		{"canary.canaryService/stableService", argoCanary + ": DuplicatedServicesCanaryMessage", refuse,
			both(canary("canaryService", "web"), canary("stableService", "web")),
			`spec.strategy.stableService: Invalid value: "web": This rollout uses the same service for the stable and canary services, but two different services are required.`, nil},
		{"canary.maxSurge/maxUnavailable", argoCanary + ": invalidMaxSurgeMaxUnavailable", honour,
			both(canary("maxSurge", int64(0)), canary("maxUnavailable", "10%")), "",
			func(r *Rollout) bool { return r.Spec.Strategy.Canary.MaxUnavailable.StrVal == "10%" }},
		{"canary.maxSurge/maxUnavailable", argoCanary + ": InvalidMaxSurgeMaxUnavailable", refuse,
			both(canary("maxSurge", int64(0)), canary("maxUnavailable", "0%")),
			"spec.strategy.maxSurge: Invalid value: 0: MaxSurge and MaxUnavailable both can not be zero; no pod could ever be replaced: raise one of them", nil},
		{"canary.steps[].setWeight", argoCanary + ": InvalidSetWeightMessage", refuse, steps(m{"setWeight": int64(150)}),
			"spec.strategy.steps[0].setWeight: Invalid value: 150: SetWeight needs to be between 0 and 100", nil},
		{"canary.steps[].pause.duration", argoCanary + ": InvalidDurationMessage (DurationSeconds -1 for no duration)", refuse, steps(m{"pause": m{"duration": "soon"}}),
			`spec.strategy.steps[0].pause.duration: Invalid value: -1: Duration needs to be greater than 0; "soon" is not a duration; use seconds (30) or a unit ("30s", "10m", "1h")`, nil},
		{"canary.steps[].pause.duration", argoCanary + ": InvalidDurationMessage", refuse, steps(m{"pause": m{"duration": int64(-5)}}),
			"spec.strategy.steps[0].pause.duration: Invalid value: -5: Duration needs to be greater than 0; -5 seconds is negative", nil},
		{"canary.steps[]", argoCanary + ": InvalidStepMessage (no step type)", refuse, steps(m{}),
			`spec.strategy.steps[0]: Invalid value: "step.Experiment: true step.Pause: true step.SetWeight: true step.Analysis: true step.SetCanaryScale: true step.SetHeaderRoute: true step.SetMirrorRoutes: true": Step must have one of the following set: experiment, setWeight, setCanaryScale or pause; roost runs setWeight, pause and analysis steps`, nil},
		{"canary.steps[]", argoCanary + ": hasMultipleStepsType", refuse, steps(m{"setWeight": int64(20), "pause": m{}}),
			`spec.strategy.steps[0]: Invalid value: "step.Experiment: false step.Pause: true step.SetWeight: true step.Analysis: false": Step must have one of the following set: experiment, setWeight, setCanaryScale or pause; a step sets exactly one of setWeight, pause or analysis: split it into one step each`, nil},
		{"canary.steps[].analysis", argoTypes + ".Steps[].Analysis", honour, steps(m{"analysis": m{"templates": tmpl}}), "",
			func(r *Rollout) bool { return r.Steps()[0].Analysis != nil }},
		{"canary.steps[].experiment", argoTypes + ".Steps[].Experiment (Argo runs experiments)", refuseRoost, steps(m{"experiment": m{"templates": []any{}}}),
			"spec.strategy.canary.steps[0].experiment: Forbidden: experiment steps are not supported" + unsupportedFix, nil},
		{"canary.steps[].setCanaryScale", argoCanary + ": InvalidSetCanaryScaleTrafficPolicy", refuse, steps(m{"setCanaryScale": m{"replicas": int64(2)}}),
			"spec.strategy.canary.steps[0].setCanaryScale: Forbidden: SetCanaryScale requires TrafficRouting to be set, and roost does not support traffic routers" + unsupportedFix, nil},
		{"canary.steps[].setHeaderRoute", argoCanary + ": InvalidSetHeaderRouteTrafficPolicy", refuse, steps(m{"setHeaderRoute": m{"name": "h"}}),
			"spec.strategy.canary.steps[0].setHeaderRoute: Forbidden: SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix; roost does not support traffic routers" + unsupportedFix, nil},
		{"canary.steps[].setMirrorRoute", argoCanary + ": InvalidSetMirrorRouteTrafficPolicy", refuse, steps(m{"setMirrorRoute": m{"name": "h"}}),
			"spec.strategy.canary.steps[0].setMirrorRoute: Forbidden: SetMirrorRoute requires TrafficRouting, supports Istio only; roost does not support traffic routers" + unsupportedFix, nil},
		{"canary.steps[].plugin", argoTypes + ".Steps[].Plugin (Argo runs step plugins)", refuseRoost, steps(m{"plugin": m{"name": "p"}}),
			"spec.strategy.canary.steps[0].plugin: Forbidden: step plugins are not supported" + unsupportedFix, nil},
		{"canary.canaryMetadata/stableMetadata", argoTypes + ".CanaryMetadata/StableMetadata", honour, canary("canaryMetadata", m{"labels": m{"track": "canary"}}), "",
			func(r *Rollout) bool { return r.Spec.Strategy.Canary.CanaryMetadata.Labels["track"] == "canary" }},
		{"canary.analysis", argoTypes + ".Analysis", honour, canary("analysis", m{"templates": tmpl}), "",
			func(r *Rollout) bool { return r.Spec.Strategy.Canary.Analysis != nil }},
		{"canary.trafficRouting", argoTypes + ".TrafficRouting", refuseRoost, canary("trafficRouting", m{"nginx": m{"stableIngress": "web"}}),
			"spec.strategy.canary.trafficRouting: Forbidden: traffic routers are not supported; roost runs the basic canary (pod-count weights)" + unsupportedFix, nil},
		{"canary.scaleDownDelaySeconds", argoCanary + ": InvalidCanaryScaleDownDelay (no traffic router)", refuse, canary("scaleDownDelaySeconds", int64(30)),
			"spec.strategy.scaleDownDelaySeconds: Invalid value: 30: Canary scaleDownDelaySeconds can only be used with traffic routing; a basic canary scales the old stable down at once: remove spec.strategy.canary.scaleDownDelaySeconds", nil},
		{"canary.abortScaleDownDelaySeconds", argoTypes + ".AbortScaleDownDelaySeconds (\"not applicable for basic canary\", no rule)", ignore, canary("abortScaleDownDelaySeconds", int64(30)), "",
			func(r *Rollout) bool { return *r.Spec.Strategy.Canary.AbortScaleDownDelaySeconds == 30 }},
		{"canary.scaleDownDelayRevisionLimit", argoTypes + ".ScaleDownDelayRevisionLimit (scale-down delay needs a traffic router, no rule)", ignore, canary("scaleDownDelayRevisionLimit", int64(2)), "",
			func(r *Rollout) bool { return *r.Spec.Strategy.Canary.ScaleDownDelayRevisionLimit == 2 }},
		{"canary.dynamicStableScale", argoCanary + ": InvalidCanaryDynamicStableScale only when true", ignore, canary("dynamicStableScale", false), "",
			func(r *Rollout) bool { return !r.Spec.Strategy.Canary.DynamicStableScale }},
		{"canary.dynamicStableScale", argoCanary + ": InvalidCanaryDynamicStableScale (no traffic router)", refuse, canary("dynamicStableScale", true),
			"spec.strategy.dynamicStableScale: Invalid value: true: Canary dynamicStableScale can only be used with traffic routing; a basic canary always scales the stable down as the canary grows: remove it or set it to false", nil},
		{"canary.minPodsPerReplicaSet", argoTypes + ".MinPodsPerReplicaSet (\"Only applicable for TrafficRoutedCanary\", no rule)", ignore, canary("minPodsPerReplicaSet", int64(2)), "",
			func(r *Rollout) bool { return *r.Spec.Strategy.Canary.MinPodsPerReplicaSet == 2 }},
		{"canary.replicaProgressThreshold", argoTypes + ".ReplicaProgressThreshold (utils/replicaset/canary.go AtDesiredReplicaCountsForCanary)", honour,
			canary("replicaProgressThreshold", m{"type": "Percent", "value": int64(80)}), "",
			func(r *Rollout) bool {
				t := r.Spec.Strategy.Canary.ReplicaProgressThreshold
				return t.Type == ProgressTypePercentage && t.Value == 80
			}},
		{"canary.replicaProgressThreshold", "roost's own check of the unit (Percent or Pod)", refuse,
			canary("replicaProgressThreshold", m{"type": "Pods", "value": int64(3)}),
			`spec.strategy.canary.replicaProgressThreshold.type: Unsupported value: "Pods": supported values: "Percent", "Pod"`, nil},
		{"canary.antiAffinity", argoAnti + " (utils/replicaset GenerateReplicaSetAffinity)", honour,
			canary("antiAffinity", m{"preferredDuringSchedulingIgnoredDuringExecution": m{"weight": int64(50)}}), "",
			func(r *Rollout) bool {
				return r.Spec.Strategy.Canary.AntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution.Weight == 50
			}},
		{"canary.antiAffinity", argoAnti + " (utils/replicaset GenerateReplicaSetAffinity)", honour,
			canary("antiAffinity", m{"requiredDuringSchedulingIgnoredDuringExecution": m{}}), "",
			func(r *Rollout) bool {
				return r.Spec.Strategy.Canary.AntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
			}},
		{"canary.antiAffinity", argoAnti + ": InvalidAntiAffinityStrategyMessage", refuse, canary("antiAffinity", m{}),
			`spec.strategy.antiAffinity: Invalid value: "antiAffinity.PreferredDuringSchedulingIgnoredDuringExecution: false antiAffinity.RequiredDuringSchedulingIgnoredDuringExecution: false": AntiAffinity must have exactly one strategy listed; set preferredDuringSchedulingIgnoredDuringExecution: {weight: 1-100} or requiredDuringSchedulingIgnoredDuringExecution: {}`, nil},
		{"canary.antiAffinity", argoAnti + ": InvalidAntiAffinityWeightMessage", refuse,
			canary("antiAffinity", m{"preferredDuringSchedulingIgnoredDuringExecution": m{"weight": int64(0)}}),
			"spec.strategy.antiAffinity.weight: Invalid value: 0: AntiAffinity weight must be between 1-100", nil},
		{"canary.pingPong", argoCanary + ": ping-pong (ALB only)", refuseRoost, canary("pingPong", m{"pingService": "a", "pongService": "b"}),
			"spec.strategy.canary.pingPong: Forbidden: ping-pong services need a traffic router (ALB), which roost does not support" + unsupportedFix, nil},
	}
}

// TestSpecParity walks the Rollout spec field by field: what Argo Rollouts
// v1.9 does with it for a basic canary, roost does, and where both refuse,
// the error is Argo's, word for word.
func TestSpecParity(t *testing.T) {
	for _, row := range parityRows() {
		name := row.field + "/" + row.does
		if row.want != "" {
			name += "/" + row.want[:strings.Index(row.want, ":")]
		}
		t.Run(name, func(t *testing.T) {
			u := decodeYAML(t, validRolloutYAML)
			row.mutate(u)
			r, errs := FromUnstructured(u)
			if len(errs) == 0 {
				errs = Validate(r)
			}
			if row.want == "" {
				if len(errs) > 0 {
					t.Fatalf("%s (%s) must be accepted (%s); got %v", row.field, row.argo, row.does, errs)
				}
				if !row.check(r) {
					t.Fatalf("%s decoded wrong: %+v", row.field, r.Spec)
				}
				return
			}
			if !hasError(errs, row.want) {
				t.Fatalf("%s (%s) must be refused with\n  %s\ngot\n  %s", row.field, row.argo, row.want, joinErrors(errs))
			}
		})
	}
}

func hasError(errs field.ErrorList, want string) bool {
	for _, e := range errs {
		if e.Error() == want {
			return true
		}
	}
	return false
}

func joinErrors(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return strings.Join(out, "\n  ")
}

// TestSpecParityCoversEveryField fails when a field is added to the spec
// types without a row saying what Argo does with it.
func TestSpecParityCoversEveryField(t *testing.T) {
	covered := map[string]bool{}
	for _, row := range parityRows() {
		for _, f := range strings.Split(row.field, "/") {
			covered[strings.TrimPrefix(strings.TrimPrefix(f, "spec."), "canary.")] = true
		}
	}
	for _, f := range []string{"replicas", "selector", "template", "minReadySeconds", "revisionHistoryLimit",
		"progressDeadlineSeconds", "paused", "progressDeadlineAbort", "restartAt", "analysis", "strategy"} {
		if !covered[f] {
			t.Errorf("spec.%s has no parity row", f)
		}
	}
	has := func(f string) bool {
		for k := range covered {
			if k == f || strings.HasPrefix(k, f+"[") || strings.HasPrefix(k, f+".") {
				return true
			}
		}
		return false
	}
	for _, f := range jsonFields(reflect.TypeOf(CanaryStrategy{})) {
		if !has(f) {
			t.Errorf("spec.strategy.canary.%s has no parity row", f)
		}
	}
	for _, f := range jsonFields(reflect.TypeOf(CanaryStep{})) {
		if !has("steps[]." + f) {
			t.Errorf("spec.strategy.canary.steps[].%s has no parity row", f)
		}
	}
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
