package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// validRolloutYAML is the canonical example: 20% → pause → 50% → 30 s → 100%.
const validRolloutYAML = `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
  namespace: shop
  generation: 3
spec:
  replicas: 10
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      containers:
      - name: web
        image: shop/checkout:1.2.0
  strategy:
    canary:
      maxSurge: "25%"
      maxUnavailable: 0
      canaryMetadata:
        labels: {role: canary}
      stableMetadata:
        labels: {role: stable}
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 50
      - pause: {duration: 30s}
`

func decodeYAML(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	// Numbers from YAML come as float64 or int64 depending on the path; a JSON
	// round trip gives the int64s the API server's decoder gives.
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return out
}
