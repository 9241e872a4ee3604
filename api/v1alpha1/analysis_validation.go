package v1alpha1

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateAnalysisTemplate returns every problem of a decoded template's
// spec, each with its field path and what to do about it.
func ValidateAnalysisTemplate(t *AnalysisTemplate) field.ErrorList {
	return validateTemplateSpec(&t.Spec, field.NewPath("spec"))
}

// ValidateClusterAnalysisTemplate is ValidateAnalysisTemplate for the
// cluster-scoped kind.
func ValidateClusterAnalysisTemplate(t *ClusterAnalysisTemplate) field.ErrorList {
	return validateTemplateSpec(&t.Spec, field.NewPath("spec"))
}

// ValidateAnalysisRun returns every problem of a decoded run's spec. A run
// holds all its metrics, so its dryRun and measurementRetention rules must
// each match one of them (Argo Rollouts errs the run otherwise, h.go:104-145).
func ValidateAnalysisRun(r *AnalysisRun) field.ErrorList {
	spec := field.NewPath("spec")
	s := &r.Spec
	var errs field.ErrorList
	if len(s.Metrics) == 0 {
		errs = append(errs, field.Required(spec.Child("metrics"), "a run needs at least one metric"))
	}
	errs = append(errs, validateMetrics(s.Metrics, spec.Child("metrics"))...)
	errs = append(errs, validateArgs(s.Args, spec.Child("args"))...)
	errs = append(errs, validateRules(s.DryRun, s.MeasurementRetention, s.Metrics, true, spec)...)
	if t := s.TTLStrategy; t != nil {
		p := spec.Child("ttlStrategy")
		for _, f := range []struct {
			name string
			v    *int32
		}{{"secondsAfterCompletion", t.SecondsAfterCompletion}, {"secondsAfterFailure", t.SecondsAfterFailure}, {"secondsAfterSuccess", t.SecondsAfterSuccess}} {
			if f.v != nil && *f.v < 0 {
				errs = append(errs, field.Invalid(p.Child(f.name), *f.v, fmt.Sprintf("%d is negative; write the seconds to keep a completed run, 0 or more", *f.v)))
			}
		}
	}
	return errs
}

func validateTemplateSpec(s *AnalysisTemplateSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Metrics) == 0 && len(s.Templates) == 0 {
		errs = append(errs, field.Required(spec.Child("metrics"), "a template needs at least one metric, or templates to take them from"))
	}
	errs = append(errs, validateMetrics(s.Metrics, spec.Child("metrics"))...)
	errs = append(errs, validateArgs(s.Args, spec.Child("args"))...)
	// Rules may name metrics of nested templates or of other templates of the
	// same Rollout: they are matched only once the run is built.
	errs = append(errs, validateRules(s.DryRun, s.MeasurementRetention, s.Metrics, false, spec)...)
	for i, t := range s.Templates {
		if t.TemplateName == "" {
			errs = append(errs, field.Required(spec.Child("templates").Index(i).Child("templateName"), "name the AnalysisTemplate (or, with clusterScope: true, the ClusterAnalysisTemplate) to include"))
		}
	}
	return errs
}

func validateMetrics(metrics []Metric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]int{}
	for i := range metrics {
		m := &metrics[i]
		mp := p.Index(i)
		switch first, dup := seen[m.Name]; {
		case m.Name == "":
			errs = append(errs, field.Required(mp.Child("name"), "every metric needs a name"))
		case dup:
			errs = append(errs, duplicate(mp.Child("name"), m.Name, fmt.Sprintf("%q is the name of metrics[%d] too; give each metric its own name", m.Name, first)))
		default:
			seen[m.Name] = i
		}
		errs = append(errs, validateMetric(m, mp)...)
	}
	return errs
}

