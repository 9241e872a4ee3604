package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// schemaOf returns the one version's schema of a CRD.
func schemaOf(t *testing.T, crd *unstructured.Unstructured) map[string]interface{} {
	t.Helper()
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if len(versions) != 1 {
		t.Fatalf("%s has %d versions, want 1 (v1alpha1)", crd.GetName(), len(versions))
	}
	v := versions[0].(map[string]interface{})
	if v["name"] != "v1alpha1" || v["served"] != true || v["storage"] != true {
		t.Fatalf("%s: version %v served %v storage %v, want v1alpha1 served and stored", crd.GetName(), v["name"], v["served"], v["storage"])
	}
	schema, _, _ := unstructured.NestedMap(v, "schema", "openAPIV3Schema")
	if schema == nil {
		t.Fatalf("%s has no openAPIV3Schema", crd.GetName())
	}
	return schema
}

// structuralProblems lists where a schema breaks the rules the API server
// checks for apiextensions.k8s.io/v1 (structural schemas): a type on every
// node unless it is int-or-string or keeps unknown fields, properties only on
// objects, items on every array, never properties and additionalProperties
// together, and int-or-string written as anyOf integer/string.
func structuralProblems(node map[string]interface{}, path string) []string {
	var out []string
	typ, _ := node["type"].(string)
	intOrString, _ := node["x-kubernetes-int-or-string"].(bool)
	preserve, _ := node["x-kubernetes-preserve-unknown-fields"].(bool)
	switch {
	case intOrString:
		if typ != "" {
			out = append(out, path+": an int-or-string node has no type")
		}
		anyOf, _ := node["anyOf"].([]interface{})
		if len(anyOf) != 2 || anyOf[0].(map[string]interface{})["type"] != "integer" || anyOf[1].(map[string]interface{})["type"] != "string" {
			out = append(out, path+": int-or-string needs anyOf [integer, string]")
		}
	case typ == "" && !preserve:
		out = append(out, path+": no type")
	case !slices.Contains([]string{"", "object", "array", "string", "integer", "number", "boolean"}, typ):
		out = append(out, path+": unknown type "+typ)
	}
	props, hasProps := node["properties"].(map[string]interface{})
	if hasProps && typ != "object" {
		out = append(out, path+": properties on a non-object")
	}
	if _, ok := node["additionalProperties"]; ok && hasProps {
		out = append(out, path+": properties and additionalProperties together")
	}
	for name, p := range props {
		out = append(out, structuralProblems(p.(map[string]interface{}), path+"."+name)...)
	}
	if ap, ok := node["additionalProperties"].(map[string]interface{}); ok {
		out = append(out, structuralProblems(ap, path+"{}")...)
	}
	if typ == "array" {
		items, ok := node["items"].(map[string]interface{})
		if !ok {
			out = append(out, path+": an array needs items")
		} else {
			out = append(out, structuralProblems(items, path+"[]")...)
		}
	}
	for _, req := range stringsOf(node["required"]) {
		if _, ok := props[req]; !ok {
			out = append(out, fmt.Sprintf("%s: required %q is not a property", path, req))
		}
	}
	return out
}

func stringsOf(v interface{}) []string {
	var out []string
	list, _ := v.([]interface{})
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

// TestCRDsAreStructural covers every CRD roost installs, and checks that the
// analysis ones name the kinds as Argo Rollouts does.
func TestCRDsAreStructural(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][4]string{ // name → kind, plural, short name, scope
		CRDName:                                {"Rollout", "rollouts", "ro", "Namespaced"},
		"analysistemplates.argoproj.io":        {"AnalysisTemplate", "analysistemplates", "at", "Namespaced"},
		"clusteranalysistemplates.argoproj.io": {"ClusterAnalysisTemplate", "clusteranalysistemplates", "cat", "Cluster"},
		"analysisruns.argoproj.io":             {"AnalysisRun", "analysisruns", "ar", "Namespaced"},
	}
	if len(crds) != len(want) {
		t.Fatalf("CRDs() returned %d CRDs, want %d", len(crds), len(want))
	}
	for _, crd := range crds {
		w, ok := want[crd.GetName()]
		if !ok {
			t.Errorf("unexpected CRD %s", crd.GetName())
			continue
		}
		if crd.GetKind() != "CustomResourceDefinition" || crd.GetAPIVersion() != "apiextensions.k8s.io/v1" {
			t.Errorf("%s is a %s %s", crd.GetName(), crd.GetAPIVersion(), crd.GetKind())
		}
		if crd.GetLabels()[OwnerLabel] != OwnerValue {
			t.Errorf("%s lacks %s=%s: roost install would not recognise it as its own", crd.GetName(), OwnerLabel, OwnerValue)
		}
		names, _, _ := unstructured.NestedMap(crd.Object, "spec", "names")
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
		if names["kind"] != w[0] || names["listKind"] != w[0]+"List" || names["plural"] != w[1] || crd.GetName() != w[1]+"."+group ||
			group != "argoproj.io" || !slices.Contains(stringsOf(names["shortNames"]), w[2]) || scope != w[3] {
			t.Errorf("%s: names %v, group %s, scope %s; want %v", crd.GetName(), names, group, scope, w)
		}
		schema := schemaOf(t, crd)
		for _, p := range structuralProblems(schema, crd.GetName()) {
			t.Error(p)
		}
	}
}

