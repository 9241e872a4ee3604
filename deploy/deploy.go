package deploy

import (
	"context"
	"embed"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// Manifests are the YAML files of this folder, by file name.
//
//go:embed *.yaml
var Manifests embed.FS

// CRDName is the name of the Rollout CRD, shared with Argo Rollouts.
const CRDName = "rollouts.argoproj.io"

// OwnerLabel marks a CRD roost installed; a CRD without it (Argo Rollouts'
// own) is never modified.
const (
	OwnerLabel = "app.kubernetes.io/managed-by"
	OwnerValue = "roost"
)

// CRDGVR is the resource of CustomResourceDefinitions.
var CRDGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRD returns the Rollout CRD from crd.yaml.
func CRD() (*unstructured.Unstructured, error) {
	crds, err := readCRDs("crd.yaml")
	if err != nil {
		return nil, err
	}
	return crds[0], nil
}

// crdFiles hold the CRDs roost installs: the Rollout's, then the analysis
// kinds' (AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun).
var crdFiles = []string{"crd.yaml", "crd-analysis.yaml"}

// CRDs returns every CRD roost installs, the Rollout's first.
func CRDs() ([]*unstructured.Unstructured, error) {
	var all []*unstructured.Unstructured
	for _, f := range crdFiles {
		crds, err := readCRDs(f)
		if err != nil {
			return nil, err
		}
		all = append(all, crds...)
	}
	return all, nil
}

// readCRDs parses the documents of an embedded manifest file.
func readCRDs(file string) ([]*unstructured.Unstructured, error) {
	data, err := Manifests.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("deploy: read embedded %s: %w", file, err)
	}
	var crds []*unstructured.Unstructured
	for i, doc := range strings.Split(string(data), "\n---\n") {
		obj := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("deploy: parse embedded %s, document %d: %w", file, i+1, err)
		}
		crds = append(crds, &unstructured.Unstructured{Object: obj})
	}
	return crds, nil
}

// Install makes sure the cluster serves Rollouts and the analysis kinds. For
// each CRD: with none it creates roost's; with roost's (an older copy) it
// updates it; with another one, such as Argo Rollouts', it changes nothing
// and says so, because that CRD belongs to the controller that installed it.
// It then waits until the CRDs it wrote are Established, so objects can be
// created as soon as it returns.
func Install(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("deploy: build client for %s: %w", cfg.Host, err)
	}
	return install(ctx, client.Resource(CRDGVR), out, time.Minute)
}

func install(ctx context.Context, crds dynamic.ResourceInterface, out io.Writer, timeout time.Duration) error {
	want, err := CRDs()
	if err != nil {
		return err
	}
	var written []string
	for _, crd := range want {
		wrote, err := installCRD(ctx, crds, crd, out)
		if err != nil {
			return err
		}
		if wrote {
			written = append(written, crd.GetName())
		}
	}
	for _, name := range written {
		if err := waitEstablished(ctx, crds, name, timeout); err != nil {
			return err
		}
		fmt.Fprintf(out, "CustomResourceDefinition %s is established\n", name)
	}
	return nil
}

// installCRD creates or updates one CRD unless the cluster's is not roost's;
// wrote says whether it did.
func installCRD(ctx context.Context, crds dynamic.ResourceInterface, want *unstructured.Unstructured, out io.Writer) (wrote bool, err error) {
	name := want.GetName()
	have, err := crds.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := crds.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return false, fmt.Errorf("deploy: create CRD %s: %w (installing a CRD needs cluster-admin rights)", name, err)
		}
		fmt.Fprintf(out, "created CustomResourceDefinition %s\n", name)
	case err != nil:
		return false, fmt.Errorf("deploy: read CRD %s: %w", name, err)
	case have.GetLabels()[OwnerLabel] != OwnerValue:
		fmt.Fprintf(out, "CustomResourceDefinition %s already exists and was not installed by roost (managed-by=%q); leaving it untouched\n",
			name, have.GetLabels()[OwnerLabel])
		return false, nil
	default:
		want.SetResourceVersion(have.GetResourceVersion())
		if _, err := crds.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
			return false, fmt.Errorf("deploy: update CRD %s: %w", name, err)
		}
		fmt.Fprintf(out, "updated CustomResourceDefinition %s\n", name)
	}
	return true, nil
}

// waitEstablished polls until the CRD's Established condition is True: the
// API server serves the new resource only from then on.
func waitEstablished(ctx context.Context, crds dynamic.ResourceInterface, name string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]interface{})
			switch {
			case m["type"] == "Established" && m["status"] == "True":
				return true, nil
			case m["type"] == "NamesAccepted" && m["status"] == "False":
				return false, fmt.Errorf("deploy: CRD %s names not accepted: %v", name, m["message"])
			}
		}
		last = "Established condition not True yet"
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("deploy: CRD %s not established within %s (%s): %w", name, timeout, last, err)
	}
	return nil
}
