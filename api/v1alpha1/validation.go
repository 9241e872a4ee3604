package v1alpha1

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Argo Rollouts' own words for the rules roost shares with it
// (pkg/apis/rollouts/validation/validation.go), and the Kubernetes ones its
// validation reuses. An InvalidSpec message roost writes for one of these
// rules reads as Argo's would, so a hand-over does not rewrite it.
const (
	argoMissingField                 = "Rollout has missing field '%s'"
	argoInvalidSetWeight             = "SetWeight needs to be between 0 and %d"
	argoInvalidDuration              = "Duration needs to be greater than 0"
	argoInvalidMaxSurgeMaxUnavailble = "MaxSurge and MaxUnavailable both can not be zero"
	argoInvalidStep                  = "Step must have one of the following set: experiment, setWeight, setCanaryScale or pause"
	argoDuplicatedServicesCanary     = "This rollout uses the same service for the stable and canary services, but two different services are required."
	argoInvalidAntiAffinityStrategy  = "AntiAffinity must have exactly one strategy listed"
	argoInvalidAntiAffinityWeight    = "AntiAffinity weight must be between 1-100"
	argoInvalidCanaryScaleDownDelay  = "Canary scaleDownDelaySeconds can only be used with traffic routing"
	argoInvalidDynamicStableScale    = "Canary dynamicStableScale can only be used with traffic routing"
	argoEmptySelector                = "empty selector is invalid for deployment"
	argoInvalidSelector              = "invalid label selector"
	argoProgressDeadline             = "must be greater than minReadySeconds"
	k8sNegative                      = "must be greater than or equal to 0"
	k8sSelectorMismatch              = "`selector` does not match template `labels`"
	k8sActiveDeadline                = "activeDeadlineSeconds in ReplicaSet is not Supported"
	// maxWeight is the top of setWeight without a traffic router (Argo's
	// maxTrafficWeight applies only to traffic routers).
	maxWeight = 100
)

// Validate returns every problem of a decoded Rollout's spec, each with its field
// path and what to do about it. roost acts on a Rollout only when it is empty.
// Where Argo Rollouts refuses the same thing, the error is Argo's, path and
// words (Argo files a canary's fields under spec.strategy, not
// spec.strategy.canary), with roost's advice after a semicolon when it adds any.
func Validate(r *Rollout) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	s := &r.Spec

	errs = append(errs, nonNegative(spec.Child("replicas"), int64(r.GetReplicas()))...)
	errs = append(errs, validateSelector(s, spec)...)
	errs = append(errs, validateTemplate(s, spec.Child("template"))...)
	errs = append(errs, nonNegative(spec.Child("minReadySeconds"), int64(s.MinReadySeconds))...)
	errs = append(errs, nonNegative(spec.Child("revisionHistoryLimit"), int64(r.GetRevisionHistoryLimit()))...)
	pds := r.GetProgressDeadlineSeconds()
	errs = append(errs, nonNegative(spec.Child("progressDeadlineSeconds"), int64(pds))...)
	if pds <= s.MinReadySeconds {
		errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), pds,
			fmt.Sprintf("%s; raise progressDeadlineSeconds above %d (it defaults to %d) or lower minReadySeconds", argoProgressDeadline, s.MinReadySeconds, DefaultProgressDeadlineSeconds)))
	}

	// Argo nests the strategy path once more here: its message reads
	// spec.strategy.strategy.
	strategy := spec.Child("strategy")
	if s.Strategy.Canary == nil {
		errs = append(errs, field.Required(strategy.Child("strategy"),
			fmt.Sprintf(argoMissingField, ".spec.strategy.canary or .spec.strategy.blueGreen")+"; roost steps canaries: add spec.strategy.canary with steps"))
		return errs
	}
	errs = append(errs, validateCanary(s.Strategy.Canary, strategy)...)
	return errs
}

// nonNegative is Kubernetes' ValidateNonnegativeField, which Argo uses.
func nonNegative(p *field.Path, v int64) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(p, v, k8sNegative)}
	}
	return nil
}

