package controller

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// errorRetry is how soon a failed API call of the analysis is retried.
const errorRetry = 10 * time.Second

// maxTemplateDepth bounds nested template references (a cycle is an error
// before that).
const maxTemplateDepth = 10

// template is one resolved template: its kind and name, and its spec.
type template struct {
	cluster bool
	name    string
	spec    v1alpha1.AnalysisTemplateSpec
	noData  string
}

// runSpec builds the spec of a run of a: the metrics of its templates (and
// of the templates they nest), namespaced ones first, then cluster ones;
// their arguments, overridden by the Rollout's (names the templates do not
// declare are dropped, as Argo drops them); their dryRun and retention rules
// then the Rollout's. A step run's metrics must end. noData is the
// templates' no-data annotation, if any.
func (s *syncContext) runSpec(a *v1alpha1.RolloutAnalysis, isStep bool, path *field.Path) (*v1alpha1.AnalysisRunSpec, string, field.ErrorList) {
	var templates []template
	seen := map[string]bool{}
	var errs field.ErrorList
	var walk func(refs []v1alpha1.AnalysisTemplateRef, depth int, p *field.Path)
	walk = func(refs []v1alpha1.AnalysisTemplateRef, depth int, p *field.Path) {
		for i, ref := range refs {
			key := fmt.Sprintf("%t/%s", ref.ClusterScope, ref.TemplateName)
			if seen[key] {
				continue
			}
			seen[key] = true
			if depth > maxTemplateDepth {
				errs = append(errs, field.Invalid(p.Index(i), ref.TemplateName, "templates nest too deep; a template refers back to itself?"))
				return
			}
			t, err := s.fetchTemplate(ref)
			if err != nil {
				errs = append(errs, field.Invalid(p.Index(i).Child("templateName"), ref.TemplateName, err.Error()))
				continue
			}
			templates = append(templates, *t)
			walk(t.spec.Templates, depth+1, p)
		}
	}
	walk(a.Templates, 0, path.Child("templates"))
	if len(errs) > 0 {
		return nil, "", errs
	}
	// Namespaced templates' metrics first, then the cluster ones'.
	ordered := make([]template, 0, len(templates))
	for _, cluster := range []bool{false, true} {
		for _, t := range templates {
			if t.cluster == cluster {
				ordered = append(ordered, t)
			}
		}
	}

	spec := &v1alpha1.AnalysisRunSpec{}
	metricFrom := map[string]string{}
	var noData string
	for _, t := range ordered {
		what := kindName(t)
		for _, m := range t.spec.Metrics {
			if prev, dup := metricFrom[m.Name]; dup {
				errs = append(errs, field.Invalid(path.Child("templates"), t.name,
					fmt.Sprintf("metric %q is defined by both %s and %s; rename one of them", m.Name, prev, what)))
				continue
			}
			metricFrom[m.Name] = what
			if isStep {
				if _, bounded, err := m.EffectiveCount(); err == nil && !bounded {
					count := "unset"
					if m.Count != nil {
						count = m.Count.String()
					}
					errs = append(errs, field.Invalid(path.Child("templates"), t.name,
						fmt.Sprintf("AnalysisTemplate %s has metric %s which runs indefinitely. Invalid value for count: %s; give it a count, or use it as background analysis (spec.strategy.canary.analysis)", t.name, m.Name, count)))
				}
			}
			spec.Metrics = append(spec.Metrics, m)
		}
		spec.DryRun = append(spec.DryRun, t.spec.DryRun...)
		spec.MeasurementRetention = append(spec.MeasurementRetention, t.spec.MeasurementRetention...)
		if t.noData != "" {
			noData = t.noData
		}
	}
	spec.DryRun = append(spec.DryRun, a.DryRun...)
	spec.MeasurementRetention = append(spec.MeasurementRetention, a.MeasurementRetention...)

	args, aerrs := s.mergeArgs(ordered, a.Args, path.Child("args"))
	errs = append(errs, aerrs...)
	spec.Args = args
	if len(errs) > 0 {
		return nil, "", errs
	}
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: s.r.Name, Namespace: s.r.Namespace}, Spec: *spec}
	if verrs := v1alpha1.ValidateAnalysisRun(run); len(verrs) > 0 {
		msgs := make([]string, len(verrs))
		for i, e := range verrs {
			msgs[i] = e.Error()
		}
		return nil, "", field.ErrorList{field.Invalid(path, "", "the run its templates make is invalid: "+strings.Join(msgs, "; "))}
	}
	return spec, noData, nil
}

