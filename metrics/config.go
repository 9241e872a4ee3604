package metrics

// The configuration's types and defaults; configload.go reads it,
// configvalidate.go checks it.

import "time"

// Config says what roost asks Datadog and Bugsnag about each canary, and how
// often. It is read from $XDG_CONFIG_HOME/roost/config.yaml (by default
// ~/.config/roost/config.yaml) or the file given with --config; every field is
// optional. testdata/config.example.yaml shows every field with its default
// and what it means.
type Config struct {
	// File is the file the configuration was read from, "" when none was.
	File    string
	Datadog Datadog
	Bugsnag Bugsnag
	// Overview is the id of the metric whose canary/stable ratio the overview
	// shows for every rollout (yaml: overview); see Headline.
	Overview string
	// Judge is what roost's judge does with a failing canary that has no
	// analysis of its own (yaml: judge).
	Judge GateConfig
	// Cockpit is how the cockpit behaves (yaml: cockpit).
	Cockpit CockpitConfig
	// ArgoCD is where roost finds Argo CD's Applications and how it tells
	// which one deploys a Rollout (yaml: argocd).
	ArgoCD ArgoCDConfig
	// Clusters are the kube contexts in scope when no --context is given
	// (yaml: clusters), in the order written, each once; none means the
	// kubeconfig's current context. get, promote, abort, retry, pause,
	// resume and wait act in each of them.
	Clusters []string
}

// ArgoCDConfig is the file's argocd part. Nothing in it is required: with
// no Argo CD in sight roost groups nothing.
type ArgoCDConfig struct {
	// Context is the kube context of the cluster where Argo CD keeps its
	// Applications (yaml: argocd.context), "" for the cluster roost
	// watches; --argocd-context overrides it.
	Context string
	// Namespace is Argo CD's own namespace (yaml: argocd.namespace), where
	// a tracking mark without a namespace points; default argocd.
	Namespace string
	// InstanceLabel is the label Argo CD 2.x tracks by (yaml:
	// argocd.instanceLabel, default app.kubernetes.io/instance); "" or
	// none turns label tracking off, for clusters where Helm's label of
	// the same name would lie.
	InstanceLabel string
}

// CockpitConfig is the cockpit's part of the file (yaml: cockpit).
type CockpitConfig struct {
	// Bell is what the cockpit does when a rollout starts to need you
	// (yaml: cockpit.bell): off, bell (the terminal bell, the default) or
	// notify (the bell and a desktop notification); --bell overrides it.
	Bell string
	// Grouping is how the overview groups rollouts (yaml:
	// cockpit.grouping): none (the default), application or project (by
	// Argo CD Application or AppProject), or service (the same service
	// across the clusters in scope). The cockpit's key writes it back
	// (SaveGrouping), so the choice is remembered.
	Grouping string
}

// DefaultBell is the cockpit's bell without --bell or cockpit.bell.
const DefaultBell = "bell"

// GateConfig configures the judge as a gate (yaml: judge.gate, judge.rounds):
// off, hold (the default) or abort, after Rounds failing rounds in a row.
// A Rollout's annotations rollouts.roost.dev/judge-gate and
// rollouts.roost.dev/judge-gate-rounds override both.
type GateConfig struct {
	Gate   string
	Rounds int
	// NewErrorWeight is how many failing metrics an error class new in the
	// canary counts as in its score (judge.newErrorWeight); 0 turns the
	// rule off.
	NewErrorWeight int
}

// Judge gate defaults.
const (
	DefaultJudgeGate   = "hold"
	DefaultJudgeRounds = 3
	// DefaultNewErrorWeight makes a canary whose two scored metrics pass
	// but which throws an error class stable never did score Fail.
	DefaultNewErrorWeight = 3
)

