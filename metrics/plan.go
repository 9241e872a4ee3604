package metrics

// What one rollout's polls ask: the configuration with the rollout's
// annotations, rendered into queries.

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"k8s.io/client-go/tools/cache"
)

// Key names one rollout: the same type as watch.Key, so the dashboard keys
// its rows and its evidence alike.
type Key = cache.ObjectName

// Target is one rollout as the poller sees it.
type Target struct {
	Namespace, Name string
	// Annotations are the Rollout's: they override the configuration for
	// this rollout (see AnnotationService and the others).
	Annotations map[string]string
	// TemplateLabels are the pod template's labels, where Datadog's unified
	// service tags name the service and env.
	TemplateLabels map[string]string
	// Since is when the canary started: queries look no further back than a
	// minute before it, and only its errors count.
	Since time.Time
	// Poll is set while the rollout is progressing or paused; other
	// rollouts cost no calls.
	Poll bool
	// CanaryPods and StablePods are the ready pods of each side, for the
	// metrics compared per pod.
	CanaryPods, StablePods int
	// Cluster is the kube context of the rollout's cluster when the cockpit
	// spans several ("" otherwise): its queries then filter on
	// Datadog.ClusterTag.
	Cluster string
}

// Key is the target's rollout.
func (t Target) Key() Key { return Key{Namespace: t.Namespace, Name: t.Name} }

// Annotations on a Rollout that change what roost asks about it.
const (
	// AnnotationService is the service tag of its queries ({{.Service}}).
	AnnotationService = "metrics.roost.dev/service"
	// AnnotationEnv is the env tag of its queries ({{.Env}}).
	AnnotationEnv = "metrics.roost.dev/env"
	// AnnotationTagKey is the tag that tells its canary from stable.
	AnnotationTagKey = "metrics.roost.dev/tag-key"
	// AnnotationOperation is the APM operation ({{.Operation}}).
	AnnotationOperation = "metrics.roost.dev/operation"
	// AnnotationQuery, followed by <metric-id>.<query-name>, replaces one
	// query template of one metric:
	// metrics.roost.dev/query.error_rate.errors: "sum:…".
	AnnotationQuery = "metrics.roost.dev/query."
	// AnnotationMetrics is a YAML (or JSON) list of metrics that replaces
	// the configured ones for this rollout; an entry with a configured id
	// changes only the fields it gives: [{id: error_rate, maxRatio: 2}].
	AnnotationMetrics = "metrics.roost.dev/metrics"
	// AnnotationBugsnagProject is its Bugsnag project id.
	AnnotationBugsnagProject = "bugsnag.roost.dev/project"

	metricsAnnotationPrefix = "metrics.roost.dev/"
	bugsnagAnnotationPrefix = "bugsnag.roost.dev/"
)

// Labels of the pod template that name the service and env.
const (
	LabelDatadogService = "tags.datadoghq.com/service"
	LabelDatadogEnv     = "tags.datadoghq.com/env"
	LabelAppName        = "app.kubernetes.io/name"
)

// Plan is what roost asks Datadog and Bugsnag about one rollout: its
// configuration with the rollout's annotations and labels applied.
type Plan struct {
	// Metrics are the metrics in order; the poller sets each query's window.
	Metrics []PlannedMetric
	// MetricsOff says why no metric is asked for: an annotation is wrong.
	MetricsOff string
	// Errors is the Bugsnag query, Since set from the target.
	Errors ErrorQuery
	// ErrorsOff says why Bugsnag is not asked: no project, or a bad annotation.
	ErrorsOff string
}

// PlannedMetric is one metric of one rollout.
type PlannedMetric struct {
	Query     MetricQuery
	Tolerance Tolerance
	// Err says why this metric cannot be asked for (its query template does
	// not render for this rollout); Query then holds its id, name and unit.
	Err string
}

// templateData is what query templates see.
type templateData struct {
	Namespace   string
	Rollout     string
	Service     string
	Env         string
	TagKey      string
	Operation   string
	CanaryValue string
	StableValue string
	// Filter is the tag filter in braces: {service:web,env:prod}, or
	// {service:web} without an env.
	Filter string
	// GroupBy is the tag key in braces: {kube_role}. Written in a template
	// as {{.GroupBy}}, it spares "by {{"{"}}{{.TagKey}}}".
	GroupBy string
	// Cluster is the cluster's name in Datadog when the cockpit spans
	// several clusters, else ""; Filter then holds it too.
	Cluster string
}

