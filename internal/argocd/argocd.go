// Package argocd holds Argo CD's Application and AppProject as the demo's
// simulated cluster and roost's end-to-end tests create them: a minimal
// structural definition of the two CRDs (roost's own, reduced to what it
// reads; roost never installs them in a real cluster, where Argo CD does),
// and builders of the objects with their tracking marks.
package argocd

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

//go:embed crds.yaml
var crdsYAML string

// Resources of Argo CD's objects and of CRDs.
var (
	ApplicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	AppProjectGVR  = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// Namespace is where Argo CD keeps its Applications and AppProjects.
const Namespace = "argocd"

// TrackingAnnotation is where Argo CD marks the objects an Application
// deploys (annotation tracking, the default from Argo CD 3).
const TrackingAnnotation = "argocd.argoproj.io/tracking-id"

// CRDs returns the Application and AppProject CRDs.
func CRDs() ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range strings.Split(crdsYAML, "\n---\n") {
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("argocd: crds.yaml document %d: %w", i+1, err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}

// InstallCRDs creates the two CRDs where missing and waits until the API
// server serves them.
func InstallCRDs(ctx context.Context, dyn dynamic.Interface) error {
	crds, err := CRDs()
	if err != nil {
		return err
	}
	client := dyn.Resource(crdGVR)
	for _, crd := range crds {
		if _, err := client.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("argocd: create CRD %s: %w", crd.GetName(), err)
		}
	}
	for _, crd := range crds {
		name := crd.GetName()
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := client.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("argocd: CRD %s not established: %w", name, err)
		}
	}
	return nil
}

// App describes an Application to build.
type App struct {
	// Namespace defaults to Namespace.
	Namespace, Name, Project string
	// DestNamespace is where it deploys.
	DestNamespace string
	// AutoSync and SelfHeal set spec.syncPolicy.automated.
	AutoSync, SelfHeal bool
	// Sync and Health set its status (Synced, Healthy... as Argo CD
	// writes them); "" leaves the status out.
	Sync, Health string
}

// Application builds the Application object.
func Application(a App) *unstructured.Unstructured {
	ns := a.Namespace
	if ns == "" {
		ns = Namespace
	}
	spec := map[string]any{
		"project": a.Project,
		"source":  map[string]any{"repoURL": "https://git.example.com/" + a.Project + ".git", "path": a.Name, "targetRevision": "HEAD"},
		"destination": map[string]any{
			"server":    "https://kubernetes.default.svc",
			"namespace": a.DestNamespace,
		},
	}
	if a.AutoSync {
		spec["syncPolicy"] = map[string]any{"automated": map[string]any{"prune": true, "selfHeal": a.SelfHeal}}
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": a.Name, "namespace": ns},
		"spec":       spec,
	}}
	if a.Sync != "" || a.Health != "" {
		u.Object["status"] = map[string]any{
			"sync":   map[string]any{"status": a.Sync},
			"health": map[string]any{"status": a.Health},
		}
	}
	return u
}

// AppProject builds an AppProject that may deploy anywhere.
func AppProject(name, description string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "AppProject",
		"metadata":   map[string]any{"name": name, "namespace": Namespace},
		"spec": map[string]any{
			"description":  description,
			"sourceRepos":  []any{"*"},
			"destinations": []any{map[string]any{"server": "*", "namespace": "*"}},
		},
	}}
}

// TrackingID is the tracking annotation Argo CD writes on a Rollout the
// Application app (in Argo CD's namespace) deploys.
func TrackingID(app, namespace, rollout string) string {
	return app + ":argoproj.io/Rollout:" + namespace + "/" + rollout
}