func validateSelector(s *RolloutSpec, spec *field.Path) field.ErrorList {
	p := spec.Child("selector")
	if s.Selector == nil {
		return field.ErrorList{field.Required(p, fmt.Sprintf(argoMissingField, ".spec.selector")+"; add a selector matching spec.template.metadata.labels")}
	}
	if len(s.Selector.MatchLabels)+len(s.Selector.MatchExpressions) == 0 {
		return field.ErrorList{field.Invalid(p, s.Selector, argoEmptySelector+"; set matchLabels")}
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err != nil {
		return field.ErrorList{field.Invalid(p, s.Selector, argoInvalidSelector+": "+err.Error())}
	}
	if !sel.Matches(labels.Set(s.Template.Labels)) {
		return field.ErrorList{field.Invalid(spec.Child("template", "metadata", "labels"), s.Template.Labels,
			k8sSelectorMismatch+"; make the template carry the selector's labels")}
	}
	return nil
}

func validateTemplate(s *RolloutSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, ok := s.Template.Labels[DefaultRolloutUniqueLabelKey]; ok {
		errs = append(errs, field.Forbidden(p.Child("metadata", "labels").Key(DefaultRolloutUniqueLabelKey), "is set by the controller; remove it"))
	}
	ps := p.Child("spec")
	if rp := s.Template.Spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(ps.Child("restartPolicy"), rp, []string{string(corev1.RestartPolicyAlways)}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(ps.Child("activeDeadlineSeconds"), k8sActiveDeadline))
	}
	cs := ps.Child("containers")
	if len(s.Template.Spec.Containers) == 0 {
		errs = append(errs, field.Required(cs, "the pod template needs at least one container"))
	}
	for i, c := range s.Template.Spec.Containers {
		if c.Name == "" {
			errs = append(errs, field.Required(cs.Index(i).Child("name"), "every container needs a name"))
		}
		if c.Image == "" {
			errs = append(errs, field.Required(cs.Index(i).Child("image"), "every container needs an image"))
		}
	}
	return errs
}

// validateCanary checks the canary strategy, in the order of Argo's
// ValidateRolloutStrategyCanary. p is spec.strategy: Argo's paths for its
// rules; roost's own rules name the field where it is, under canary.
func validateCanary(c *CanaryStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	cp := p.Child("canary")
	errs = append(errs, validateFencepost(c.MaxSurge, cp.Child("maxSurge"))...)
	errs = append(errs, validateFencepost(c.MaxUnavailable, cp.Child("maxUnavailable"))...)
	if zeroFencepost(c.MaxSurge) && zeroFencepost(c.MaxUnavailable) {
		errs = append(errs, field.Invalid(p.Child("maxSurge"), *c.MaxSurge,
			argoInvalidMaxSurgeMaxUnavailble+"; no pod could ever be replaced: raise one of them"))
	}
	if c.CanaryService != "" && c.StableService != "" && c.CanaryService == c.StableService {
		errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService, argoDuplicatedServicesCanary))
	}
	// Without a traffic router (roost has none):
	if c.ScaleDownDelaySeconds != nil {
		errs = append(errs, field.Invalid(p.Child("scaleDownDelaySeconds"), *c.ScaleDownDelaySeconds,
			argoInvalidCanaryScaleDownDelay+"; a basic canary scales the old stable down at once: remove spec.strategy.canary.scaleDownDelaySeconds"))
	}
	if c.DynamicStableScale {
		errs = append(errs, field.Invalid(p.Child("dynamicStableScale"), c.DynamicStableScale,
			argoInvalidDynamicStableScale+"; a basic canary always scales the stable down as the canary grows: remove it or set it to false"))
	}
	for i := range c.Steps {
		errs = append(errs, validateStep(&c.Steps[i], p.Child("steps").Index(i), cp.Child("steps").Index(i))...)
	}
	errs = append(errs, validateAntiAffinity(c.AntiAffinity, p.Child("antiAffinity"))...)
	errs = append(errs, validateMetadata(c.CanaryMetadata, cp.Child("canaryMetadata"))...)
	errs = append(errs, validateMetadata(c.StableMetadata, cp.Child("stableMetadata"))...)
	errs = append(errs, validateProgressThreshold(c.ReplicaProgressThreshold, cp.Child("replicaProgressThreshold"))...)
	if a := c.Analysis; a != nil {
		ap := cp.Child("analysis")
		errs = append(errs, validateRolloutAnalysis(&a.RolloutAnalysis, ap)...)
		if a.StartingStep != nil && (*a.StartingStep < 0 || int(*a.StartingStep) > len(c.Steps)) {
			errs = append(errs, field.Invalid(ap.Child("startingStep"), *a.StartingStep,
				fmt.Sprintf("must be a step index from 0 to %d (the number of steps)", len(c.Steps))))
		}
	}
	return errs
}

