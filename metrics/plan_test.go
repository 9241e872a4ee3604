package metrics

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func queriesOf(p Plan) map[string]string {
	out := map[string]string{}
	for _, m := range p.Metrics {
		for _, q := range m.Query.Queries {
			out[m.Query.ID+"."+q.Name] = q.Query
		}
		if m.Err != "" {
			out[m.Query.ID] = "error: " + m.Err
		}
	}
	return out
}

func TestPlanDefaults(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		target Target
		want   map[string]string
	}{
		{
			name:   "service from the rollout's name, no env",
			target: Target{Namespace: "shop", Name: "checkout"},
			want: map[string]string{
				"requests.hits":     "sum:trace.http.request.hits{service:checkout} by {kube_role}.as_rate()",
				"error_rate.errors": "sum:trace.http.request.errors{service:checkout} by {kube_role}.as_count()",
				"error_rate.hits":   "sum:trace.http.request.hits{service:checkout} by {kube_role}.as_count()",
				"latency_p95.p95":   "p95:trace.http.request{service:checkout} by {kube_role}",
			},
		},
		{
			name: "unified service tags of the pod template",
			target: Target{Namespace: "shop", Name: "checkout", TemplateLabels: map[string]string{
				LabelDatadogService: "checkout-api", LabelDatadogEnv: "staging", LabelAppName: "other",
			}},
			want: map[string]string{
				"requests.hits":     "sum:trace.http.request.hits{service:checkout-api,env:staging} by {kube_role}.as_rate()",
				"error_rate.errors": "sum:trace.http.request.errors{service:checkout-api,env:staging} by {kube_role}.as_count()",
				"error_rate.hits":   "sum:trace.http.request.hits{service:checkout-api,env:staging} by {kube_role}.as_count()",
				"latency_p95.p95":   "p95:trace.http.request{service:checkout-api,env:staging} by {kube_role}",
			},
		},
		{
			name: "app.kubernetes.io/name, and the configured env over the label's",
			config: func(c *Config) {
				c.Datadog.Env = "prod"
				c.Datadog.Operation = "rack.request"
				c.Datadog.TagKey = "version"
			},
			target: Target{Namespace: "shop", Name: "checkout", TemplateLabels: map[string]string{LabelAppName: "web", LabelDatadogEnv: "staging"}},
			want: map[string]string{
				"requests.hits":     "sum:trace.rack.request.hits{service:web,env:prod} by {version}.as_rate()",
				"error_rate.errors": "sum:trace.rack.request.errors{service:web,env:prod} by {version}.as_count()",
				"error_rate.hits":   "sum:trace.rack.request.hits{service:web,env:prod} by {version}.as_count()",
				"latency_p95.p95":   "p95:trace.rack.request{service:web,env:prod} by {version}",
			},
		},
		{
			name: "annotations over labels and configuration",
			config: func(c *Config) {
				c.Datadog.Env = "prod"
			},
			target: Target{Namespace: "shop", Name: "checkout",
				TemplateLabels: map[string]string{LabelDatadogService: "label-service"},
				Annotations: map[string]string{
					AnnotationService: "web", AnnotationEnv: "canary-env", AnnotationTagKey: "role",
					AnnotationOperation:                 "grpc.server",
					AnnotationQuery + "latency_p95.p95": "p99:trace.grpc.server{service:{{.Service}},kube_namespace:{{.Namespace}}} by {{.GroupBy}}",
				}},
			want: map[string]string{
				"requests.hits":     "sum:trace.grpc.server.hits{service:web,env:canary-env} by {role}.as_rate()",
				"error_rate.errors": "sum:trace.grpc.server.errors{service:web,env:canary-env} by {role}.as_count()",
				"error_rate.hits":   "sum:trace.grpc.server.hits{service:web,env:canary-env} by {role}.as_count()",
				"latency_p95.p95":   "p99:trace.grpc.server{service:web,kube_namespace:shop} by {role}",
			},
		},
		{
			name:   "over several clusters, each cluster's own series",
			config: func(c *Config) { c.Datadog.Env = "prod" },
			target: Target{Namespace: "shop", Name: "checkout", Cluster: "prod-tokyo",
				Annotations: map[string]string{AnnotationQuery + "latency_p95.p95": "p95:trace.http.request{service:{{.Service}},cluster:{{.Cluster}}} by {{.GroupBy}}"}},
			want: map[string]string{
				"requests.hits":     "sum:trace.http.request.hits{service:checkout,env:prod,kube_cluster_name:prod-tokyo} by {kube_role}.as_rate()",
				"error_rate.errors": "sum:trace.http.request.errors{service:checkout,env:prod,kube_cluster_name:prod-tokyo} by {kube_role}.as_count()",
				"error_rate.hits":   "sum:trace.http.request.hits{service:checkout,env:prod,kube_cluster_name:prod-tokyo} by {kube_role}.as_count()",
				"latency_p95.p95":   "p95:trace.http.request{service:checkout,cluster:prod-tokyo} by {kube_role}",
			},
		},
		{
			name: "a context named apart from its cluster, and another cluster tag",
			config: func(c *Config) {
				c.Datadog.ClusterTag = "cluster_name"
				c.Datadog.ClusterNames = map[string]string{"arn:aws:eks:ap-northeast-1:1:cluster/tokyo": "tokyo"}
			},
			target: Target{Namespace: "shop", Name: "checkout", Cluster: "arn:aws:eks:ap-northeast-1:1:cluster/tokyo"},
			want: map[string]string{
				"requests.hits":     "sum:trace.http.request.hits{service:checkout,cluster_name:tokyo} by {kube_role}.as_rate()",
				"error_rate.errors": "sum:trace.http.request.errors{service:checkout,cluster_name:tokyo} by {kube_role}.as_count()",
				"error_rate.hits":   "sum:trace.http.request.hits{service:checkout,cluster_name:tokyo} by {kube_role}.as_count()",
				"latency_p95.p95":   "p95:trace.http.request{service:checkout,cluster_name:tokyo} by {kube_role}",
			},
		},
		{
			name:   "the cluster tag turned off",
			config: func(c *Config) { c.Datadog.ClusterTag = "" },
			target: Target{Namespace: "shop", Name: "checkout", Cluster: "prod-tokyo"},
			want: map[string]string{
				"requests.hits":     "sum:trace.http.request.hits{service:checkout} by {kube_role}.as_rate()",
				"error_rate.errors": "sum:trace.http.request.errors{service:checkout} by {kube_role}.as_count()",
				"error_rate.hits":   "sum:trace.http.request.hits{service:checkout} by {kube_role}.as_count()",
				"latency_p95.p95":   "p95:trace.http.request{service:checkout} by {kube_role}",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			if tt.config != nil {
				tt.config(&c)
			}
			p := c.Plan(tt.target)
			if p.MetricsOff != "" {
				t.Fatalf("MetricsOff = %q", p.MetricsOff)
			}
			if got := queriesOf(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("queries:\n got %v\nwant %v", got, tt.want)
			}
			for _, m := range p.Metrics {
				if !strings.HasSuffix(tt.want[m.Query.ID+"."+m.Query.Queries[0].Name], "by {"+m.Query.TagKey+"}") && !strings.Contains(tt.want[m.Query.ID+"."+m.Query.Queries[0].Name], "by {"+m.Query.TagKey+"}.") {
					t.Errorf("%s: TagKey = %q", m.Query.ID, m.Query.TagKey)
				}
				if m.Query.CanaryValue != "canary" || m.Query.StableValue != "stable" {
					t.Errorf("%s: values = %q, %q", m.Query.ID, m.Query.CanaryValue, m.Query.StableValue)
				}
			}
		})
	}
}