// validateMetric checks one metric by Argo Rollouts' rules (facts §1,
// f.go:149-265). Values that hold {{args.NAME}} are checked once substituted.
// Conditions are not required: without any, every measurement that does not
// err is Successful (§6), which is how a web metric checks that a URL answers.
func validateMetric(m *Metric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, d := range []struct{ name, value string }{{"interval", m.Interval}, {"initialDelay", m.InitialDelay}} {
		if hasArgs(d.value) {
			continue
		}
		if _, _, err := metricDuration(d.value); err != nil {
			errs = append(errs, field.Invalid(p.Child(d.name), d.value, err.Error()))
		}
	}

	count, countOK := intField(m.Count, p.Child("count"), &errs)
	failure, failureOK := intField(m.FailureLimit, p.Child("failureLimit"), &errs)
	inconclusive, inconclusiveOK := intField(m.InconclusiveLimit, p.Child("inconclusiveLimit"), &errs)
	consecErr, consecErrOK := intField(m.ConsecutiveErrorLimit, p.Child("consecutiveErrorLimit"), &errs)
	success, successOK := intField(m.ConsecutiveSuccessLimit, p.Child("consecutiveSuccessLimit"), &errs)
	// Unset and placeholder limits take part in the comparisons with their
	// defaults; a placeholder's check waits for its value.
	negative := func(name string, v int32, ok bool) {
		if ok && v < 0 {
			errs = append(errs, field.Invalid(p.Child(name), v, fmt.Sprintf("%d is negative; write 0 or more", v)))
		}
	}
	negative("count", count, countOK)
	negative("inconclusiveLimit", inconclusive, inconclusiveOK)
	negative("consecutiveErrorLimit", consecErr, consecErrOK)
	negative("consecutiveSuccessLimit", success, successOK)
	if failureOK && failure < FailureLimitOff {
		errs = append(errs, field.Invalid(p.Child("failureLimit"), failure,
			fmt.Sprintf("%d is below -1; write 0 or more failures to tolerate, or -1 to judge by consecutiveSuccessLimit only", failure)))
	}
	if failureOK && failure == FailureLimitOff && successOK && success == 0 {
		errs = append(errs, field.Invalid(p.Child("failureLimit"), failure,
			"-1 turns failures off, so only consecutiveSuccessLimit can end the metric; set consecutiveSuccessLimit above 0, or failureLimit to 0 or more"))
	}
	if countOK && count > 1 && m.Interval == "" {
		errs = append(errs, field.Invalid(p.Child("count"), count,
			fmt.Sprintf("%d measurements need an interval between them; set interval (e.g. 1m), or count: 1", count)))
	}
	if countOK && count > 0 {
		// count must leave room for failureLimit and consecutiveSuccessLimit
		// together, and for inconclusiveLimit (facts §1).
		f, s := max(failure, 0), max(success, 0)
		if failureOK && successOK && count < f+s {
			errs = append(errs, field.Invalid(p.Child("count"), count,
				fmt.Sprintf("%d is less than failureLimit (%d) + consecutiveSuccessLimit (%d), so the limits could never be reached; raise count or lower the limits", count, f, s)))
		}
		if inconclusiveOK && count < inconclusive {
			errs = append(errs, field.Invalid(p.Child("count"), count,
				fmt.Sprintf("%d is less than inconclusiveLimit (%d), so the limit could never be reached; raise count or lower the limit", count, inconclusive)))
		}
	}
	return append(errs, validateProvider(&m.Provider, p.Child("provider"))...)
}

// intField reads a count or limit for validation. ok is false when it cannot
// be compared: unset values read as 0 with ok true, placeholders and values
// in error as ok false.
func intField(v *intstr.IntOrString, p *field.Path, errs *field.ErrorList) (n int32, ok bool) {
	n, placeholder, err := parseIntOrArg(v)
	if err != nil {
		*errs = append(*errs, field.Invalid(p, v.StrVal, err.Error()))
	}
	return n, err == nil && !placeholder
}

func validateProvider(mp *MetricProvider, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case mp.Datadog == nil && mp.Web == nil:
		return append(errs, field.Required(p, "a metric needs a provider; roost runs datadog and web"))
	case mp.Datadog != nil && mp.Web != nil:
		errs = append(errs, field.Invalid(p, "datadog and web", "a metric has exactly one provider; split it into two metrics"))
	}
	if mp.Datadog != nil {
		errs = append(errs, validateDatadog(mp.Datadog, p.Child("datadog"))...)
	}
	if mp.Web != nil {
		errs = append(errs, validateWeb(mp.Web, p.Child("web"))...)
	}
	return errs
}

var datadogAggregators = []DatadogAggregator{
	DatadogAggregatorAvg, DatadogAggregatorMin, DatadogAggregatorMax, DatadogAggregatorSum, DatadogAggregatorLast,
	DatadogAggregatorPercentile, DatadogAggregatorMean, DatadogAggregatorL2Norm, DatadogAggregatorArea,
}

