package main

import (
	"os"
	"strings"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// serviceAccountNamespace is where an in-cluster roost learns its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// defaultControllerNamespace is where deploy/controller.yaml runs roost.
const defaultControllerNamespace = "roost-system"

// analysisRunsServed says whether the cluster serves AnalysisRuns: without
// them roost runs no analysis, and a Rollout that asks for it is refused with
// the fix (`roost install`).
func analysisRunsServed(c *clients) bool {
	list, err := c.Kube.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == v1alpha1.AnalysisRunResource {
			return true
		}
	}
	return false
}

// controllerNamespace is the namespace whose Secret "datadog" holds the
// analysis' Datadog keys, as Argo Rollouts finds its own: POD_NAMESPACE,
// else the service account's namespace, else the namespace roost is scoped
// to, else roost-system.
func controllerNamespace(getenv func(string) string, scope string) string {
	if ns := strings.TrimSpace(getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	if scope != "" {
		return scope
	}
	return defaultControllerNamespace
}

// analysisProviders are the providers roost's run loop measures with.
func analysisProviders(c *clients, scope string, getenv func(string) string) analysis.Providers {
	_ = controllerNamespace(getenv, scope)
	return analysis.Providers{Web: analysis.NewWebProvider(analysis.WebOptions{})}
}