func TestPlanCarriesMetricFields(t *testing.T) {
	p := Defaults().Plan(Target{Namespace: "shop", Name: "checkout"})
	er := p.Metrics[1]
	want := MetricQuery{
		ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true,
		Queries: []NamedQuery{
			{Name: "errors", Query: "sum:trace.http.request.errors{service:checkout} by {kube_role}.as_count()"},
			{Name: "hits", Query: "sum:trace.http.request.hits{service:checkout} by {kube_role}.as_count()"},
		},
		Formula: "errors / hits", TagKey: "kube_role", CanaryValue: "canary", StableValue: "stable", Scale: 100,
	}
	if !reflect.DeepEqual(er.Query, want) {
		t.Errorf("error_rate query =\n%+v\nwant\n%+v", er.Query, want)
	}
	if er.Tolerance != (Tolerance{MaxRatio: 1.5, MinRatio: 0.5}) {
		t.Errorf("tolerance = %+v", er.Tolerance)
	}
}

func TestPlanMetricsAnnotation(t *testing.T) {
	tests := []struct {
		name       string
		annotation string
		ids        string
		check      func(t *testing.T, p Plan)
	}{
		{
			name: "a subset by id alone", annotation: "[latency_p95, error_rate]", ids: "latency_p95, error_rate",
		},
		{
			name: "a subset by id, changing one tolerance", annotation: "- id: latency_p95\n  maxRatio: 2\n- id: error_rate\n", ids: "latency_p95, error_rate",
			check: func(t *testing.T, p Plan) {
				if p.Metrics[0].Tolerance.MaxRatio != 2 || p.Metrics[1].Tolerance.MaxRatio != 1.5 {
					t.Errorf("tolerances = %+v, %+v", p.Metrics[0].Tolerance, p.Metrics[1].Tolerance)
				}
			},
		},
		{
			name:       "a new metric, in JSON",
			annotation: `[{"id": "queue_depth", "name": "queue depth", "higherIsWorse": true, "queries": {"depth": "avg:jobs.queue.depth{service:{{.Service}}} by {{.GroupBy}}"}}]`,
			ids:        "queue_depth",
			check: func(t *testing.T, p Plan) {
				q := p.Metrics[0].Query
				if q.Queries[0].Query != "avg:jobs.queue.depth{service:checkout} by {kube_role}" || q.Scale != 1 || !q.HigherIsWorse {
					t.Errorf("queue_depth = %+v", q)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Defaults().Plan(Target{Namespace: "shop", Name: "checkout", Annotations: map[string]string{AnnotationMetrics: tt.annotation}})
			if p.MetricsOff != "" {
				t.Fatalf("MetricsOff = %q", p.MetricsOff)
			}
			ids := make([]string, len(p.Metrics))
			for i, m := range p.Metrics {
				ids[i] = m.Query.ID
			}
			if got := strings.Join(ids, ", "); got != tt.ids {
				t.Errorf("metrics = %s, want %s", got, tt.ids)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

// A bad annotation turns off that rollout's metrics (or errors), with a
// message that names the rollout, the annotation and the fix.
func TestPlanBadAnnotations(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		labels      map[string]string
		metricsOff  string
		errorsOff   string
		metricErr   string
	}{
		{
			name:        "unknown metrics annotation",
			annotations: map[string]string{"metrics.roost.dev/servce": "web"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/servce is not one roost knows (did you mean metrics.roost.dev/service?); the metrics annotations are metrics.roost.dev/service, metrics.roost.dev/env",
		},
		{
			name:        "unknown bugsnag annotation",
			annotations: map[string]string{"bugsnag.roost.dev/projct": "abc"},
			errorsOff:   "rollout shop/checkout: annotation bugsnag.roost.dev/projct is not one roost knows (did you mean bugsnag.roost.dev/project?); the Bugsnag annotation is bugsnag.roost.dev/project",
		},
		{
			name:        "bad tag key",
			annotations: map[string]string{AnnotationTagKey: "kube role"},
			metricsOff:  `rollout shop/checkout: annotation metrics.roost.dev/tag-key: "kube role" is not a Datadog tag key`,
		},
		{
			name:        "bad service",
			annotations: map[string]string{AnnotationService: "web,env:prod"},
			metricsOff:  `rollout shop/checkout: annotation metrics.roost.dev/service: service "web,env:prod" is not a Datadog tag value (letters, digits, _ - . / :): set metrics.roost.dev/service to the service's name`,
		},
		{
			name:        "bad operation",
			annotations: map[string]string{AnnotationOperation: "HTTP Request"},
			metricsOff:  `rollout shop/checkout: annotation metrics.roost.dev/operation: "HTTP Request" is not an APM operation name`,
		},
		{
			name:        "query annotation for a metric that is not there",
			annotations: map[string]string{AnnotationQuery + "errors.hits": "sum:x{*} by {kube_role}"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/query.errors.hits: errors is not one of this rollout's metrics (requests, error_rate, latency_p95): fix the metric id",
		},
		{
			name:        "query annotation for a query that is not there",
			annotations: map[string]string{AnnotationQuery + "error_rate.errs": "sum:x{*} by {kube_role}"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/query.error_rate.errs: metric error_rate has no query errs (its queries: errors, hits): fix the query name",
		},
		{
			name:        "query annotation without a query name",
			annotations: map[string]string{AnnotationQuery + "error_rate": "sum:x{*} by {kube_role}"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/query.error_rate: name the metric and the query, like metrics.roost.dev/query.error_rate.errors",
		},
		{
			name:        "query annotation that does not render: only that metric is off",
			annotations: map[string]string{AnnotationQuery + "error_rate.errors": "sum:x{service:{{.service}}} by {kube_role}"},
			metricErr:   "rollout shop/checkout: metric error_rate, query errors: the template does not render: {{.service}} is not one of its fields",
		},
		{
			name:        "metrics annotation with a typo",
			annotations: map[string]string{AnnotationMetrics: "- id: error_rate\n  maxratio: 2\n"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/metrics: line 2: [0].maxratio: unknown field maxratio in [0] (did you mean maxRatio?)",
		},
		{
			name:        "metrics annotation with a bad template",
			annotations: map[string]string{AnnotationMetrics: `[{id: x, queries: {a: "avg:x{ {{.Nope}} } by {kube_role}"}}]`},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/metrics: line 1: [0].queries.a: metric x, query a: the template does not render: {{.Nope}} is not one of its fields",
		},
		{
			name:        "metrics annotation that is not YAML",
			annotations: map[string]string{AnnotationMetrics: "[{id: x"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/metrics: line 1: not valid YAML:",
		},
		{
			name:        "empty metrics annotation",
			annotations: map[string]string{AnnotationMetrics: "[]"},
			metricsOff:  "rollout shop/checkout: annotation metrics.roost.dev/metrics: the list is empty: list the metrics of this rollout, e.g. [{id: error_rate}], or remove the annotation",
		},
		{
			name:       "a service label Datadog cannot take",
			labels:     map[string]string{LabelDatadogService: "-web"},
			metricsOff: `rollout shop/checkout: pod template label tags.datadoghq.com/service: service "-web" is not a Datadog tag value`,
		},
		{
			name:        "bad project",
			annotations: map[string]string{AnnotationBugsnagProject: "my project"},
			errorsOff:   `rollout shop/checkout: annotation bugsnag.roost.dev/project: "my project" is not a Bugsnag project id`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.Bugsnag.Project = "5f3c9a1b2d4e6f7a8b9c0d1e"
			p := c.Plan(Target{Namespace: "shop", Name: "checkout", Annotations: tt.annotations, TemplateLabels: tt.labels})
			check := func(what, got, want string) {
				t.Helper()
				if want == "" && got != "" || want != "" && !strings.HasPrefix(got, want) {
					t.Errorf("%s =\n%q\nwant it to start with\n%q", what, got, want)
				}
			}
			check("MetricsOff", p.MetricsOff, tt.metricsOff)
			check("ErrorsOff", p.ErrorsOff, tt.errorsOff)
			if tt.metricsOff != "" && len(p.Metrics) != 0 {
				t.Errorf("metrics are planned although MetricsOff is set: %+v", p.Metrics)
			}
			var errs []string
			for _, m := range p.Metrics {
				if m.Err != "" {
					errs = append(errs, m.Err)
				}
			}
			if tt.metricErr != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0], tt.metricErr) || len(p.Metrics) != 3) {
				t.Errorf("metric errors = %q, want one starting %q among 3 metrics", errs, tt.metricErr)
			}
			if tt.metricErr == "" && len(errs) > 0 {
				t.Errorf("metric errors = %q, want none", errs)
			}
		})
	}
}

// A bad annotation on one rollout leaves the others alone, and does not
// change the configuration they share.
func TestPlanIsolatesRollouts(t *testing.T) {
	c := Defaults()
	c.Bugsnag.Project = "abc"
	before := c.Plan(Target{Namespace: "shop", Name: "cart"})
	bad := c.Plan(Target{Namespace: "shop", Name: "checkout", Annotations: map[string]string{
		AnnotationQuery + "error_rate.errors": "sum:other.errors{*} by {kube_role}",
		AnnotationMetrics:                     "[{id: error_rate, maxRatio: 3}]",
	}})
	if bad.MetricsOff != "" || bad.Metrics[0].Query.Queries[0].Query != "sum:other.errors{*} by {kube_role}" || bad.Metrics[0].Tolerance.MaxRatio != 3 {
		t.Fatalf("override plan = %+v", bad)
	}
	after := c.Plan(Target{Namespace: "shop", Name: "cart"})
	if !reflect.DeepEqual(before, after) {
		t.Errorf("another rollout's plan changed:\n%+v\n%+v", before, after)
	}
	if !reflect.DeepEqual(c.Datadog.Metrics, DefaultMetrics()) {
		t.Errorf("the configuration changed: %+v", c.Datadog.Metrics)
	}
}

func TestPlanErrors(t *testing.T) {
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Defaults()
	p := c.Plan(Target{Namespace: "shop", Name: "checkout", Since: since})
	if want := "rollout shop/checkout: no Bugsnag project: set bugsnag.project in ~/.config/roost/config.yaml, or annotate the Rollout with bugsnag.roost.dev/project=<project id>"; p.ErrorsOff != want {
		t.Errorf("ErrorsOff = %q, want %q", p.ErrorsOff, want)
	}
	c.Bugsnag.Project = "cfg"
	p = c.Plan(Target{Namespace: "shop", Name: "checkout", Since: since})
	if want := (ErrorQuery{Project: "cfg", CanaryStage: "canary", StableStage: "stable", Since: since}); p.Errors != want || p.ErrorsOff != "" {
		t.Errorf("errors = %+v (%q), want %+v", p.Errors, p.ErrorsOff, want)
	}
	p = c.Plan(Target{Namespace: "shop", Name: "checkout", Annotations: map[string]string{AnnotationBugsnagProject: "mine"}})
	if p.Errors.Project != "mine" {
		t.Errorf("project = %q, want the annotation's", p.Errors.Project)
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Defaults()
	tests := []struct {
		name  string
		since time.Time
		from  time.Time
	}{
		{name: "no canary start", from: now.Add(-30 * time.Minute)},
		{name: "an old canary", since: now.Add(-2 * time.Hour), from: now.Add(-30 * time.Minute)},
		{name: "a young canary", since: now.Add(-10 * time.Minute), from: now.Add(-11 * time.Minute)},
		{name: "a canary that just started", since: now, from: now.Add(-time.Minute)},
		{name: "a start ahead of this clock", since: now.Add(5 * time.Minute), from: now.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := c.Window(tt.since, now)
			if !from.Equal(tt.from) || !to.Equal(now) {
				t.Errorf("Window = [%s, %s], want [%s, %s]", from, to, tt.from, now)
			}
		})
	}
}

func TestExpression(t *testing.T) {
	tests := []struct {
		q    MetricQuery
		want string
	}{
		{MetricQuery{Queries: []NamedQuery{{"p95", "p95:trace.x{*} by {kube_role}"}}}, "p95:trace.x{*} by {kube_role}"},
		{MetricQuery{}, ""},
		{
			MetricQuery{Formula: "errors / hits", Queries: []NamedQuery{{"errors", "sum:e{*} by {kube_role}"}, {"hits", "sum:h{*} by {kube_role}"}}},
			"(sum:e{*} by {kube_role}) / (sum:h{*} by {kube_role})",
		},
		{
			// A name inside another, a function and numbers are left alone.
			MetricQuery{Formula: "abs(a - ab) * 1e3 + a2", Queries: []NamedQuery{{"a", "A"}, {"ab", "AB"}}},
			"abs((A) - (AB)) * 1e3 + a2",
		},
	}
	for _, tt := range tests {
		if got := tt.q.Expression(); got != tt.want {
			t.Errorf("Expression(%q) = %q, want %q", tt.q.Formula, got, tt.want)
		}
	}
}

func TestCheckFormula(t *testing.T) {
	tests := []struct {
		formula string
		names   []string
		err     string
	}{
		{"", []string{"a"}, ""},
		{"a / b", []string{"a", "b"}, ""},
		{"100 * (a - b) / b", []string{"a", "b"}, ""},
		{"per_minute(a) / b", []string{"a", "b"}, ""},
		{"a/b*1.5e-2", []string{"a", "b"}, ""},
		{"a / c", []string{"a", "b"}, `metric m: the formula "a / c" uses c, which is not one of its queries (a, b): fix the name`},
		{"a * 2", []string{"a", "b"}, `metric m: the formula "a * 2" does not use query b: use it or remove the query`},
		{"", []string{"a", "b"}, `metric m has 2 queries (a, b) and no formula: say how they combine, e.g. formula: "a / b"`},
	}
	for _, tt := range tests {
		err := checkFormula("m", tt.formula, tt.names)
		if got := errString(err); got != tt.err {
			t.Errorf("checkFormula(%q, %v) = %q, want %q", tt.formula, tt.names, got, tt.err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestGroupedBy(t *testing.T) {
	tests := []struct {
		q    string
		key  string
		want bool
	}{
		{"sum:a{*} by {kube_role}.as_count()", "kube_role", true},
		{"sum:a{*} by {host, kube_role}", "kube_role", true},
		{"sum:a{*} by{kube_role}", "kube_role", true},
		{"sum:a{kube_role:canary}", "kube_role", false},
		{"sum:a{*} by {kube_role_x}", "kube_role", false},
	}
	for _, tt := range tests {
		if got := groupedBy(tt.q, tt.key); got != tt.want {
			t.Errorf("groupedBy(%q, %q) = %v, want %v", tt.q, tt.key, got, tt.want)
		}
	}
}

// TestPlanClusterNotATag: a context that is no Datadog tag value (user@cluster,
// with no clusterNames entry) turns the metrics off, naming the setting.
func TestPlanClusterNotATag(t *testing.T) {
	c := Defaults()
	p := c.Plan(Target{Namespace: "shop", Name: "checkout", Cluster: "admin@prod-tokyo"})
	for _, want := range []string{"cluster \"admin@prod-tokyo\" is not a Datadog tag value", "datadog.clusterNames.admin@prod-tokyo", "kube_cluster_name"} {
		if !strings.Contains(p.MetricsOff, want) {
			t.Errorf("MetricsOff %q does not say %q", p.MetricsOff, want)
		}
	}
}