// validateDatadog checks what Argo Rollouts' Datadog provider would only
// find at the first measurement (facts §7, dd.go:373-407), so that a
// template is refused when it is written rather than when a canary waits on it.
func validateDatadog(d *DatadogMetric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if d.APIVersion != "" && d.APIVersion != DatadogAPIv1 && d.APIVersion != DatadogAPIv2 {
		errs = append(errs, field.Invalid(p.Child("apiVersion"), d.APIVersion,
			fmt.Sprintf("%q is not a Datadog API version; write v1 or v2", d.APIVersion)))
	}
	if !hasArgs(d.Interval) {
		if _, _, err := metricDuration(d.Interval); err != nil {
			errs = append(errs, field.Invalid(p.Child("interval"), d.Interval, err.Error()))
		}
	}
	v2 := d.GetAPIVersion() == DatadogAPIv2
	switch {
	case d.Query != "" && len(d.Queries) > 0:
		errs = append(errs, field.Invalid(p.Child("queries"), "query and queries", "set query or queries, not both"))
	case d.Query == "" && len(d.Queries) == 0:
		why := "a Datadog metric needs a query"
		if v2 {
			why += ", or queries with a formula"
		}
		errs = append(errs, field.Required(p.Child("query"), why))
	}
	if !v2 {
		for _, f := range []struct {
			name string
			set  bool
		}{{"queries", len(d.Queries) > 0}, {"formula", d.Formula != ""}, {"aggregator", d.Aggregator != ""}} {
			if f.set {
				errs = append(errs, field.Forbidden(p.Child(f.name), f.name+" needs apiVersion: v2; set it, or write a single query for v1"))
			}
		}
	}
	if v2 {
		if d.Formula != "" && len(d.Queries) == 0 {
			errs = append(errs, field.Required(p.Child("queries"), "a formula combines named queries; put them in queries (e.g. a: …, b: …)"))
		}
		if len(d.Queries) > 1 && d.Formula == "" {
			errs = append(errs, field.Required(p.Child("formula"), fmt.Sprintf("%d queries need a formula that combines them into one number (e.g. \"a / b\")", len(d.Queries))))
		}
		if d.Aggregator != "" && !slices.Contains(datadogAggregators, d.Aggregator) {
			errs = append(errs, field.Invalid(p.Child("aggregator"), d.Aggregator,
				fmt.Sprintf("%q is not a Datadog aggregator; write one of %s", d.Aggregator, joinNames(datadogAggregators))))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.Queries)) {
		switch {
		case strings.TrimSpace(k) == "":
			errs = append(errs, field.Invalid(p.Child("queries"), k, "every query needs a name, which the formula refers to"))
		case strings.TrimSpace(d.Queries[k]) == "":
			errs = append(errs, field.Required(p.Child("queries").Key(k), "the query is empty; write a Datadog metric query"))
		}
	}
	if d.SecretRef != nil && d.SecretRef.Namespaced && d.SecretRef.Name == "" {
		errs = append(errs, field.Required(p.Child("secretRef", "name"), "namespaced credentials need the name of a Secret in the run's namespace"))
	}
	return errs
}

var webMethods = []WebMetricMethod{WebMetricMethodGet, WebMetricMethodPost, WebMetricMethodPut}

func validateWeb(w *WebMetric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case w.URL == "":
		errs = append(errs, field.Required(p.Child("url"), "a web metric needs a url"))
	case !hasArgs(w.URL):
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, field.Invalid(p.Child("url"), w.URL,
				fmt.Sprintf("%q is not an http or https URL; write it as https://host/path", w.URL)))
		}
	}
	if w.Method != "" && !slices.Contains(webMethods, w.Method) {
		errs = append(errs, field.Invalid(p.Child("method"), w.Method,
			fmt.Sprintf("%q is not a method web metrics send; write %s", w.Method, joinNames(webMethods))))
	}
	hasBody, hasJSONBody := w.Body != "", len(w.JSONBody) > 0
	if hasBody && hasJSONBody {
		errs = append(errs, field.Invalid(p.Child("jsonBody"), "body and jsonBody", "set body or jsonBody, not both"))
	}
	if (hasBody || hasJSONBody) && w.GetMethod() == WebMetricMethodGet {
		name := "body"
		if !hasBody {
			name = "jsonBody"
		}
		errs = append(errs, field.Forbidden(p.Child(name), "a body is sent with POST or PUT only; set method: POST or PUT, or remove it"))
	}
	if w.TimeoutSeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), w.TimeoutSeconds,
			fmt.Sprintf("%d is negative; write the seconds to wait for an answer (10 when unset)", w.TimeoutSeconds)))
	}
	for i, h := range w.Headers {
		if strings.TrimSpace(h.Key) == "" {
			errs = append(errs, field.Required(p.Child("headers").Index(i).Child("key"), "every header needs a key"))
		}
	}
	return errs
}

