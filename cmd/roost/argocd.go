package main

// Argo CD: where roost reads Applications (the cluster it watches, or the
// one --argocd-context / argocd.context names), and whether it may. Nothing
// of this is required: with no Argo CD in sight roost groups nothing and
// says nothing.

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// argoCD is where roost reads Argo CD's Applications, if anywhere.
type argoCD struct {
	// Apps is a client of the cluster with the Applications; nil when
	// roost reads none.
	Apps dynamic.Interface
	// Namespace is the namespace the Applications are listed in: "" for
	// every namespace, else Argo CD's own (when only that may be listed).
	Namespace string
	// ArgoNamespace is Argo CD's own namespace, InstanceLabel the label of
	// its label tracking ("" off).
	ArgoNamespace, InstanceLabel string
	// Where names the cluster: "this cluster" or "context NAME".
	Where string
	// Why says why no Applications are read when the person asked for
	// them or when they are there but may not be listed; "" otherwise.
	Why string
	// Missing says why Apps is nil, for the CLI's error when it needs them;
	// ContextProblem what is wrong with the context named.
	Missing        argoMissing
	ContextProblem string
}

// argoMissing is why roost reads no Applications; 0 when it may.
type argoMissing int

const (
	// argoNoContext: the context named could not be used.
	argoNoContext argoMissing = iota + 1
	// argoNotServed: the cluster serves no Application resource.
	argoNotServed
	// argoForbidden: Applications may not be listed.
	argoForbidden
)

// options are the watch layer's options for a cockpit's Watcher.
func (a argoCD) options() *watch.ArgoCDOptions {
	return &watch.ArgoCDOptions{InstanceLabel: a.InstanceLabel, Applications: a.Apps, ApplicationNamespace: a.Namespace, ArgoNamespace: a.ArgoNamespace}
}

// tracker tells a rollout's Application from a listed table (the CLI's).
func (a argoCD) tracker(t *watch.AppTable) watch.AppTracker {
	tr := watch.AppTracker{InstanceLabel: a.InstanceLabel}
	if t != nil {
		tr.Apps = t
	}
	return tr
}

// findArgoCD works out where Applications are read: --argocd-context, else
// the configuration's argocd.context, else the cluster of c. A cluster
// without Argo CD is not an error; one named on purpose that has none, or
// whose Applications may not be listed, is said in Why.
func (a *app) findArgoCD(ctx context.Context, c *clients, cfg metrics.ArgoCDConfig) argoCD {
	out := argoCD{ArgoNamespace: cfg.Namespace, InstanceLabel: cfg.InstanceLabel, Where: "this cluster"}
	if out.ArgoNamespace == "" {
		out.ArgoNamespace = watch.DefaultArgoCDNamespace
	}
	name, from := a.argoContext, "--argocd-context"
	if name == "" {
		name, from = cfg.Context, "argocd.context in the configuration"
	}
	kube, dyn := c.Kube, c.Dynamic
	if name != "" && name != c.Context {
		out.Where = "context " + name
		k, d, err := a.contextClients(name)
		if err != nil {
			out.Missing, out.ContextProblem = argoNoContext, fmt.Sprintf("%s %q: %v", from, name, err)
			out.Why = out.ContextProblem + "; Applications are not read, so rollouts are grouped by their tracking marks alone, without projects"
			return out
		}
		kube, dyn = k, d
	}
	if !applicationsServed(kube) {
		out.Missing = argoNotServed
		if name != "" {
			out.Why = fmt.Sprintf("%s serves no Argo CD Applications (argoproj.io/v1alpha1 applications); check %s", out.Where, from)
		}
		return out
	}
	list := func(ns string) bool {
		ok, err := allowed(ctx, kube, authorizationv1.ResourceAttributes{Verb: "list", Group: watch.ApplicationGVR.Group, Resource: watch.ApplicationGVR.Resource, Namespace: ns})
		return err == nil && ok
	}
	switch {
	case list(""):
		out.Apps = dyn
	case list(out.ArgoNamespace):
		out.Apps, out.Namespace = dyn, out.ArgoNamespace
	default:
		out.Missing = argoForbidden
		out.Why = fmt.Sprintf("you may not list Argo CD Applications in %s (namespace %s), so rollouts are grouped by their tracking marks alone, without projects; ask for get, list and watch on applications.argoproj.io", out.Where, out.ArgoNamespace)
	}
	return out
}

// applicationsServed says whether the cluster serves Argo CD's Applications.
func applicationsServed(kube kubernetes.Interface) bool {
	served, err := servedResources(kube, watch.ApplicationGVR.GroupVersion().String())
	return err == nil && served[watch.ApplicationGVR.Resource]
}

// contextClients builds clients for another context of the same kubeconfig
// files.
func (a *app) contextClients(name string) (kubernetes.Interface, dynamic.Interface, error) {
	if a.contextClientsFor != nil {
		return a.contextClientsFor(name)
	}
	rules := a.flags.ToRawKubeConfigLoader().ConfigAccess().(*clientcmd.ClientConfigLoadingRules)
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: name}).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w; list contexts with `kubectl config get-contexts`", a.kubeconfigFiles(), err)
	}
	cfg.WarningHandler = rest.NoWarnings{}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = clientQPS, clientBurst
	}
	kube, err := newKubeClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := watch.NewDynamicClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	return kube, dyn, nil
}

// listApplications reads the Applications once (the CLI's table); nil
// without any to read.
func (a argoCD) listApplications(ctx context.Context) (*watch.AppTable, error) {
	if a.Apps == nil {
		return nil, nil
	}
	list, err := a.Apps.Resource(watch.ApplicationGVR).Namespace(a.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Argo CD Applications in %s: %w", a.Where, err)
	}
	apps := make([]*watch.Application, 0, len(list.Items))
	for i := range list.Items {
		apps = append(apps, watch.ApplicationFrom(&list.Items[i]))
	}
	return watch.NewAppTable(apps, a.ArgoNamespace), nil
}
