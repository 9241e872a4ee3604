package v1alpha1

import (
	"fmt"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// AnalysisTemplateFromUnstructured decodes an AnalysisTemplate from the
// dynamic client. The spec is decoded strictly, as a Rollout's: every field
// roost does not model, every provider other than datadog and web, and every
// value of the wrong type comes back as a field error naming its path. A
// non-empty list means the template must not be run.
func AnalysisTemplateFromUnstructured(u *unstructured.Unstructured) (*AnalysisTemplate, field.ErrorList) {
	t := &AnalysisTemplate{TypeMeta: metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: AnalysisTemplateKind}}
	errs := decodeObject(u, &t.ObjectMeta, nil, "an AnalysisTemplate needs a spec with metrics",
		func(b []byte) field.ErrorList { return decodeStrict(b, &t.Spec, analysisUnknownField("template")) })
	return t, errs
}

// ClusterAnalysisTemplateFromUnstructured decodes a ClusterAnalysisTemplate
// as AnalysisTemplateFromUnstructured does.
func ClusterAnalysisTemplateFromUnstructured(u *unstructured.Unstructured) (*ClusterAnalysisTemplate, field.ErrorList) {
	t := &ClusterAnalysisTemplate{TypeMeta: metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: ClusterAnalysisTemplateKind}}
	errs := decodeObject(u, &t.ObjectMeta, nil, "a ClusterAnalysisTemplate needs a spec with metrics",
		func(b []byte) field.ErrorList { return decodeStrict(b, &t.Spec, analysisUnknownField("template")) })
	return t, errs
}

// AnalysisRunFromUnstructured decodes an AnalysisRun: its spec strictly, as
// a template's, its status leniently (an Argo Rollouts controller, maybe a
// newer one, may have written it).
func AnalysisRunFromUnstructured(u *unstructured.Unstructured) (*AnalysisRun, field.ErrorList) {
	r := &AnalysisRun{TypeMeta: metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: AnalysisRunKind}}
	errs := decodeObject(u, &r.ObjectMeta, &r.Status, "an AnalysisRun needs a spec with metrics",
		func(b []byte) field.ErrorList { return decodeStrict(b, &r.Spec, analysisUnknownField("analysis run")) })
	return r, errs
}

// AnalysisRunToUnstructured encodes an AnalysisRun for the dynamic client.
func AnalysisRunToUnstructured(r *AnalysisRun) (*unstructured.Unstructured, error) {
	c := *r
	c.TypeMeta = metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: AnalysisRunKind}
	return encodeUnstructured(&c, "analysisrun "+r.Namespace+"/"+r.Name)
}

// argoProviders are the metric providers of Argo Rollouts v1.8 that roost
// does not run. Each is refused by name so that the message says what to do.
var argoProviders = map[string]bool{
	"prometheus": true, "kayenta": true, "wavefront": true, "newRelic": true,
	"job": true, "cloudWatch": true, "graphite": true, "influxdb": true,
	"skywalking": true, "plugin": true,
}

// metricProviderPath matches spec.metrics[i].provider.NAME.
var metricProviderPath = regexp.MustCompile(`^spec\.metrics\[\d+\]\.provider\.[^.]+$`)

// analysisUnsupported explains, per field of an analysis object that Argo
// Rollouts knows and roost does not model, what to do instead.
var analysisUnsupported = map[string]string{
	"authentication":       "OAuth2 authentication of web metrics is not supported; send a token in a header from a Secret argument (value: \"Bearer {{args.token}}\")",
	"requestTimeout":       "requestTimeout is newer than the Argo Rollouts v1.8 API that roost follows; remove it (a Datadog request times out after 10 s)",
	"podTemplateHashValue": "podTemplateHashValue is set on the Rollout's analysis args, not on a template's; move it there",
}

// analysisUnknownField refuses the fields roost does not model in a template
// or run (what names which, for the fix).
func analysisUnknownField(what string) unknownFieldFunc {
	return func(p, name string) *field.Error {
		path := field.NewPath(p)
		if metricProviderPath.MatchString(p) && name != "datadog" && name != "web" {
			fix := "run this " + what + " with Argo Rollouts, or rewrite the metric for Datadog"
			if !argoProviders[name] {
				return field.Forbidden(path, fmt.Sprintf("%q is not a metric provider roost knows; roost runs the datadog and web providers only; %s", name, fix))
			}
			return field.Forbidden(path, "roost runs the datadog and web providers only; "+fix)
		}
		if why, ok := analysisUnsupported[name]; ok {
			return field.Forbidden(path, why+", or run this "+what+" with Argo Rollouts")
		}
		return field.Forbidden(path, "roost does not know this field; remove it, or run this "+what+" with Argo Rollouts")
	}
}

// InvalidAnalysisError is every problem of one template or run. It reads
// `analysistemplate shop/error-rate: spec.metrics[1].interval: "5x" is not a
// duration; write it as 30s, 5m or 1h`, one problem after another. It is an
// error, not an API object: it has no deep copy.
//
// +k8s:deepcopy-gen=false
type InvalidAnalysisError struct {
	// Kind is the object's kind: AnalysisTemplate, ClusterAnalysisTemplate or AnalysisRun.
	Kind      string
	Namespace string
	Name      string
	Problems  field.ErrorList
}

// AnalysisProblems wraps the problems of an object of the given kind into an
// *InvalidAnalysisError, or returns nil when there are none.
func AnalysisProblems(kind string, obj metav1.Object, problems field.ErrorList) error {
	if len(problems) == 0 {
		return nil
	}
	return &InvalidAnalysisError{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Problems: problems}
}

func (e *InvalidAnalysisError) Error() string {
	name := e.Name
	if e.Namespace != "" {
		name = e.Namespace + "/" + name
	}
	msgs := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		msgs = append(msgs, problemText(p))
	}
	return fmt.Sprintf("%s %s: %s", strings.ToLower(e.Kind), name, strings.Join(msgs, "; "))
}

// problemText is a field error as "path: what to do": the details written in
// this package already quote the value at fault.
func problemText(e *field.Error) string {
	detail := e.Detail
	if detail == "" {
		detail = e.ErrorBody()
	}
	return e.Field + ": " + detail
}