// Datadog is the configuration of the metrics side (yaml: datadog).
type Datadog struct {
	// API is "v2" (POST /api/v2/query/timeseries, the default) or "v1"
	// (GET /api/v1/query).
	API string
	// Site is a Datadog site name ("datadoghq.eu"), from the file or DD_SITE.
	Site string
	// Address is the base URL roost talks to: datadog.address, else
	// https://api.<Site>; "" leaves it to the secret's optional address key,
	// else https://api.datadoghq.com.
	Address string
	// Secret names the Kubernetes Secret with the keys api-key and app-key
	// (and optionally address); the zero value means none.
	Secret SecretRef
	// TagKey is the tag whose value tells the canary (CanaryValue) from
	// stable (StableValue): default kube_role, canary, stable.
	TagKey      string
	CanaryValue string
	StableValue string
	// Env is the env tag queries filter on ({{.Env}}); "" takes the pod
	// template's tags.datadoghq.com/env label, else no env filter.
	Env string
	// Operation is the APM operation of the default queries
	// ({{.Operation}}, default http.request).
	Operation string
	// ClusterTag is the tag that names a Kubernetes cluster in Datadog
	// (default kube_cluster_name). When the cockpit spans several
	// clusters, each cluster's queries filter on it ({{.Filter}} gains it,
	// {{.Cluster}} is its value), so that the same service's canary in two
	// clusters is two sets of series. "" (none in the file) turns it off.
	ClusterTag string
	// ClusterNames maps a kube context to its ClusterTag value where the
	// two differ (an EKS context is an ARN); by default the context's name.
	ClusterNames map[string]string
	// Interval is how often a progressing or paused rollout is polled;
	// healthy rollouts are never polled.
	Interval time.Duration
	// Window is how far back each query looks; never before a minute before
	// the canary started.
	Window time.Duration
	// Timeout bounds one call, to Datadog or to Bugsnag.
	Timeout time.Duration
	// MaxCallsPerMinute caps Datadog calls across every rollout; 0 leaves
	// the limit to Datadog's own X-RateLimit headers.
	MaxCallsPerMinute int
	// Metrics are the metrics of every rollout, in the order shown.
	Metrics []MetricConfig
}

// SecretRef names a Kubernetes Secret.
type SecretRef struct {
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
}

// IsZero reports whether no secret is named.
func (s SecretRef) IsZero() bool { return s.Namespace == "" && s.Name == "" }

// String is namespace/name, as kubectl names a Secret.
func (s SecretRef) String() string { return s.Namespace + "/" + s.Name }

// Bugsnag is the configuration of the errors side (yaml: bugsnag).
type Bugsnag struct {
	// Address is the Data Access API's base URL (default https://api.bugsnag.com).
	Address string
	// Secret names the Kubernetes Secret with the key auth-token.
	Secret SecretRef
	// Project is the Bugsnag project id of rollouts without the
	// bugsnag.roost.dev/project annotation.
	Project string
	// CanaryStage and StableStage are the release stages of the two sides
	// (default canary and stable).
	CanaryStage string
	StableStage string
}

// MetricConfig is one metric: named query templates, a formula that combines
// them, and the judge's tolerance.
type MetricConfig struct {
	// ID is the metric's key ("error_rate"); Name is how it is shown.
	ID   string
	Name string
	Unit string
	// HigherIsWorse: a High canary counts against it (errors, latency).
	HigherIsWorse bool
	// LowerIsWorse: a Low canary counts against it (a request rate that
	// must not drop, if the configuration says so).
	LowerIsWorse bool
	// Queries are text/template query templates, in file order; Formula
	// combines them by name, "" when there is one.
	Queries []NamedQuery
	Formula string
	// Scale multiplies every value (100 turns a fraction into a percentage).
	Scale float64
	// MaxRatio and MinRatio bound the canary against stable: above
	// MaxRatio × stable it is High, below MinRatio × stable Low.
	MaxRatio float64
	MinRatio float64
	// PerPod compares the canary and stable per ready pod (yaml perPod):
	// a total, such as the request rate, is otherwise always the canary's
	// share of the pods (0.25× at 20 %) however healthy it is.
	PerPod bool
}

// Tolerance is what the judge needs of a metric beyond its data.
func (m MetricConfig) Tolerance() Tolerance {
	return Tolerance{MaxRatio: m.MaxRatio, MinRatio: m.MinRatio, LowerIsWorse: m.LowerIsWorse}
}

// Tolerance says how far the canary may stray from stable on one metric
// before the judge calls it High or Low, and whether Low counts against it
// (whether High does is Metric.HigherIsWorse).
type Tolerance struct {
	// MaxRatio: the canary is High when it is significantly above stable and
	// its mean is beyond MaxRatio × stable's, or when its latest value is
	// beyond MaxRatio × stable's latest. 1.5 lets it have half again as
	// many errors. A value of 1 or less allows no slack.
	MaxRatio float64
	// MinRatio: the canary is Low when it is significantly below stable and
	// its mean is under MinRatio × stable's. 0, or 1 and more, allows no slack.
	MinRatio float64
	// LowerIsWorse: a Low verdict counts against the canary.
	LowerIsWorse bool
}