func validateArgs(args []Argument, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]int{}
	for i, a := range args {
		ap := p.Index(i)
		switch first, dup := seen[a.Name]; {
		case a.Name == "":
			errs = append(errs, field.Required(ap.Child("name"), "every argument needs a name, which metrics refer to as {{args.NAME}}"))
		case dup:
			errs = append(errs, duplicate(ap.Child("name"), a.Name, fmt.Sprintf("%q is the name of args[%d] too; give each argument its own name", a.Name, first)))
		default:
			seen[a.Name] = i
		}
		if a.ValueFrom == nil {
			continue
		}
		vp := ap.Child("valueFrom")
		if a.Value != nil {
			errs = append(errs, field.Invalid(vp, "value and valueFrom", "set value or valueFrom, not both"))
		}
		switch vf := a.ValueFrom; {
		case vf.SecretKeyRef == nil && vf.FieldRef == nil:
			errs = append(errs, field.Required(vp, "valueFrom needs secretKeyRef or fieldRef"))
		case vf.SecretKeyRef != nil && vf.FieldRef != nil:
			errs = append(errs, field.Invalid(vp, "secretKeyRef and fieldRef", "set secretKeyRef or fieldRef, not both"))
		}
		if s := a.ValueFrom.SecretKeyRef; s != nil {
			if s.Name == "" {
				errs = append(errs, field.Required(vp.Child("secretKeyRef", "name"), "name the Secret, in the run's namespace"))
			}
			if s.Key == "" {
				errs = append(errs, field.Required(vp.Child("secretKeyRef", "key"), "name the Secret's key that holds the value"))
			}
		}
		if f := a.ValueFrom.FieldRef; f != nil && f.FieldPath == "" {
			errs = append(errs, field.Required(vp.Child("fieldRef", "fieldPath"), "write the path of a Rollout field, e.g. metadata.labels['app']"))
		}
	}
	return errs
}

// validateRules checks dryRun and measurementRetention. Their metricName is
// a Go regular expression matched unanchored (facts §1); in a run, where all
// metrics are known, each rule must match one.
func validateRules(dryRun []DryRun, retention []MeasurementRetention, metrics []Metric, mustMatch bool, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(p *field.Path, expr string) {
		if expr == "" {
			errs = append(errs, field.Required(p, "name the metrics the rule applies to (a regular expression; \".*\" for all)"))
			return
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			errs = append(errs, field.Invalid(p, expr, fmt.Sprintf("%q is not a regular expression (%v); write a metric name, or \".*\" for all", expr, err)))
			return
		}
		if !mustMatch {
			return
		}
		for _, m := range metrics {
			if re.MatchString(m.Name) {
				return
			}
		}
		errs = append(errs, field.Invalid(p, expr, fmt.Sprintf("%q matches no metric of this run; write the name of one of its metrics", expr)))
	}
	for i, r := range dryRun {
		check(spec.Child("dryRun").Index(i).Child("metricName"), r.MetricName)
	}
	for i, r := range retention {
		rp := spec.Child("measurementRetention").Index(i)
		check(rp.Child("metricName"), r.MetricName)
		if r.Limit < 0 {
			errs = append(errs, field.Invalid(rp.Child("limit"), r.Limit, fmt.Sprintf("%d is negative; write how many measurements to keep", r.Limit)))
		}
	}
	return errs
}

// duplicate is field.Duplicate with a detail that says what to do.
func duplicate(p *field.Path, value any, detail string) *field.Error {
	return &field.Error{Type: field.ErrorTypeDuplicate, Field: p.String(), BadValue: value, Detail: detail}
}

func joinNames[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