const templateFields = "{{.Namespace}} {{.Rollout}} {{.Service}} {{.Env}} {{.TagKey}} {{.Operation}} {{.CanaryValue}} {{.StableValue}} {{.Filter}} {{.GroupBy}} {{.Cluster}}"

func newTemplateData(ns, rollout, service, env, tagKey, operation, canary, stable string) templateData {
	filter := "{service:" + service
	if env != "" {
		filter += ",env:" + env
	}
	filter += "}"
	return templateData{
		Namespace: ns, Rollout: rollout, Service: service, Env: env,
		TagKey: tagKey, Operation: operation, CanaryValue: canary, StableValue: stable,
		Filter: filter, GroupBy: "{" + tagKey + "}",
	}
}

// withCluster narrows the queries to one cluster: tag:name joins the filter.
func (d *templateData) withCluster(tag, name string) {
	d.Cluster = name
	d.Filter = strings.TrimSuffix(d.Filter, "}") + "," + tag + ":" + name + "}"
}

var (
	templateUnknownField = regexp.MustCompile(`can't evaluate field (\w+) in type`)
	templatePrefix       = regexp.MustCompile(`^template: [^:]*:(\d+(?::\d+)?)?:? ?(?:executing "[^"]*" at <[^>]*>: )?`)
	groupByClause        = regexp.MustCompile(`\bby\s*\{([^}]*)\}`)
)

// renderQuery fills in one query template.
func renderQuery(metricID string, q NamedQuery, data templateData) (string, error) {
	t, err := template.New(metricID + "." + q.Name).Option("missingkey=error").Parse(q.Query)
	if err != nil {
		return "", fmt.Errorf("metric %s, query %s: the template does not parse: %s; fix the template (its fields are %s)", metricID, q.Name, templateReason(err), templateFields)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("metric %s, query %s: the template does not render: %s; its fields are %s", metricID, q.Name, templateReason(err), templateFields)
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		return "", fmt.Errorf("metric %s, query %s: the template renders empty: give a Datadog query", metricID, q.Name)
	}
	if !groupedBy(out, data.TagKey) {
		return "", fmt.Errorf("metric %s, query %s: %q is not grouped by %s, so canary and stable cannot be told apart: end the query with by {{.GroupBy}}", metricID, q.Name, out, data.TagKey)
	}
	return out, nil
}

func templateReason(err error) string {
	msg := err.Error()
	if m := templateUnknownField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("{{.%s}} is not one of its fields", m[1])
	}
	if m := templatePrefix.FindStringSubmatch(msg); m != nil {
		rest := msg[len(m[0]):]
		if m[1] != "" {
			return "at " + m[1] + ": " + rest
		}
		return rest
	}
	return msg
}

// groupedBy reports whether query splits its groups by tagKey.
func groupedBy(query, tagKey string) bool {
	for _, m := range groupByClause.FindAllStringSubmatch(query, -1) {
		for _, k := range strings.Split(m[1], ",") {
			if strings.TrimSpace(k) == tagKey {
				return true
			}
		}
	}
	return false
}

// formulaToken is one piece of a formula: a query name, or anything else.
type formulaToken struct {
	text string
	// name is set when text is an identifier that is not a function call.
	name bool
}

// tokenizeFormula splits a Datadog formula ("errors / hits * 100",
// "abs(a - b)") into names and the rest.
func tokenizeFormula(f string) []formulaToken {
	var out []formulaToken
	isStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	isNum := func(c byte) bool { return c == '.' || c >= '0' && c <= '9' }
	for i := 0; i < len(f); {
		j := i + 1
		switch c := f[i]; {
		case isStart(c):
			for j < len(f) && isPart(f[j]) {
				j++
			}
			k := j
			for k < len(f) && f[k] == ' ' {
				k++
			}
			out = append(out, formulaToken{text: f[i:j], name: k >= len(f) || f[k] != '('})
		case isNum(c):
			for j < len(f) && (isNum(f[j]) || (f[j] == 'e' || f[j] == 'E') && j+1 < len(f) && (isNum(f[j+1]) || f[j+1] == '-' || f[j+1] == '+')) {
				if f[j] == 'e' || f[j] == 'E' {
					j++
				}
				j++
			}
			out = append(out, formulaToken{text: f[i:j]})
		default:
			out = append(out, formulaToken{text: f[i:j]})
		}
		i = j
	}
	return out
}

