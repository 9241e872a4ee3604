package v1alpha1

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate returns every problem of a decoded Rollout's spec, each with its field
// path and what to do about it. roost acts on a Rollout only when it is empty.
func Validate(r *Rollout) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	s := &r.Spec

	if s.Replicas != nil && *s.Replicas < 0 {
		errs = append(errs, field.Invalid(spec.Child("replicas"), *s.Replicas, "must be 0 or more"))
	}
	if s.MinReadySeconds < 0 {
		errs = append(errs, field.Invalid(spec.Child("minReadySeconds"), s.MinReadySeconds, "must be 0 or more"))
	}
	if s.RevisionHistoryLimit != nil && *s.RevisionHistoryLimit < 0 {
		errs = append(errs, field.Invalid(spec.Child("revisionHistoryLimit"), *s.RevisionHistoryLimit, "must be 0 or more"))
	}
	if s.ProgressDeadlineSeconds != nil {
		if *s.ProgressDeadlineSeconds <= 0 {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *s.ProgressDeadlineSeconds, "must be more than 0"))
		} else if *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *s.ProgressDeadlineSeconds,
				fmt.Sprintf("must be greater than minReadySeconds (%d)", s.MinReadySeconds)))
		}
	}
	errs = append(errs, validateSelector(s, spec)...)
	errs = append(errs, validateTemplate(s, spec.Child("template"))...)

	strategy := spec.Child("strategy")
	if s.Strategy.Canary == nil {
		errs = append(errs, field.Required(strategy.Child("canary"), "roost steps canary rollouts; add spec.strategy.canary with steps"))
		return errs
	}
	errs = append(errs, validateCanary(s.Strategy.Canary, strategy.Child("canary"))...)
	return errs
}

func validateSelector(s *RolloutSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	p := spec.Child("selector")
	if s.Selector == nil || (len(s.Selector.MatchLabels) == 0 && len(s.Selector.MatchExpressions) == 0) {
		return append(errs, field.Required(p, "a Rollout needs a selector matching spec.template.metadata.labels"))
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err != nil {
		return append(errs, field.Invalid(p, s.Selector, err.Error()))
	}
	if sel.Empty() {
		return append(errs, field.Invalid(p, s.Selector, "an empty selector would select every pod; set matchLabels"))
	}
	if !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p, metav1.FormatLabelSelector(s.Selector),
			"does not match spec.template.metadata.labels; make the template carry the selector's labels"))
	}
	return errs
}

func validateTemplate(s *RolloutSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Template.Labels) == 0 {
		errs = append(errs, field.Required(p.Child("metadata", "labels"), "the pod template needs labels for the selector to match"))
	}
	if _, ok := s.Template.Labels[DefaultRolloutUniqueLabelKey]; ok {
		errs = append(errs, field.Forbidden(p.Child("metadata", "labels").Key(DefaultRolloutUniqueLabelKey), "is set by the controller; remove it"))
	}
	cs := p.Child("spec", "containers")
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

func validateCanary(c *CanaryStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	zero := func(v *intstr.IntOrString) bool {
		if v == nil {
			return false
		}
		n, _, err := ParsePercentOrInt(*v)
		return err == nil && n == 0
	}
	errs = append(errs, validateFencepost(c.MaxSurge, p.Child("maxSurge"))...)
	errs = append(errs, validateFencepost(c.MaxUnavailable, p.Child("maxUnavailable"))...)
	if zero(c.MaxSurge) && zero(c.MaxUnavailable) {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), c.MaxUnavailable.String(),
			"maxSurge and maxUnavailable cannot both be 0: no pod could ever be replaced; raise one of them"))
	}
	if c.CanaryService != "" && c.CanaryService == c.StableService {
		errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService, "must differ from canaryService"))
	}
	errs = append(errs, validateMetadata(c.CanaryMetadata, p.Child("canaryMetadata"))...)
	errs = append(errs, validateMetadata(c.StableMetadata, p.Child("stableMetadata"))...)
	for i := range c.Steps {
		errs = append(errs, validateStep(&c.Steps[i], p.Child("steps").Index(i))...)
	}
	if a := c.Analysis; a != nil {
		ap := p.Child("analysis")
		errs = append(errs, validateRolloutAnalysis(&a.RolloutAnalysis, ap)...)
		if a.StartingStep != nil && (*a.StartingStep < 0 || int(*a.StartingStep) > len(c.Steps)) {
			errs = append(errs, field.Invalid(ap.Child("startingStep"), *a.StartingStep,
				fmt.Sprintf("must be a step index from 0 to %d (the number of steps)", len(c.Steps))))
		}
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

func validateStep(s *CanaryStep, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := 0
	if s.SetWeight != nil {
		set++
	}
	if s.Pause != nil {
		set++
	}
	if s.Analysis != nil {
		set++
	}
	switch {
	case set == 0:
		return append(errs, field.Required(p, "a step needs one of setWeight, pause or analysis"))
	case set > 1:
		errs = append(errs, field.Invalid(p, stepKinds(s), "a step sets exactly one of setWeight, pause or analysis; split it into one step each"))
	}
	if s.Analysis != nil {
		errs = append(errs, validateRolloutAnalysis(s.Analysis, p.Child("analysis"))...)
	}
	if s.SetWeight != nil && (*s.SetWeight < 0 || *s.SetWeight > 100) {
		errs = append(errs, field.Invalid(p.Child("setWeight"), *s.SetWeight, "weights must be 0-100"))
	}
	if s.Pause != nil {
		if _, _, err := s.Pause.PauseDuration(); err != nil {
			errs = append(errs, field.Invalid(p.Child("pause", "duration"), s.Pause.Duration.String(), err.Error()))
		}
	}
	return errs
}

func stepKinds(s *CanaryStep) string {
	var kinds []string
	if s.SetWeight != nil {
		kinds = append(kinds, "setWeight")
	}
	if s.Pause != nil {
		kinds = append(kinds, "pause")
	}
	if s.Analysis != nil {
		kinds = append(kinds, "analysis")
	}
	return strings.Join(kinds, " and ")
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