// zeroFencepost is Argo's test of maxSurge and maxUnavailable for zero: set,
// and 0 as a number of pods or as a percentage.
func zeroFencepost(v *intstr.IntOrString) bool {
	if v == nil {
		return false
	}
	n, _, err := ParsePercentOrInt(*v)
	return err == nil && n == 0
}

// validateAntiAffinity is Argo's ValidateRolloutStrategyAntiAffinity.
func validateAntiAffinity(a *AntiAffinity, p *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	preferred, required := a.PreferredDuringSchedulingIgnoredDuringExecution, a.RequiredDuringSchedulingIgnoredDuringExecution
	if (preferred == nil) == (required == nil) {
		v := fmt.Sprintf("antiAffinity.PreferredDuringSchedulingIgnoredDuringExecution: %t antiAffinity.RequiredDuringSchedulingIgnoredDuringExecution: %t", preferred != nil, required != nil)
		errs = append(errs, field.Invalid(p, v, argoInvalidAntiAffinityStrategy+"; set preferredDuringSchedulingIgnoredDuringExecution: {weight: 1-100} or requiredDuringSchedulingIgnoredDuringExecution: {}"))
	}
	if preferred != nil && (preferred.Weight < 1 || preferred.Weight > 100) {
		errs = append(errs, field.Invalid(p.Child("weight"), preferred.Weight, argoInvalidAntiAffinityWeight))
	}
	return errs
}

// validateProgressThreshold checks a replicaProgressThreshold's unit and value.
func validateProgressThreshold(t *ReplicaProgressThreshold, p *field.Path) field.ErrorList {
	if t == nil {
		return nil
	}
	var errs field.ErrorList
	switch t.Type {
	case ProgressTypePercentage:
		if t.Value < 0 || t.Value > 100 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, "a percentage must be 0-100"))
		}
	case ProgressTypePod:
		if t.Value < 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, "a number of pods must be 0 or more"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), t.Type, []string{string(ProgressTypePercentage), string(ProgressTypePod)}))
	}
	return errs
}

// validateRolloutAnalysis checks what a Rollout says of an analysis on its
// own; whether its templates exist and its arguments resolve is only known
// when the run is created.
func validateRolloutAnalysis(a *RolloutAnalysis, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(a.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("templates"), "name at least one AnalysisTemplate (templateName) or ClusterAnalysisTemplate (templateName with clusterScope: true)"))
	}
	for i, t := range a.Templates {
		if strings.TrimSpace(t.TemplateName) == "" {
			errs = append(errs, field.Required(p.Child("templates").Index(i).Child("templateName"), "name the AnalysisTemplate to run"))
		}
	}
	seen := map[string]int{}
	for i, arg := range a.Args {
		ap := p.Child("args").Index(i)
		switch first, dup := seen[arg.Name]; {
		case arg.Name == "":
			errs = append(errs, field.Required(ap.Child("name"), "name the template argument this value is for"))
		case dup:
			errs = append(errs, duplicate(ap.Child("name"), arg.Name, fmt.Sprintf("%q is the name of args[%d] too; pass each argument once", arg.Name, first)))
		default:
			seen[arg.Name] = i
		}
		vf := arg.ValueFrom
		if vf == nil {
			continue
		}
		vp := ap.Child("valueFrom")
		if arg.Value != "" {
			errs = append(errs, field.Invalid(vp, "value and valueFrom", "set value or valueFrom, not both"))
		}
		switch {
		case vf.PodTemplateHashValue == nil && vf.FieldRef == nil:
			errs = append(errs, field.Required(vp, "valueFrom needs podTemplateHashValue (Latest or Stable) or fieldRef"))
		case vf.PodTemplateHashValue != nil && vf.FieldRef != nil:
			errs = append(errs, field.Invalid(vp, "podTemplateHashValue and fieldRef", "set podTemplateHashValue or fieldRef, not both"))
		}
		if h := vf.PodTemplateHashValue; h != nil && *h != PodTemplateHashLatest && *h != PodTemplateHashStable {
			errs = append(errs, field.NotSupported(vp.Child("podTemplateHashValue"), string(*h), []string{string(PodTemplateHashLatest), string(PodTemplateHashStable)}))
		}
		if f := vf.FieldRef; f != nil && strings.TrimSpace(f.FieldPath) == "" {
			errs = append(errs, field.Required(vp.Child("fieldRef", "fieldPath"), "write the path of a Rollout field, e.g. metadata.labels['app'] or spec.template.spec.containers[0].image"))
		}
	}
	errs = append(errs, validateRules(a.DryRun, a.MeasurementRetention, nil, false, p)...)
	if _, ok := a.AnalysisRunMetadata.Labels[DefaultRolloutUniqueLabelKey]; ok {
		errs = append(errs, field.Forbidden(p.Child("analysisRunMetadata", "labels").Key(DefaultRolloutUniqueLabelKey), "is set by the controller; remove it"))
	}
	return errs
}

