package deploy

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

func crdObject(name string, labels map[string]string, rv string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"spec":       map[string]interface{}{"group": "argoproj.io"},
	}}
	u.SetName(name)
	u.SetLabels(labels)
	u.SetResourceVersion(rv)
	return u
}

// fakeCRDs returns a fake CRD client in which every created or updated CRD
// comes out Established, as the API server's CRD controller would make it.
func fakeCRDs(objs ...runtime.Object) (*dynamicfake.FakeDynamicClient, func() []k8stesting.Action) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{CRDGVR: "CustomResourceDefinitionList"}, objs...)
	establish := func(action k8stesting.Action) (bool, runtime.Object, error) {
		// Create and update actions both carry the object.
		withObject, ok := action.(interface{ GetObject() runtime.Object })
		if !ok {
			return false, nil, nil
		}
		if u, ok := withObject.GetObject().(*unstructured.Unstructured); ok {
			_ = unstructured.SetNestedSlice(u.Object, []interface{}{
				map[string]interface{}{"type": "Established", "status": "True"},
			}, "status", "conditions")
		}
		return false, nil, nil
	}
	client.PrependReactor("create", "customresourcedefinitions", establish)
	client.PrependReactor("update", "customresourcedefinitions", establish)
	return client, client.Actions
}

// crdNames are the CRDs roost installs.
var crdNames = []string{CRDName, "analysistemplates.argoproj.io", "clusteranalysistemplates.argoproj.io", "analysisruns.argoproj.io"}

func TestInstall(t *testing.T) {
	roosts := map[string]string{OwnerLabel: OwnerValue}
	argos := map[string]string{"app.kubernetes.io/name": "argo-rollouts"}
	all := func(labels map[string]string) []runtime.Object {
		var objs []runtime.Object
		for _, n := range crdNames {
			objs = append(objs, crdObject(n, labels, "7"))
		}
		return objs
	}
	tests := []struct {
		name       string
		existing   []runtime.Object
		wantOutput []string
		wantWrites map[string]string // CRD name → verb of its single write; absent for none
	}{
		{
			name: "no CRDs: creates roost's",
			wantOutput: []string{
				"created CustomResourceDefinition rollouts.argoproj.io",
				"created CustomResourceDefinition analysisruns.argoproj.io",
				"CustomResourceDefinition clusteranalysistemplates.argoproj.io is established",
			},
			wantWrites: map[string]string{CRDName: "create", crdNames[1]: "create", crdNames[2]: "create", crdNames[3]: "create"},
		},
		{
			name:       "roost's CRDs: updates them",
			existing:   all(roosts),
			wantOutput: []string{"updated CustomResourceDefinition rollouts.argoproj.io", "updated CustomResourceDefinition analysistemplates.argoproj.io"},
			wantWrites: map[string]string{CRDName: "update", crdNames[1]: "update", crdNames[2]: "update", crdNames[3]: "update"},
		},
		{
			name:     "Argo Rollouts' CRDs: left untouched",
			existing: all(argos),
			wantOutput: []string{
				"CustomResourceDefinition rollouts.argoproj.io already exists and was not installed by roost",
				"CustomResourceDefinition analysisruns.argoproj.io already exists and was not installed by roost",
			},
		},
		{
			name:       "Argo Rollouts' Rollout CRD alone: adds the analysis CRDs beside it",
			existing:   []runtime.Object{crdObject(CRDName, argos, "7")},
			wantOutput: []string{"rollouts.argoproj.io already exists and was not installed by roost", "created CustomResourceDefinition analysistemplates.argoproj.io"},
			wantWrites: map[string]string{crdNames[1]: "create", crdNames[2]: "create", crdNames[3]: "create"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, actions := fakeCRDs(tt.existing...)
			var out bytes.Buffer
			if err := install(context.Background(), client.Resource(CRDGVR), &out, 5*time.Second); err != nil {
				t.Fatalf("install: %v", err)
			}
			for _, w := range tt.wantOutput {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output %q does not say %q", out.String(), w)
				}
			}
			writes := map[string][]string{}
			for _, a := range actions() {
				if a.GetVerb() == "create" || a.GetVerb() == "update" {
					name := a.(interface{ GetObject() runtime.Object }).GetObject().(*unstructured.Unstructured).GetName()
					writes[name] = append(writes[name], a.GetVerb())
				} else if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
					t.Errorf("unexpected %s", a.GetVerb())
				}
			}
			for _, name := range crdNames {
				want, got := tt.wantWrites[name], writes[name]
				if want == "" && len(got) != 0 {
					t.Errorf("wrote %v to %s, which is not roost's", got, name)
				}
				if want != "" && (len(got) != 1 || got[0] != want) {
					t.Errorf("writes to %s = %v, want one %s", name, got, want)
				}
				crd, err := client.Resource(CRDGVR).Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("get CRD %s after install: %v", name, err)
				}
				if ours := crd.GetLabels()[OwnerLabel] == OwnerValue; ours != (want != "") {
					t.Errorf("%s labelled as roost's = %v, want %v", name, ours, want != "")
				}
				if want == "" {
					if _, found, _ := unstructured.NestedFieldNoCopy(crd.Object, "spec", "versions"); found {
						t.Errorf("foreign CRD %s's spec was replaced", name)
					}
				}
			}
		})
	}
}