// Defaults of the configuration.
const (
	DefaultAPI         = "v2"
	DefaultTagKey      = "kube_role"
	DefaultCanaryValue = "canary"
	DefaultStableValue = "stable"
	DefaultOperation   = "http.request"
	// DefaultClusterTag is the tag Datadog's Kubernetes integration names
	// a cluster with.
	DefaultClusterTag  = "kube_cluster_name"
	DefaultInterval    = 30 * time.Second
	DefaultWindow      = 30 * time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultBugsnag     = "https://api.bugsnag.com"
	DefaultCanaryStage = "canary"
	DefaultStableStage = "stable"
	DefaultOverview    = "error_rate"
	// Tolerances of a metric that gives none: Kayenta's 25% either way.
	DefaultMaxRatio = 1.25
	DefaultMinRatio = 0.8
)

// Limits of the durations, so that a typo cannot flood an API or poll never.
const (
	minInterval = 5 * time.Second
	minWindow   = time.Minute
	maxWindow   = 24 * time.Hour
)

// The default queries use APM's trace.<operation> metrics, which every traced
// service has. {{.Filter}} is {service:…,env:…} and {{.GroupBy}} {kube_role}.
const (
	defaultHitsRate   = "sum:trace.{{.Operation}}.hits{{.Filter}} by {{.GroupBy}}.as_rate()"
	defaultHitsCount  = "sum:trace.{{.Operation}}.hits{{.Filter}} by {{.GroupBy}}.as_count()"
	defaultErrorCount = "sum:trace.{{.Operation}}.errors{{.Filter}} by {{.GroupBy}}.as_count()"
	defaultP95        = "p95:trace.{{.Operation}}{{.Filter}} by {{.GroupBy}}"
)

// DefaultMetrics are the metrics of a configuration that lists none: request
// rate, error rate and p95 latency.
func DefaultMetrics() []MetricConfig {
	return []MetricConfig{
		{
			ID: "requests", Name: "requests", Unit: "req/s",
			Queries:  []NamedQuery{{Name: "hits", Query: defaultHitsRate}},
			Scale:    1,
			MaxRatio: 1.5, MinRatio: 0.5,
			PerPod: true,
		},
		{
			ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true,
			Queries: []NamedQuery{
				{Name: "errors", Query: defaultErrorCount},
				{Name: "hits", Query: defaultHitsCount},
			},
			Formula:  "errors / hits",
			Scale:    100,
			MaxRatio: 1.5, MinRatio: 0.5,
		},
		{
			// Datadog reports trace durations in seconds.
			ID: "latency_p95", Name: "p95 latency", Unit: "ms", HigherIsWorse: true,
			Queries:  []NamedQuery{{Name: "p95", Query: defaultP95}},
			Scale:    1000,
			MaxRatio: 1.2, MinRatio: 0.8,
		},
	}
}

// Defaults is the configuration without a file.
func Defaults() Config {
	return Config{
		Datadog: Datadog{
			API:         DefaultAPI,
			TagKey:      DefaultTagKey,
			CanaryValue: DefaultCanaryValue,
			StableValue: DefaultStableValue,
			Operation:   DefaultOperation,
			ClusterTag:  DefaultClusterTag,
			Interval:    DefaultInterval,
			Window:      DefaultWindow,
			Timeout:     DefaultTimeout,
			Metrics:     DefaultMetrics(),
		},
		Bugsnag: Bugsnag{
			Address:     DefaultBugsnag,
			CanaryStage: DefaultCanaryStage,
			StableStage: DefaultStableStage,
		},
		Overview: DefaultOverview,
		Judge:    GateConfig{Gate: DefaultJudgeGate, Rounds: DefaultJudgeRounds, NewErrorWeight: DefaultNewErrorWeight},
		Cockpit:  CockpitConfig{Bell: DefaultBell, Grouping: "none"},
		ArgoCD:   ArgoCDConfig{Namespace: "argocd", InstanceLabel: "app.kubernetes.io/instance"},
	}
}

// Headline is the id of the metric the overview shows: Overview when the
// configuration has that metric, else the first metric.
func (c Config) Headline() string {
	for _, m := range c.Datadog.Metrics {
		if m.ID == c.Overview {
			return m.ID
		}
	}
	if len(c.Datadog.Metrics) > 0 {
		return c.Datadog.Metrics[0].ID
	}
	return ""
}