// TestAnalysisCRDsKeepUnsupportedFields: as for Rollouts, the API server must
// not prune what roost refuses by name (a Prometheus provider, OAuth2 on a web
// metric, a newer status field), so each object on the way to them keeps
// unknown fields. Without a status subresource, like Argo Rollouts' CRD, a
// patch of the run writes its status.
func TestAnalysisCRDsKeepUnsupportedFields(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	metric := [][]string{
		{"spec"},
		{"spec", "metrics", "[]"},
		{"spec", "metrics", "[]", "provider"},
		{"spec", "metrics", "[]", "provider", "datadog"},
		{"spec", "metrics", "[]", "provider", "web"},
		{"spec", "args", "[]"},
		{"spec", "args", "[]", "valueFrom"},
	}
	for _, crd := range crds[1:] {
		schema := schemaOf(t, crd)
		paths := metric
		if crd.GetName() == "analysisruns.argoproj.io" {
			paths = append(slices.Clone(metric), []string{"status"})
			versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
			if _, found, _ := unstructured.NestedMap(versions[0].(map[string]interface{}), "subresources", "status"); found {
				t.Error("analysisruns has a status subresource; Argo Rollouts writes a run's status with a patch of the run")
			}
		}
		for _, p := range paths {
			node := schemaNode(schema, p)
			if node == nil {
				t.Errorf("%s: schema has no %s", crd.GetName(), strings.Join(p, "."))
				continue
			}
			if keep, _, _ := unstructured.NestedBool(node, "x-kubernetes-preserve-unknown-fields"); !keep {
				t.Errorf("%s: %s does not preserve unknown fields; the API server would prune what roost must refuse by name", crd.GetName(), strings.Join(p, "."))
			}
		}
	}
}

func schemaNode(schema map[string]interface{}, path []string) map[string]interface{} {
	node := schema
	for _, part := range path {
		if part == "[]" {
			node, _, _ = unstructured.NestedMap(node, "items")
		} else {
			node, _, _ = unstructured.NestedMap(node, "properties", part)
		}
		if node == nil {
			return nil
		}
	}
	return node
}

