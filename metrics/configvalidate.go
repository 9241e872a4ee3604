package metrics

// Checking a configuration source field by field, each problem at its line
// and with its fix.

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/roost-dev/roost/watch"
)

// ConfigError is everything wrong with one configuration source (a file or
// an annotation), one problem a line.
type ConfigError struct {
	// Source is the file's path, or "annotation NAME on rollout NS/NAME".
	Source   string
	Problems []Problem
}

// Problem is one thing wrong with a configuration source.
type Problem struct {
	// Line is the line in the source, 0 when unknown.
	Line int
	// Field is the field's path: "datadog.metrics[1].queries.errors".
	Field string
	// Message says what is wrong and how to fix it.
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return e.Source + ": " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// validator gathers the problems of one source, each at its field's line.
type validator struct {
	lines    *lineIndex
	problems []Problem
	// sample is the rollout templates are tried on.
	sample templateData
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{
		Line: v.lines.line(path), Field: path, Message: fmt.Sprintf(format, args...),
	})
}

var (
	// Datadog tags: letters, digits and _ - . / : (no space, comma or brace,
	// which would break the query); a key starts with a letter.
	tagKeyPattern   = regexp.MustCompile(`^[\p{L}][\p{L}\p{N}_\-./:]*$`)
	tagValuePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_\-./:]*$`)
	// An APM operation: "http.request", "rack.request", "grpc.server".
	operationPattern = regexp.MustCompile(`^[a-z][a-z0-9_.\-]*$`)
	// A metric id or a query name: a lower-case identifier.
	identPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// Bugsnag project ids are hex, but any plain id is passed through.
	projectPattern = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
)

func (v *validator) config(c Config, siteGiven, metricsOK bool) {
	dd := c.Datadog
	if dd.API != "v1" && dd.API != "v2" {
		v.add("datadog.api", "%q is not a Datadog API version: use v2 (timeseries queries with formulas) or v1", dd.API)
	}
	if _, ok := ParseSite(dd.Site); dd.Site != "" && !ok {
		if siteGiven {
			v.add("datadog.site", "%q is not a Datadog site (%s): write one of them; put any other URL in datadog.address", dd.Site, strings.Join(DatadogSites, ", "))
		} else {
			v.add("datadog.site", "DD_SITE=%q is not a Datadog site (%s): set it to one of them; Datadog stays off until then", dd.Site, strings.Join(DatadogSites, ", "))
		}
	}
	if dd.Address != "" && dd.Site == "" {
		v.url("datadog.address", dd.Address)
	}
	v.secret("datadog.secret", dd.Secret)
	if !tagKeyPattern.MatchString(dd.TagKey) {
		v.add("datadog.tagKey", "%q is not a Datadog tag key (a letter, then letters, digits, _ - . / :): write one such as kube_role or version", dd.TagKey)
	}
	if dd.ClusterTag != "" && !tagKeyPattern.MatchString(dd.ClusterTag) {
		v.add("datadog.clusterTag", "%q is not a Datadog tag key (a letter, then letters, digits, _ - . / :): write the tag that names a cluster, such as kube_cluster_name, or none", dd.ClusterTag)
	}
	for _, ctx := range slices.Sorted(maps.Keys(dd.ClusterNames)) {
		v.tag("datadog.clusterNames."+ctx, dd.ClusterNames[ctx], "the cluster's "+cmp.Or(dd.ClusterTag, DefaultClusterTag)+" in Datadog, such as prod-tokyo")
	}
	v.tag("datadog.canaryValue", dd.CanaryValue, "the canary pods' tag value, such as canary")
	v.tag("datadog.stableValue", dd.StableValue, "the stable pods' tag value, such as stable")
	if dd.CanaryValue == dd.StableValue && dd.CanaryValue != "" {
		v.add("datadog.stableValue", "canary and stable are both %q, so their series cannot be told apart: give them different values", dd.StableValue)
	}
	if dd.Env != "" {
		v.tag("datadog.env", dd.Env, "a Datadog env tag value such as prod, or leave it out")
	}
	if !operationPattern.MatchString(dd.Operation) {
		v.add("datadog.operation", "%q is not an APM operation name: write it like http.request or rack.request", dd.Operation)
	}
	if dd.Interval < minInterval {
		v.add("datadog.interval", "%s is too short: poll every %s or more (default %s)", dd.Interval, minInterval, DefaultInterval)
	}
	if dd.Window < minWindow || dd.Window > maxWindow {
		v.add("datadog.window", "%s is out of range: look back between %s and %s (default %s)", dd.Window, minWindow, maxWindow, DefaultWindow)
	}
	if dd.Timeout <= 0 || dd.Timeout > dd.Interval && dd.Interval >= minInterval {
		v.add("datadog.timeout", "%s is out of range: give a call between 1ms and the interval (%s); default %s", dd.Timeout, dd.Interval, DefaultTimeout)
	}
	if dd.MaxCallsPerMinute < 0 {
		v.add("datadog.maxCallsPerMinute", "%d is negative: give a budget of calls per minute, or 0 for no budget beyond Datadog's own rate limit", dd.MaxCallsPerMinute)
	}
	ids := map[string]bool{}
	for _, m := range dd.Metrics {
		ids[m.ID] = true
	}
	if metricsOK && !ids[c.Overview] {
		v.add("overview", "%q is not one of the metrics (%s): name the metric the overview shows", c.Overview, metricIDs(dd.Metrics))
	}
	switch c.Judge.Gate {
	case "off", "hold", "abort":
	default:
		v.add("judge.gate", "%q is not a gate: write off (the judge's verdict is only shown), hold (a failing canary stops advancing until a person promotes or aborts it; the default) or abort", c.Judge.Gate)
	}
	if c.Judge.Rounds < 1 {
		v.add("judge.rounds", "%d: write how many failing rounds in a row the gate waits for, 1 or more (default %d)", c.Judge.Rounds, DefaultJudgeRounds)
	}
	if c.Judge.NewErrorWeight < 0 || c.Judge.NewErrorWeight > 100 {
		v.add("judge.newErrorWeight", "%d: write how many failing metrics an error class new in the canary counts as, 0 (off) to 100 (default %d)", c.Judge.NewErrorWeight, DefaultNewErrorWeight)
	}
	switch c.Cockpit.Bell {
	case "off", "bell", "notify":
	default:
		v.add("cockpit.bell", "%q is not a bell: write off, bell (ring the terminal bell when a rollout starts to need you; the default) or notify (the bell and a desktop notification)", c.Cockpit.Bell)
	}
	if _, err := watch.ParseGroupBy(c.Cockpit.Grouping); err != nil {
		v.add("cockpit.grouping", "%s", err.Error())
	}
	if c.ArgoCD.Namespace == "" || len(validation.IsDNS1123Label(c.ArgoCD.Namespace)) > 0 {
		v.add("argocd.namespace", "%q is not a namespace: write the namespace Argo CD runs in (default argocd)", c.ArgoCD.Namespace)
	}
	if l := c.ArgoCD.InstanceLabel; l != "" && len(validation.IsQualifiedName(l)) > 0 {
		v.add("argocd.instanceLabel", "%q is not a label key: write the label Argo CD's label tracking sets (default app.kubernetes.io/instance), or none to track by the annotation alone", l)
	}
	for i, name := range c.Clusters {
		if name == "" || strings.Contains(name, ",") {
			v.add(fmt.Sprintf("clusters[%d]", i), "%q is not a kube context's name: write the names `kubectl config get-contexts` lists, one an entry, like [prod-tokyo, prod-osaka]", name)
		}
	}
	bs := c.Bugsnag
	v.url("bugsnag.address", bs.Address)
	v.secret("bugsnag.secret", bs.Secret)
	if bs.Project != "" && !projectPattern.MatchString(bs.Project) {
		v.add("bugsnag.project", "%q is not a Bugsnag project id: copy the id from the project's settings (24 hex digits)", bs.Project)
	}
	if strings.TrimSpace(bs.CanaryStage) == "" || strings.TrimSpace(bs.StableStage) == "" {
		v.add("bugsnag.canaryStage", "the release stages must not be empty: the canary's is the BUGSNAG_RELEASE_STAGE its pods report (default canary, stable)")
	} else if bs.CanaryStage == bs.StableStage {
		v.add("bugsnag.stableStage", "canary and stable are both release stage %q: give them different stages", bs.StableStage)
	}
}

func (v *validator) tag(path, value, want string) {
	if !tagValuePattern.MatchString(value) {
		v.add(path, "%q is not a Datadog tag value (letters, digits, _ - . / :): write %s", value, want)
	}
}

func (v *validator) url(path, address string) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(path, "%q is not an http(s) URL: write it like https://api.example.com", address)
	}
}

func (v *validator) secret(path string, s SecretRef) {
	if s.IsZero() {
		return
	}
	if s.Name == "" || s.Namespace == "" {
		v.add(path, "a secret needs both namespace and name: write {namespace: roost, name: datadog}")
		return
	}
	if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
		v.add(path+".namespace", "%q is not a namespace name: %s", s.Namespace, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
		v.add(path+".name", "%q is not a Secret name: %s", s.Name, errs[0])
	}
}

// metrics merges the listed metrics onto base: an entry whose id is a base
// metric changes only the fields it gives; a new id must give its queries.
func (v *validator) metrics(path string, entries []fileMetric, base []MetricConfig) []MetricConfig {
	if len(entries) == 0 {
		v.add(path, "the list is empty: list at least one metric, or leave %s out for the defaults (%s)", path, metricIDs(base))
		return nil
	}
	seen := map[string]bool{}
	out := make([]MetricConfig, 0, len(entries))
	for i, e := range entries {
		at := fmt.Sprintf("%s[%d]", path, i)
		if !identPattern.MatchString(e.ID) {
			v.add(at+".id", "%q is not a metric id: give a lower-case identifier such as error_rate", e.ID)
			continue
		}
		if seen[e.ID] {
			v.add(at+".id", "metric %s is listed twice: keep one", e.ID)
			continue
		}
		seen[e.ID] = true
		m, known := MetricConfig{ID: e.ID, Name: e.ID, Scale: 1, MaxRatio: DefaultMaxRatio, MinRatio: DefaultMinRatio}, false
		for _, b := range base {
			if b.ID == e.ID {
				m, known = b, true
				m.Queries = append([]NamedQuery(nil), b.Queries...)
			}
		}
		if !known && e.Queries == nil {
			v.add(at+".queries", "metric %s is not one of %s, so it needs its queries: give queries (and a formula when there are several)", e.ID, metricIDs(base))
			continue
		}
		if e.Queries != nil {
			// New queries come with their own formula, or none.
			m.Queries, m.Formula = e.Queries.list, ""
		}
		setIf(&m.Name, e.Name)
		setIf(&m.Unit, e.Unit)
		setIf(&m.HigherIsWorse, e.HigherIsWorse)
		setIf(&m.LowerIsWorse, e.LowerIsWorse)
		setIf(&m.Formula, e.Formula)
		setIf(&m.Scale, e.Scale)
		setIf(&m.MaxRatio, e.MaxRatio)
		setIf(&m.MinRatio, e.MinRatio)
		setIf(&m.PerPod, e.PerPod)
		m.Formula = strings.TrimSpace(m.Formula)
		if v.metric(at, m) {
			out = append(out, m)
		}
	}
	return out
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// metric checks one merged metric, its templates included.
func (v *validator) metric(at string, m MetricConfig) bool {
	before := len(v.problems)
	if strings.TrimSpace(m.Name) == "" {
		v.add(at+".name", "metric %s has an empty name: give the name the dashboard shows", m.ID)
	}
	if m.Scale <= 0 {
		v.add(at+".scale", "metric %s: scale %g must be above 0 (1 keeps values as they are, 100 turns a fraction into a percentage)", m.ID, m.Scale)
	}
	if m.MaxRatio <= 1 {
		v.add(at+".maxRatio", "metric %s: maxRatio %g must be above 1 (1.5 lets the canary be half again as high as stable)", m.ID, m.MaxRatio)
	}
	if m.MinRatio <= 0 || m.MinRatio >= 1 {
		v.add(at+".minRatio", "metric %s: minRatio %g must be between 0 and 1 (0.8 lets the canary be a fifth lower than stable)", m.ID, m.MinRatio)
	}
	if len(m.Queries) == 0 {
		v.add(at+".queries", "metric %s has no queries: give at least one", m.ID)
	}
	names := make([]string, 0, len(m.Queries))
	for _, q := range m.Queries {
		names = append(names, q.Name)
		if _, err := renderQuery(m.ID, q, v.sample); err != nil {
			v.add(at+".queries."+q.Name, "%v", err)
		}
	}
	if err := checkFormula(m.ID, m.Formula, names); err != nil {
		v.add(at+".formula", "%v", err)
	}
	return len(v.problems) == before
}

func metricIDs(ms []MetricConfig) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return strings.Join(ids, ", ")
}
