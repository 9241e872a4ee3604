package deploy

import (
	"context"
	"embed"
	"fmt"
	"io"
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
	data, err := Manifests.ReadFile("crd.yaml")
	if err != nil {
		return nil, fmt.Errorf("deploy: read embedded crd.yaml: %w", err)
	}
	obj := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("deploy: parse embedded crd.yaml: %w", err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// Install makes sure the cluster serves Rollouts. With no Rollout CRD it
// creates roost's; with roost's (an older copy) it updates it; with another
// one, such as Argo Rollouts', it changes nothing and says so, because that
// CRD belongs to the controller that installed it. It then waits until the
// CRD is Established, so Rollouts can be created as soon as it returns.
func Install(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("deploy: build client for %s: %w", cfg.Host, err)
	}
	return install(ctx, client.Resource(CRDGVR), out, time.Minute)
}

func install(ctx context.Context, crds dynamic.ResourceInterface, out io.Writer, timeout time.Duration) error {
	want, err := CRD()
	if err != nil {
		return err
	}
	have, err := crds.Get(ctx, CRDName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := crds.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("deploy: create CRD %s: %w (installing a CRD needs cluster-admin rights)", CRDName, err)
		}
		fmt.Fprintf(out, "created CustomResourceDefinition %s\n", CRDName)
	case err != nil:
		return fmt.Errorf("deploy: read CRD %s: %w", CRDName, err)
	case have.GetLabels()[OwnerLabel] != OwnerValue:
		fmt.Fprintf(out, "CustomResourceDefinition %s already exists and was not installed by roost (managed-by=%q); leaving it untouched\n",
			CRDName, have.GetLabels()[OwnerLabel])
		return nil
	default:
		want.SetResourceVersion(have.GetResourceVersion())
		if _, err := crds.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("deploy: update CRD %s: %w", CRDName, err)
		}
		fmt.Fprintf(out, "updated CustomResourceDefinition %s\n", CRDName)
	}
	if err := waitEstablished(ctx, crds, timeout); err != nil {
		return err
	}
	fmt.Fprintf(out, "CustomResourceDefinition %s is established\n", CRDName)
	return nil
}

// waitEstablished polls until the CRD's Established condition is True: the
// API server serves the new resource only from then on.
func waitEstablished(ctx context.Context, crds dynamic.ResourceInterface, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		crd, err := crds.Get(ctx, CRDName, metav1.GetOptions{})
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
				return false, fmt.Errorf("deploy: CRD %s names not accepted: %v", CRDName, m["message"])
			}
		}
		last = "Established condition not True yet"
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("deploy: CRD %s not established within %s (%s): %w", CRDName, timeout, last, err)
	}
	return nil
}