func validateFencepost(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	n, pct, err := ParsePercentOrInt(*v)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(p, v.String(), err.Error())}
	case n < 0:
		return field.ErrorList{field.Invalid(p, v.String(), "must be 0 or more")}
	case pct && n > 100:
		return field.ErrorList{field.Invalid(p, v.String(), "a percentage must be 0-100%")}
	}
	return nil
}

func validateMetadata(m *PodTemplateMetadata, p *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	var errs field.ErrorList
	if _, ok := m.Labels[DefaultRolloutUniqueLabelKey]; ok {
		errs = append(errs, field.Forbidden(p.Child("labels").Key(DefaultRolloutUniqueLabelKey), "is set by the controller; remove it"))
	}
	for k := range m.Labels {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, field.Invalid(p.Child("labels"), k, "label keys cannot be empty"))
		}
	}
	return errs
}

// validateStep checks one step: Argo's rules at Argo's path p
// (spec.strategy.steps[i]), roost's own at the step's real path cp.
func validateStep(s *CanaryStep, p, cp *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := 0
	for _, ok := range []bool{s.SetWeight != nil, s.Pause != nil, s.Analysis != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set > 1:
		v := fmt.Sprintf("step.Experiment: %t step.Pause: %t step.SetWeight: %t step.Analysis: %t", false, s.Pause != nil, s.SetWeight != nil, s.Analysis != nil)
		errs = append(errs, field.Invalid(p, v, argoInvalidStep+"; a step sets exactly one of setWeight, pause or analysis: split it into one step each"))
	case set == 0:
		v := "step.Experiment: true step.Pause: true step.SetWeight: true step.Analysis: true step.SetCanaryScale: true step.SetHeaderRoute: true step.SetMirrorRoutes: true"
		errs = append(errs, field.Invalid(p, v, argoInvalidStep+"; roost runs setWeight, pause and analysis steps"))
	}
	if s.SetWeight != nil && (*s.SetWeight < 0 || *s.SetWeight > maxWeight) {
		errs = append(errs, field.Invalid(p.Child("setWeight"), *s.SetWeight, fmt.Sprintf(argoInvalidSetWeight, maxWeight)))
	}
	if s.Pause != nil {
		if _, _, err := s.Pause.PauseDuration(); err != nil {
			errs = append(errs, field.Invalid(p.Child("pause", "duration"), s.Pause.durationSeconds(),
				argoInvalidDuration+"; "+err.Error()))
		}
	}
	if s.Analysis != nil {
		errs = append(errs, validateRolloutAnalysis(s.Analysis, cp.Child("analysis"))...)
	}
	return errs
}

// InvalidSpecMessage is the message of the InvalidSpec condition and of the
// Degraded phase: it names the Rollout and every field at fault.
func InvalidSpecMessage(r *Rollout, errs field.ErrorList) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return fmt.Sprintf("The Rollout %q is invalid: %s", r.Name, strings.Join(msgs, "; "))
}
