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
	switch set {
	case 0:
		return append(errs, field.Required(p, "a step needs one of setWeight or pause"))
	case 2:
		errs = append(errs, field.Invalid(p, "setWeight and pause", "a step sets exactly one of setWeight or pause; split it into two steps"))
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

// InvalidSpecMessage is the message of the InvalidSpec condition and of the
// Degraded phase: it names the Rollout and every field at fault.
func InvalidSpecMessage(r *Rollout, errs field.ErrorList) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return fmt.Sprintf("The Rollout %q is invalid: %s", r.Name, strings.Join(msgs, "; "))
}