func TestInstallReportsNotEstablished(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{CRDGVR: "CustomResourceDefinitionList"})
	err := install(context.Background(), client.Resource(CRDGVR), &bytes.Buffer{}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not established") {
		t.Fatalf("install with a CRD that never becomes Established: err = %v, want a 'not established' error", err)
	}
}

// TestCRDKeepsUnsupportedFields checks the schema property roost relies on
// to report InvalidSpec: the API server must not prune fields roost does not
// support, so each object on the way to them preserves unknown fields.
func TestCRDKeepsUnsupportedFields(t *testing.T) {
	crd, err := CRD()
	if err != nil {
		t.Fatal(err)
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if len(versions) != 1 {
		t.Fatalf("CRD has %d versions, want 1 (v1alpha1)", len(versions))
	}
	schema, _, _ := unstructured.NestedMap(versions[0].(map[string]interface{}), "schema", "openAPIV3Schema")
	paths := [][]string{
		{"spec"},
		{"spec", "template"},
		{"spec", "strategy"},
		{"spec", "strategy", "canary"},
		{"spec", "strategy", "canary", "steps", "[]"},
		{"spec", "strategy", "canary", "steps", "[]", "pause"},
		{"status"},
	}
	for _, p := range paths {
		node := schema
		for _, part := range p {
			if part == "[]" {
				node, _, _ = unstructured.NestedMap(node, "items")
				continue
			}
			node, _, _ = unstructured.NestedMap(node, "properties", part)
		}
		if node == nil {
			t.Errorf("schema has no %s", strings.Join(p, "."))
			continue
		}
		if keep, _, _ := unstructured.NestedBool(node, "x-kubernetes-preserve-unknown-fields"); !keep {
			t.Errorf("schema of %s does not preserve unknown fields; the API server would prune unsupported fields before roost sees them", strings.Join(p, "."))
		}
	}
	scale, _, _ := unstructured.NestedStringMap(versions[0].(map[string]interface{}), "subresources", "scale")
	want := map[string]string{"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.HPAReplicas", "labelSelectorPath": ".status.selector"}
	for k, v := range want {
		if scale[k] != v {
			t.Errorf("scale subresource %s = %q, want %q (as Argo Rollouts)", k, scale[k], v)
		}
	}
}

// TestManifestsParse keeps every embedded manifest valid YAML with a kind.
func TestManifestsParse(t *testing.T) {
	entries, err := Manifests.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := Manifests.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			var obj map[string]interface{}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Errorf("%s document %d: %v", e.Name(), i+1, err)
				continue
			}
			if obj["kind"] == nil || obj["apiVersion"] == nil {
				t.Errorf("%s document %d has no kind or apiVersion", e.Name(), i+1)
			}
		}
	}
}
