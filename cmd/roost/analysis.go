package main

import (
	"fmt"
	"path/filepath"

	"k8s.io/client-go/metadata"
	"k8s.io/klog/v2"
	"os"
	"strings"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/datadog"
)

// serviceAccountNamespace is where an in-cluster roost learns its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// defaultControllerNamespace is where deploy/controller.yaml runs roost.
const defaultControllerNamespace = "roost-system"

// analysisRunsServed says whether the cluster serves AnalysisRuns: without
// them roost runs no analysis, and a Rollout that asks for it is refused with
// the fix (`roost install`).
func analysisRunsServed(c *clients) bool {
	served, err := servedResources(c.Kube, v1alpha1.SchemeGroupVersion.String())
	return err == nil && served[v1alpha1.AnalysisRunResource]
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

// newDetector watches, in scope ns ("" for all), for a live Argo Rollouts
// controller: its Lease, its pods, and status writes to Rollouts by another
// field manager.
func newDetector(c *clients, ns string) *election.ArgoDetector {
	o := election.DetectorOptions{Kube: c.Kube, Namespace: ns, OwnManagers: []string{fieldManager()}}
	if c.Config != nil {
		if m, err := metadata.NewForConfig(c.Config); err == nil {
			o.Metadata = m
		}
	}
	return election.NewArgoDetector(o)
}

// logArgo writes what the detector sees to the log.
func logArgo(s election.ArgoSeen) {
	switch {
	case !s.Known:
		klog.InfoS("looking for a live Argo Rollouts controller before stepping canaries")
	case s.Live:
		klog.InfoS("Argo Rollouts is live: roost does not step canaries beside it, and released its Lease", "signs", s.String())
	default:
		klog.InfoS("no Argo Rollouts controller is live: roost campaigns to step the canaries")
	}
}

// fieldManager is the name this process's writes carry: ROOST_FIELD_MANAGER
// when set (tests pose as another controller with it), else the binary's
// name, as client-go sends it.
func fieldManager() string {
	if m := strings.TrimSpace(os.Getenv("ROOST_FIELD_MANAGER")); m != "" {
		return m
	}
	return filepath.Base(os.Args[0])
}

// newGate is roost's judge as a gate over the evidence of poller, with the
// configuration's default; targets, when set, is told which rollouts to
// poll (a headless controller's own poller). nil without a poller: no
// evidence, no gate.
func newGate(poller *metrics.Poller, cfg metrics.GateConfig, owned bool) *analysis.Gate {
	if poller == nil {
		return nil
	}
	def := analysis.DefaultGate()
	if m, err := analysis.ParseGateMode(cfg.Gate); err == nil {
		def.Mode = m
	}
	if cfg.Rounds > 0 {
		def.Rounds = cfg.Rounds
	}
	o := analysis.GateOptions{Evidence: poller, Default: def}
	if owned {
		o.Targets = poller.SetTargets
	}
	return analysis.NewGate(o)
}

// analysisProviders are the providers roost's run loop measures with. The
// Datadog provider is always there: credentials are looked up at each
// measurement as Argo Rollouts looks them up (the metric's secretRef,
// DD_API_KEY+DD_APP_KEY+DD_ADDRESS, the Secret "datadog" in roost's
// namespace), then roost's own configuration; a metric that finds none is
// an Error that says what to create. It spends the dashboard's call budget
// when there is a dashboard client. The environment is the evidence's: the
// process's, or the demo's own keys (its Datadog is roost's configuration,
// the fallback).
func analysisProviders(c *clients, scope string, ev evidence) (analysis.Providers, error) {
	p := analysis.Providers{Web: analysis.NewWebProvider(analysis.WebOptions{})}
	getenv, lookupEnv := ev.getenv, ev.lookupEnv
	if getenv == nil || lookupEnv == nil {
		getenv, lookupEnv = os.Getenv, os.LookupEnv
	}
	dd, err := datadog.NewAnalysisProvider(datadog.AnalysisOptions{
		Kube: c.Kube, Namespace: controllerNamespace(getenv, scope),
		Fallback: ev.creds, FallbackSource: "roost's configuration (datadog.secret, DD_API_KEY/DD_APP_KEY)",
		LookupEnv: lookupEnv, Share: ev.dd,
	})
	if err != nil {
		return p, fmt.Errorf("the AnalysisRuns' Datadog metrics are off (they end as Error): %w", err)
	}
	p.Datadog = dd
	return p, nil
}
