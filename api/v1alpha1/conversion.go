package v1alpha1

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// unsupported explains, per Argo Rollouts field roost does not implement, why it
// refuses the Rollout instead of silently ignoring the field.
var unsupported = map[string]string{
	"trafficRouting": "traffic routers are not supported; roost runs the basic canary (pod-count weights)",
	"experiment":     "experiment steps are not supported",
	"setCanaryScale": "SetCanaryScale requires TrafficRouting to be set, and roost does not support traffic routers",
	"setHeaderRoute": "SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix; roost does not support traffic routers",
	"setMirrorRoute": "SetMirrorRoute requires TrafficRouting, supports Istio only; roost does not support traffic routers",
	"plugin":         "step plugins are not supported",
	"workloadRef":    "workloadRef is not supported; put the pod template in spec.template",
	"blueGreen":      "the blue-green strategy is not supported; roost runs canaries",
	"pingPong":       "ping-pong services need a traffic router (ALB), which roost does not support",
	"rollbackWindow": "rollbackWindow is not supported: roost steps a return to an older revision through the canary steps (only a return to the stable template skips them)",
}

const unsupportedFix = "; remove it, or let Argo Rollouts step this Rollout (roost --reconciler=off)"

// FromUnstructured decodes a Rollout from the dynamic client. Metadata and status
// are always decoded when they can be; the spec is decoded strictly, and every
// field roost does not model, or of the wrong type, comes back as a field error
// naming its path. A non-empty error list means the spec must not be acted on.
func FromUnstructured(u *unstructured.Unstructured) (*Rollout, field.ErrorList) {
	r := &Rollout{TypeMeta: metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: Kind}}
	errs := decodeObject(u, &r.ObjectMeta, &r.Status,
		"a Rollout needs a spec with selector, template and strategy.canary",
		func(b []byte) field.ErrorList { return DecodeSpec(b, &r.Spec) })
	return r, errs
}

// decodeObject decodes the metadata and status of an object of ours from the
// dynamic client and hands its spec, as JSON, to decodeSpec. Status is written
// by controllers, possibly newer ones, so it is decoded leniently; status may
// be nil for kinds without one. noSpec says what to write when there is no spec.
func decodeObject(u *unstructured.Unstructured, meta *metav1.ObjectMeta, status any, noSpec string, decodeSpec func([]byte) field.ErrorList) field.ErrorList {
	var errs field.ErrorList
	if md, ok := u.Object["metadata"].(map[string]interface{}); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(md, meta); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("metadata"), "", err.Error()))
		}
	}
	if st, ok := u.Object["status"]; ok && st != nil && status != nil {
		if b, err := json.Marshal(st); err == nil {
			_ = json.Unmarshal(b, status)
		}
	}
	spec, ok := u.Object["spec"]
	if !ok || spec == nil {
		return append(errs, field.Required(field.NewPath("spec"), noSpec))
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return append(errs, field.Invalid(field.NewPath("spec"), "", err.Error()))
	}
	return append(errs, decodeSpec(b)...)
}

// DecodeSpec decodes a spec strictly from JSON, reporting unknown fields and type
// errors with their paths under "spec".
func DecodeSpec(data []byte, spec *RolloutSpec) field.ErrorList {
	return decodeStrict(data, spec, rolloutUnknownField)
}

// unknownFieldFunc explains why a field roost does not model is refused. path
// is the field's path under "spec"; name is its last element.
type unknownFieldFunc func(path, name string) *field.Error

// decodeStrict decodes a spec strictly from JSON into v, reporting type errors
// with their paths under "spec" and each unknown field as unknown explains it.
func decodeStrict(data []byte, v any, unknown unknownFieldFunc) field.ErrorList {
	var errs field.ErrorList
	strict, err := kjson.UnmarshalStrict(data, v)
	if err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			p := "spec"
			if te.Field != "" {
				p += "." + te.Field
			}
			errs = append(errs, field.Invalid(field.NewPath(p), te.Value, fmt.Sprintf("must be of type %s", jsonTypeName(te.Type.String()))))
		case errors.As(err, &se):
			errs = append(errs, field.Invalid(field.NewPath("spec"), "", "is not valid JSON: "+se.Error()))
		default:
			errs = append(errs, field.Invalid(field.NewPath("spec"), "", err.Error()))
		}
	}
	for _, se := range strict {
		path, name := strictErrorPath(se.Error())
		errs = append(errs, unknown(path, name))
	}
	return errs
}

func jsonTypeName(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "integer"
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "list"
	case strings.HasPrefix(goType, "map"):
		return "object"
	}
	return goType
}

// strictErrorPath reads the field's path under "spec", and its last element,
// from kjson's `unknown field "strategy.canary.trafficRouting"`.
func strictErrorPath(msg string) (path, name string) {
	p := msg
	if i := strings.Index(msg, "\""); i >= 0 {
		if j := strings.LastIndex(msg, "\""); j > i {
			p = msg[i+1 : j]
		}
	}
	name = p
	if i := strings.LastIndex(p, "."); i >= 0 {
		name = p[i+1:]
	}
	return "spec." + p, name
}

func rolloutUnknownField(p, name string) *field.Error {
	path := field.NewPath(p)
	if why, ok := unsupported[name]; ok {
		return field.Forbidden(path, why+unsupportedFix)
	}
	return field.Forbidden(path, "roost does not know this field"+unsupportedFix)
}

// ToUnstructured encodes a Rollout for the dynamic client.
func ToUnstructured(r *Rollout) (*unstructured.Unstructured, error) {
	c := *r
	c.TypeMeta = metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: Kind}
	return encodeUnstructured(&c, "rollout "+r.Namespace+"/"+r.Name)
}

// encodeUnstructured encodes v, one of our objects named by what, for the
// dynamic client. It goes through JSON so that numbers come out as int64 and
// raw fields stay JSON, as the server sends them.
func encodeUnstructured(v any, what string) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return u, nil
}