// checkFormula checks that formula combines exactly the named queries.
func checkFormula(metricID, formula string, names []string) error {
	if formula == "" {
		if len(names) > 1 {
			return fmt.Errorf("metric %s has %d queries (%s) and no formula: say how they combine, e.g. formula: %q", metricID, len(names), strings.Join(names, ", "), names[0]+" / "+names[1])
		}
		return nil
	}
	used := map[string]bool{}
	for _, t := range tokenizeFormula(formula) {
		if !t.name {
			continue
		}
		if !contains(names, t.text) {
			return fmt.Errorf("metric %s: the formula %q uses %s, which is not one of its queries (%s): fix the name", metricID, formula, t.text, strings.Join(names, ", "))
		}
		used[t.text] = true
	}
	for _, n := range names {
		if !used[n] {
			return fmt.Errorf("metric %s: the formula %q does not use query %s: use it or remove the query", metricID, formula, n)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Expression is the query as one expression, the form the v1 API takes: the
// formula with each query name replaced by its query in parentheses, or the
// one query alone.
func (q MetricQuery) Expression() string {
	if q.Formula == "" {
		if len(q.Queries) == 0 {
			return ""
		}
		return q.Queries[0].Query
	}
	var b strings.Builder
	for _, t := range tokenizeFormula(q.Formula) {
		replaced := false
		if t.name {
			for _, nq := range q.Queries {
				if nq.Name == t.text {
					b.WriteString("(" + nq.Query + ")")
					replaced = true
					break
				}
			}
		}
		if !replaced {
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// Window is the time range a query of a canary that started at since looks
// at, at now: the configured window, but no earlier than a minute before
// the canary started (older points are of the previous release), and at
// least a minute.
func (c Config) Window(since, now time.Time) (from, to time.Time) {
	from = now.Add(-c.Datadog.Window)
	if !since.IsZero() {
		if s := since.Add(-time.Minute); s.After(from) {
			from = s
		}
	}
	if latest := now.Add(-time.Minute); from.After(latest) {
		from = latest
	}
	return from, now
}

// Plan applies a rollout's annotations and labels to the configuration.
// What is wrong with an annotation is reported in this rollout's plan only.
func (c Config) Plan(t Target) Plan {
	object := fmt.Sprintf("rollout %s/%s", t.Namespace, t.Name)
	var p Plan
	var metricProblems, bugsnagProblems []string
	queryOverrides := map[string]string{}
	for _, k := range sortedKeys(t.Annotations) {
		switch {
		case k == AnnotationService, k == AnnotationEnv, k == AnnotationTagKey, k == AnnotationOperation,
			k == AnnotationMetrics, k == AnnotationBugsnagProject:
		case strings.HasPrefix(k, AnnotationQuery):
			queryOverrides[strings.TrimPrefix(k, AnnotationQuery)] = t.Annotations[k]
		case strings.HasPrefix(k, metricsAnnotationPrefix):
			metricProblems = append(metricProblems, fmt.Sprintf("annotation %s is not one roost knows%s; the metrics annotations are %s, %s, %s, %s, %s and %s<metric-id>.<query-name>",
				k, didYouMean(k, annotationNames), AnnotationService, AnnotationEnv, AnnotationTagKey, AnnotationOperation, AnnotationMetrics, AnnotationQuery))
		case strings.HasPrefix(k, bugsnagAnnotationPrefix):
			bugsnagProblems = append(bugsnagProblems, fmt.Sprintf("annotation %s is not one roost knows%s; the Bugsnag annotation is %s", k, didYouMean(k, annotationNames), AnnotationBugsnagProject))
		}
	}

	dd := c.Datadog
	tagKey, operation := dd.TagKey, dd.Operation
	if v, ok := t.Annotations[AnnotationTagKey]; ok {
		tagKey = strings.TrimSpace(v)
		if !tagKeyPattern.MatchString(tagKey) {
			metricProblems = append(metricProblems, fmt.Sprintf("annotation %s: %q is not a Datadog tag key (a letter, then letters, digits, _ - . / :): write one such as kube_role", AnnotationTagKey, v))
		}
	}
	if v, ok := t.Annotations[AnnotationOperation]; ok {
		operation = strings.TrimSpace(v)
		if !operationPattern.MatchString(operation) {
			metricProblems = append(metricProblems, fmt.Sprintf("annotation %s: %q is not an APM operation name: write it like http.request", AnnotationOperation, v))
		}
	}
	service, serviceFrom := t.Name, "the rollout's name"
	switch {
	case t.Annotations[AnnotationService] != "":
		service, serviceFrom = strings.TrimSpace(t.Annotations[AnnotationService]), "annotation "+AnnotationService
	case t.TemplateLabels[LabelDatadogService] != "":
		service, serviceFrom = t.TemplateLabels[LabelDatadogService], "pod template label "+LabelDatadogService
	case t.TemplateLabels[LabelAppName] != "":
		service, serviceFrom = t.TemplateLabels[LabelAppName], "pod template label "+LabelAppName
	}
	if !tagValuePattern.MatchString(service) {
		metricProblems = append(metricProblems, fmt.Sprintf("%s: service %q is not a Datadog tag value (letters, digits, _ - . / :): set %s to the service's name", serviceFrom, service, AnnotationService))
	}
	env, envFrom := dd.Env, "datadog.env"
	switch {
	case t.Annotations[AnnotationEnv] != "":
		env, envFrom = strings.TrimSpace(t.Annotations[AnnotationEnv]), "annotation "+AnnotationEnv
	case env == "" && t.TemplateLabels[LabelDatadogEnv] != "":
		env, envFrom = t.TemplateLabels[LabelDatadogEnv], "pod template label "+LabelDatadogEnv
	}
	if env != "" && !tagValuePattern.MatchString(env) {
		metricProblems = append(metricProblems, fmt.Sprintf("%s: env %q is not a Datadog tag value (letters, digits, _ - . / :): set %s to the env's name", envFrom, env, AnnotationEnv))
	}

	data := newTemplateData(t.Namespace, t.Name, service, env, tagKey, operation, dd.CanaryValue, dd.StableValue)
	if t.Cluster != "" && dd.ClusterTag != "" {
		// Over several clusters, each cluster's series are its own.
		name, from := t.Cluster, "the kube context"
		if n := strings.TrimSpace(dd.ClusterNames[t.Cluster]); n != "" {
			name, from = n, "datadog.clusterNames."+t.Cluster
		}
		if tagValuePattern.MatchString(name) {
			data.withCluster(dd.ClusterTag, name)
		} else {
			metricProblems = append(metricProblems, fmt.Sprintf("%s: cluster %q is not a Datadog tag value (letters, digits, _ - . / :), so this cluster's series cannot be told from the others': set datadog.clusterNames.%s to its %s", from, name, t.Cluster, dd.ClusterTag))
		}
	}
	set := dd.Metrics
	if text, ok := t.Annotations[AnnotationMetrics]; ok {
		set = c.annotationMetrics(text, data, &metricProblems)
	}
	set = applyQueryOverrides(set, queryOverrides, &metricProblems)

	if len(metricProblems) > 0 {
		p.MetricsOff = object + ": " + strings.Join(metricProblems, "; ")
	} else {
		p.Metrics = make([]PlannedMetric, 0, len(set))
		for _, m := range set {
			p.Metrics = append(p.Metrics, planMetric(object, m, data))
		}
	}

	project, projectFrom := c.Bugsnag.Project, "bugsnag.project"
	if v, ok := t.Annotations[AnnotationBugsnagProject]; ok {
		project, projectFrom = strings.TrimSpace(v), "annotation "+AnnotationBugsnagProject
	}
	switch {
	case len(bugsnagProblems) > 0:
	case project == "":
		bugsnagProblems = append(bugsnagProblems, fmt.Sprintf("no Bugsnag project: set bugsnag.project in %s, or annotate the Rollout with %s=<project id>", c.fileName(), AnnotationBugsnagProject))
	case !projectPattern.MatchString(project):
		bugsnagProblems = append(bugsnagProblems, fmt.Sprintf("%s: %q is not a Bugsnag project id: copy the id from the project's settings", projectFrom, project))
	}
	if len(bugsnagProblems) > 0 {
		p.ErrorsOff = object + ": " + strings.Join(bugsnagProblems, "; ")
	} else {
		p.Errors = ErrorQuery{Project: project, CanaryStage: c.Bugsnag.CanaryStage, StableStage: c.Bugsnag.StableStage, Since: t.Since}
	}
	return p
}

var annotationNames = []string{AnnotationService, AnnotationEnv, AnnotationTagKey, AnnotationOperation, AnnotationMetrics, AnnotationBugsnagProject}

func didYouMean(s string, known []string) string {
	if k := closest(s, known); k != "" {
		return " (did you mean " + k + "?)"
	}
	return ""
}

func (c Config) fileName() string {
	if c.File != "" {
		return c.File
	}
	return "~/.config/roost/config.yaml"
}

// annotationMetrics reads the metrics annotation: a list merged onto the
// configured metrics by id.
func (c Config) annotationMetrics(text string, data templateData, problems *[]string) []MetricConfig {
	source := "annotation " + AnnotationMetrics
	var entries []fileMetric
	doc, decodeProblems := decodeStrict([]byte(text), &entries)
	if len(decodeProblems) == 0 && len(entries) == 0 {
		decodeProblems = []Problem{{Message: "the list is empty: list the metrics of this rollout, e.g. [{id: error_rate}], or remove the annotation"}}
	}
	if len(decodeProblems) > 0 {
		*problems = append(*problems, (&ConfigError{Source: source, Problems: decodeProblems}).Error())
		return nil
	}
	v := &validator{lines: doc, sample: data}
	set := v.metrics("", entries, c.Datadog.Metrics)
	if len(v.problems) > 0 {
		*problems = append(*problems, (&ConfigError{Source: source, Problems: v.problems}).Error())
		return nil
	}
	return set
}

// applyQueryOverrides replaces the queries named by query annotations. The
// metrics are copied: the configuration's are shared by every rollout.
func applyQueryOverrides(set []MetricConfig, overrides map[string]string, problems *[]string) []MetricConfig {
	if len(overrides) == 0 {
		return set
	}
	out := make([]MetricConfig, len(set))
	copy(out, set)
	for _, key := range sortedKeys(overrides) {
		annotation := AnnotationQuery + key
		id, name, ok := strings.Cut(key, ".")
		if !ok {
			*problems = append(*problems, fmt.Sprintf("annotation %s: name the metric and the query, like %serror_rate.errors", annotation, AnnotationQuery))
			continue
		}
		i := indexOfMetric(out, id)
		if i < 0 {
			*problems = append(*problems, fmt.Sprintf("annotation %s: %s is not one of this rollout's metrics (%s): fix the metric id", annotation, id, metricIDs(out)))
			continue
		}
		m := &out[i]
		j := -1
		names := make([]string, len(m.Queries))
		for k, q := range m.Queries {
			names[k] = q.Name
			if q.Name == name {
				j = k
			}
		}
		if j < 0 {
			*problems = append(*problems, fmt.Sprintf("annotation %s: metric %s has no query %s (its queries: %s): fix the query name", annotation, id, name, strings.Join(names, ", ")))
			continue
		}
		text := strings.TrimSpace(overrides[key])
		if text == "" {
			*problems = append(*problems, fmt.Sprintf("annotation %s is empty: give the Datadog query, or remove the annotation", annotation))
			continue
		}
		m.Queries = append([]NamedQuery(nil), m.Queries...)
		m.Queries[j].Query = text
	}
	return out
}

func indexOfMetric(ms []MetricConfig, id string) int {
	for i, m := range ms {
		if m.ID == id {
			return i
		}
	}
	return -1
}

func planMetric(object string, m MetricConfig, data templateData) PlannedMetric {
	pm := PlannedMetric{
		Query: MetricQuery{
			ID: m.ID, Name: m.Name, Unit: m.Unit, HigherIsWorse: m.HigherIsWorse,
			Formula: m.Formula, TagKey: data.TagKey,
			CanaryValue: data.CanaryValue, StableValue: data.StableValue, Scale: m.Scale,
			PerPod: m.PerPod,
		},
		Tolerance: m.Tolerance(),
	}
	pm.Query.Queries = make([]NamedQuery, 0, len(m.Queries))
	for _, q := range m.Queries {
		text, err := renderQuery(m.ID, q, data)
		if err != nil {
			pm.Err = object + ": " + err.Error()
			pm.Query.Queries = nil
			return pm
		}
		pm.Query.Queries = append(pm.Query.Queries, NamedQuery{Name: q.Name, Query: text})
	}
	return pm
}