// fitProblems lists where a manifest would not go through the API server
// unchanged: a value of another type than the schema's, a required field
// missing, or a field the server would prune.
func fitProblems(schema map[string]interface{}, v interface{}, path string) []string {
	if io, _ := schema["x-kubernetes-int-or-string"].(bool); io {
		switch v.(type) {
		case int64, float64, string:
			return nil
		}
		return []string{fmt.Sprintf("%s: %v is neither an integer nor a string", path, v)}
	}
	var out []string
	switch typ, _ := schema["type"].(string); typ {
	case "object":
		obj, ok := v.(map[string]interface{})
		if !ok {
			return []string{fmt.Sprintf("%s: %v is not an object", path, v)}
		}
		props, _ := schema["properties"].(map[string]interface{})
		additional, _ := schema["additionalProperties"].(map[string]interface{})
		preserve, _ := schema["x-kubernetes-preserve-unknown-fields"].(bool)
		for _, req := range stringsOf(schema["required"]) {
			if _, ok := obj[req]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: required by the schema", path, req))
			}
		}
		for k, sub := range obj {
			switch p, ok := props[k].(map[string]interface{}); {
			case ok:
				out = append(out, fitProblems(p, sub, path+"."+k)...)
			case additional != nil:
				out = append(out, fitProblems(additional, sub, path+"."+k)...)
			case !preserve && path != "" && path != ".metadata":
				out = append(out, path+"."+k+": the API server would prune it")
			}
		}
	case "array":
		list, ok := v.([]interface{})
		if !ok {
			return []string{fmt.Sprintf("%s: %v is not a list", path, v)}
		}
		items, _ := schema["items"].(map[string]interface{})
		for i, x := range list {
			out = append(out, fitProblems(items, x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			out = append(out, fmt.Sprintf("%s: %v is not a string", path, v))
		}
	case "integer":
		switch n := v.(type) {
		case int64:
		case float64:
			if n != float64(int64(n)) {
				out = append(out, fmt.Sprintf("%s: %v is not an integer", path, v))
			}
		default:
			out = append(out, fmt.Sprintf("%s: %v is not an integer", path, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			out = append(out, fmt.Sprintf("%s: %v is not a boolean", path, v))
		}
	}
	return out
}

// Samples written for Argo Rollouts (its documented Datadog v2 and web
// templates, and a run as its controller leaves it) must apply unchanged.
const (
	sampleDatadogTemplate = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
  namespace: shop
spec:
  args:
  - name: service-name
  metrics:
  - name: error-rate
    interval: 5m
    count: "{{args.samples}}"
    successCondition: default(result, 0) < 0.05
    failureLimit: 3
    consecutiveSuccessLimit: 2
    provider:
      datadog:
        apiVersion: v2
        interval: 5m
        aggregator: avg
        queries:
          a: sum:requests.error.count{service:{{args.service-name}}}
          b: sum:requests.request.count{service:{{args.service-name}}}
        formula: "moving_rollup(a, 60, 'sum') / b"
        secretRef:
          name: datadog-shop
          namespaced: true
  dryRun:
  - metricName: .*
  measurementRetention:
  - metricName: error-rate
    limit: 20
`
	sampleWebTemplate = `
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  name: health
spec:
  args:
  - name: api-token
    valueFrom:
      secretKeyRef:
        name: health-api
        key: token
  templates:
  - templateName: error-rate
  metrics:
  - name: healthy
    successCondition: result == true
    provider:
      web:
        method: POST
        url: "https://health.internal/check"
        timeoutSeconds: 20
        jsonPath: "{$.results.ok}"
        jsonBody:
          service: checkout
          deep: {list: [1, 2]}
        insecure: true
        headers:
        - key: Authorization
          value: "Bearer {{ args.api-token }}"
`
	sampleAnalysisRun = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: checkout-6f9d8c7b5-2-1
  namespace: shop
spec:
  terminate: true
  ttlStrategy:
    secondsAfterCompletion: 3600
  args:
  - name: service-name
    value: checkout
  metrics:
  - name: error-rate
    interval: 1m
    count: 3
    provider:
      prometheus:
        query: kept for roost to refuse
status:
  phase: Failed
  message: 'Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)'
  metricResults:
  - name: error-rate
    phase: Failed
    measurements:
    - phase: Failed
      value: "0.2"
`
)

func TestAnalysisSamplesFitCRDs(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]map[string]interface{}{}
	for _, crd := range crds {
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		byKind[kind] = schemaOf(t, crd)
	}
	for _, doc := range []string{sampleDatadogTemplate, sampleWebTemplate, sampleAnalysisRun} {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		// The JSON round trip gives the int64s the API server decodes.
		b, _ := u.MarshalJSON()
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		schema := byKind[u.GetKind()]
		if schema == nil {
			t.Fatalf("no CRD for %s", u.GetKind())
		}
		for _, p := range fitProblems(schema, u.Object, "") {
			t.Errorf("%s %s: %s", u.GetKind(), u.GetName(), p)
		}
	}
	// The check itself finds a field the server would prune and a wrong type.
	bad := map[string]interface{}{"spec": map[string]interface{}{"dryRun": []interface{}{map[string]interface{}{"metricName": int64(3), "extra": true}}}}
	if got := fitProblems(byKind["AnalysisTemplate"], bad, ""); len(got) != 2 {
		t.Errorf("fitProblems on a bad template = %v, want a type error and a pruned field", got)
	}
}
