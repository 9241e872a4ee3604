package v1alpha1

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type intOrString = intstr.IntOrString

func fromInt(v int32) intstr.IntOrString     { return intstr.FromInt32(v) }
func fromString(v string) intstr.IntOrString { return intstr.FromString(v) }

func unstructuredString(obj map[string]interface{}, fields ...string) (string, bool, error) {
	return unstructured.NestedString(obj, fields...)
}