func kindName(t template) string {
	if t.cluster {
		return "ClusterAnalysisTemplate " + t.name
	}
	return "AnalysisTemplate " + t.name
}

// fetchTemplate reads and checks one template.
func (s *syncContext) fetchTemplate(ref v1alpha1.AnalysisTemplateRef) (*template, error) {
	t := &template{cluster: ref.ClusterScope, name: ref.TemplateName}
	if ref.ClusterScope {
		u, err := s.c.clusterTemplates.Get(s.ctx, ref.TemplateName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("ClusterAnalysisTemplate '%s' not found; create it, or fix the name", ref.TemplateName)
		}
		if err != nil {
			return nil, fmt.Errorf("reading ClusterAnalysisTemplate '%s': %v", ref.TemplateName, err)
		}
		ct, errs := v1alpha1.ClusterAnalysisTemplateFromUnstructured(u)
		if len(errs) == 0 {
			errs = v1alpha1.ValidateClusterAnalysisTemplate(ct)
		}
		if err := v1alpha1.AnalysisProblems(v1alpha1.ClusterAnalysisTemplateKind, ct, errs); err != nil {
			return nil, err
		}
		t.spec, t.noData = ct.Spec, ct.Annotations[analysis.NoDataAnnotation]
		return t, nil
	}
	u, err := s.c.templates.Namespace(s.r.Namespace).Get(s.ctx, ref.TemplateName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("AnalysisTemplate '%s' not found in namespace %s; create it, or set clusterScope: true for a ClusterAnalysisTemplate", ref.TemplateName, s.r.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("reading AnalysisTemplate '%s': %v", ref.TemplateName, err)
	}
	at, errs := v1alpha1.AnalysisTemplateFromUnstructured(u)
	if len(errs) == 0 {
		errs = v1alpha1.ValidateAnalysisTemplate(at)
	}
	if err := v1alpha1.AnalysisProblems(v1alpha1.AnalysisTemplateKind, at, errs); err != nil {
		return nil, err
	}
	t.spec, t.noData = at.Spec, at.Annotations[analysis.NoDataAnnotation]
	return t, nil
}

// mergeArgs joins the templates' arguments (two templates may not give one
// argument different values) and fills them from the Rollout's: a value,
// the hash of the new or stable ReplicaSet, or a field of the Rollout.
// Every argument must end with a value or a Secret reference.
func (s *syncContext) mergeArgs(templates []template, rolloutArgs []v1alpha1.AnalysisRunArgument, path *field.Path) ([]v1alpha1.Argument, field.ErrorList) {
	var errs field.ErrorList
	var args []v1alpha1.Argument
	index := map[string]int{}
	for _, t := range templates {
		for _, a := range t.spec.Args {
			if i, ok := index[a.Name]; ok {
				prev := args[i]
				if prev.Value != nil && a.Value != nil && *prev.Value != *a.Value {
					errs = append(errs, field.Invalid(path, a.Name, fmt.Sprintf("argument %q has two values in the templates (%q and %q); give it one", a.Name, *prev.Value, *a.Value)))
				}
				if prev.Value == nil && prev.ValueFrom == nil {
					args[i] = a
				}
				continue
			}
			index[a.Name] = len(args)
			args = append(args, a)
		}
	}
	for i, ra := range rolloutArgs {
		at, ok := index[ra.Name]
		if !ok {
			// Argo drops an argument no template declares.
			continue
		}
		v, err := s.argValue(ra)
		if err != nil {
			errs = append(errs, field.Invalid(path.Index(i), ra.Name, err.Error()))
			continue
		}
		args[at] = v1alpha1.Argument{Name: ra.Name, Value: &v}
	}
	for _, a := range args {
		if a.Value == nil && a.ValueFrom == nil {
			errs = append(errs, field.Required(path, fmt.Sprintf("args.%s was not resolved: the template declares it without a value; pass it in the Rollout's analysis args", a.Name)))
		}
	}
	return args, errs
}

// argValue is the value of one Rollout argument.
func (s *syncContext) argValue(a v1alpha1.AnalysisRunArgument) (string, error) {
	if a.ValueFrom == nil {
		return a.Value, nil
	}
	if h := a.ValueFrom.PodTemplateHashValue; h != nil {
		switch *h {
		case v1alpha1.PodTemplateHashLatest:
			return s.newHash, nil
		case v1alpha1.PodTemplateHashStable:
			return s.r.Status.StableRS, nil
		}
		return "", fmt.Errorf("podTemplateHashValue %q: use Latest or Stable", *h)
	}
	if f := a.ValueFrom.FieldRef; f != nil {
		return fieldValue(s.r, f.FieldPath)
	}
	return "", fmt.Errorf("valueFrom needs podTemplateHashValue or fieldRef")
}

var downwardKey = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']*)'\]$`)

// fieldValue reads a field of the Rollout: metadata by the downward API's
// rules (metadata.labels['k'] and the like), any other path by walking its
// JSON (spec.template.spec.containers[0].image). A scalar is its text, an
// object or list its JSON.
func fieldValue(r *v1alpha1.Rollout, path string) (string, error) {
	path = strings.TrimSpace(path)
	if m := downwardKey.FindStringSubmatch(path); m != nil {
		src := r.Labels
		if m[1] == "annotations" {
			src = r.Annotations
		}
		v, ok := src[m[2]]
		if !ok {
			return "", fmt.Errorf("fieldRef %s: the Rollout has no %s %q", path, strings.TrimSuffix(m[1], "s"), m[2])
		}
		return v, nil
	}
	switch path {
	case "metadata.name":
		return r.Name, nil
	case "metadata.namespace":
		return r.Namespace, nil
	case "metadata.uid":
		return string(r.UID), nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	var cur any
	if err := json.Unmarshal(b, &cur); err != nil {
		return "", err
	}
	for _, part := range splitPath(path) {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[part]
			if !ok {
				return "", fmt.Errorf("fieldRef %s: the Rollout has no field %q there", path, part)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return "", fmt.Errorf("fieldRef %s: %q is not an index of a list of %d", path, part, len(node))
			}
			cur = node[i]
		default:
			return "", fmt.Errorf("fieldRef %s: %q is below a value that has no fields", path, part)
		}
	}
	switch v := cur.(type) {
	case string:
		return v, nil
	case nil:
		return "", fmt.Errorf("fieldRef %s: the field is empty", path)
	}
	out, err := json.Marshal(cur)
	return string(out), err
}

// splitPath splits a.b[0].c into a, b, 0, c.
func splitPath(path string) []string {
	var parts []string
	for _, seg := range strings.Split(path, ".") {
		for seg != "" {
			open := strings.Index(seg, "[")
			if open < 0 {
				parts = append(parts, seg)
				break
			}
			if open > 0 {
				parts = append(parts, seg[:open])
			}
			end := strings.Index(seg[open:], "]")
			if end < 0 {
				parts = append(parts, seg[open+1:])
				break
			}
			parts = append(parts, strings.Trim(seg[open+1:open+end], `'"`))
			seg = seg[open+end+1:]
		}
	}
	return parts
}
