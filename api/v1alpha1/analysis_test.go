package v1alpha1

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// decodeTemplate decodes and validates an AnalysisTemplate the way the
// reconciler will: validation only of what decoded cleanly.
func decodeTemplate(t *testing.T, u *unstructured.Unstructured) (*AnalysisTemplate, error) {
	t.Helper()
	at, errs := AnalysisTemplateFromUnstructured(u)
	if len(errs) == 0 {
		errs = ValidateAnalysisTemplate(at)
	}
	return at, AnalysisProblems(AnalysisTemplateKind, at, errs)
}

func TestAnalysisSamplesDecode(t *testing.T) {
	at, err := decodeTemplate(t, decodeYAML(t, datadogTemplateYAML))
	if err != nil {
		t.Fatalf("Datadog template: %v", err)
	}
	dd := at.Spec.Metrics[0].Provider.Datadog
	if dd == nil || dd.APIVersion != DatadogAPIv2 || dd.Formula != "a / b" || len(dd.Queries) != 2 || dd.Aggregator != DatadogAggregatorAvg {
		t.Errorf("datadog provider decoded wrong: %+v", dd)
	}
	if c := at.Spec.Metrics[1].Count; c == nil || c.StrVal != "{{args.samples}}" {
		t.Errorf("count placeholder lost: %v", c)
	}
	if at.Spec.DryRun[0].MetricName != "p99.*" || at.Spec.MeasurementRetention[0].Limit != 20 {
		t.Errorf("rules decoded wrong: %+v %+v", at.Spec.DryRun, at.Spec.MeasurementRetention)
	}

	cat, errs := ClusterAnalysisTemplateFromUnstructured(decodeYAML(t, webTemplateYAML))
	if len(errs) == 0 {
		errs = ValidateClusterAnalysisTemplate(cat)
	}
	if err := AnalysisProblems(ClusterAnalysisTemplateKind, cat, errs); err != nil {
		t.Fatalf("web template: %v", err)
	}
	web := cat.Spec.Metrics[1].Provider.Web
	if web == nil || web.GetMethod() != WebMetricMethodPost || !web.Insecure || !json.Valid(web.JSONBody) {
		t.Errorf("web provider decoded wrong: %+v", web)
	}
	if cat.Spec.Args[1].ValueFrom.SecretKeyRef.Key != "token" || cat.Spec.Args[2].ValueFrom.FieldRef == nil {
		t.Errorf("args decoded wrong: %+v", cat.Spec.Args)
	}
}

// TestAnalysisRunDecode: the spec strictly, the status leniently and whole,
// and the run survives the trip back to the dynamic client.
func TestAnalysisRunDecode(t *testing.T) {
	u := decodeYAML(t, analysisRunYAML)
	r, errs := AnalysisRunFromUnstructured(u)
	if len(errs) == 0 {
		errs = ValidateAnalysisRun(r)
	}
	if err := AnalysisProblems(AnalysisRunKind, r, errs); err != nil {
		t.Fatal(err)
	}
	if !r.Spec.Terminate || *r.Spec.TTLStrategy.SecondsAfterCompletion != 3600 {
		t.Errorf("spec decoded wrong: %+v", r.Spec)
	}
	st := r.Status
	if st.Phase != AnalysisPhaseFailed || !st.Phase.Completed() || st.RunSummary.Failed != 1 || st.CompletedAt == nil {
		t.Errorf("status decoded wrong: %+v", st)
	}
	mr := st.MetricResults[0]
	if mr.Count != 2 || mr.Error != 1 || len(mr.Measurements) != 3 || mr.Measurements[2].Metadata["groups"] != "[]" ||
		mr.Measurements[1].Message == "" || mr.Measurements[0].FinishedAt == nil {
		t.Errorf("metric result decoded wrong: %+v", mr)
	}

	back, err := AnalysisRunToUnstructured(r)
	if err != nil {
		t.Fatal(err)
	}
	if back.GetKind() != AnalysisRunKind || back.GetAPIVersion() != "argoproj.io/v1alpha1" {
		t.Errorf("encoded as %s %s", back.GetAPIVersion(), back.GetKind())
	}
	again, errs := AnalysisRunFromUnstructured(back)
	if len(errs) > 0 || again.Status.MetricResults[0].Measurements[2].Value != "0.2" {
		t.Errorf("round trip: %v %+v", errs, again.Status)
	}
	// A status field of the wrong type, written by some other controller,
	// does not make the run undecodable.
	set("status.runSummary", "garbage")(u)
	if _, errs := AnalysisRunFromUnstructured(u); len(errs) > 0 {
		t.Errorf("a bad status refused the run: %v", errs)
	}
	// Argo Rollouts writes "phase" even when empty.
	fresh := &AnalysisRun{Spec: r.Spec}
	enc, _ := AnalysisRunToUnstructured(fresh)
	if _, found, _ := unstructured.NestedString(enc.Object, "status", "phase"); !found {
		t.Error("status.phase omitted from a new run")
	}
}

// TestRefusedProviders: each Argo Rollouts provider roost does not run is
// named in the error, with what to do.
func TestRefusedProviders(t *testing.T) {
	for _, provider := range []string{"prometheus", "newRelic", "wavefront", "job", "cloudWatch", "kayenta", "graphite", "influxdb", "skywalking", "plugin"} {
		t.Run(provider, func(t *testing.T) {
			u := decodeYAML(t, datadogTemplateYAML)
			set("spec.metrics", []interface{}{m{
				"name":     "error-rate",
				"provider": m{provider: m{"query": "x"}},
			}})(u)
			_, err := decodeTemplate(t, u)
			want := "analysistemplate shop/error-rate: spec.metrics[0].provider." + provider +
				": roost runs the datadog and web providers only; run this template with Argo Rollouts, or rewrite the metric for Datadog"
			if err == nil || err.Error() != want {
				t.Errorf("got  %v\nwant %s", err, want)
			}
		})
	}
	t.Run("in a run", func(t *testing.T) {
		u := decodeYAML(t, analysisRunYAML)
		set("spec.metrics", []interface{}{m{"name": "x", "provider": m{"prometheus": m{}}}})(u)
		_, errs := AnalysisRunFromUnstructured(u)
		want := "spec.metrics[0].provider.prometheus: roost runs the datadog and web providers only; run this analysis run with Argo Rollouts, or rewrite the metric for Datadog"
		if len(errs) != 1 || problemText(errs[0]) != want {
			t.Errorf("got %v, want %s", errs, want)
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		u := decodeYAML(t, datadogTemplateYAML)
		set("spec.metrics", []interface{}{m{"name": "x", "provider": m{"splunk": m{}}}})(u)
		_, err := decodeTemplate(t, u)
		if err == nil || !strings.Contains(err.Error(), `spec.metrics[0].provider.splunk: "splunk" is not a metric provider roost knows`) {
			t.Errorf("got %v", err)
		}
	})
}

func TestUnknownAnalysisFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*unstructured.Unstructured)
		want   string
	}{
		{"unknown metric field", set("spec.metrics", []interface{}{m{"name": "x", "samples": int64(3), "provider": m{"datadog": m{"query": "q"}}}}),
			"spec.metrics[0].samples: roost does not know this field; remove it, or run this template with Argo Rollouts"},
		{"unknown spec field", set("spec.analysisRunMetadata", m{}),
			"spec.analysisRunMetadata: roost does not know this field; remove it, or run this template with Argo Rollouts"},
		{"web OAuth2", set("spec.metrics", []interface{}{m{"name": "x", "provider": m{"web": m{"url": "https://a/b", "authentication": m{"oauth2": m{}}}}}}),
			`spec.metrics[0].provider.web.authentication: OAuth2 authentication of web metrics is not supported; send a token in a header from a Secret argument (value: "Bearer {{args.token}}"), or run this template with Argo Rollouts`},
		{"datadog requestTimeout", set("spec.metrics", []interface{}{m{"name": "x", "provider": m{"datadog": m{"query": "q", "requestTimeout": "5s"}}}}),
			"spec.metrics[0].provider.datadog.requestTimeout: requestTimeout is newer than the Argo Rollouts v1.8 API that roost follows; remove it (a Datadog request times out after 10 s), or run this template with Argo Rollouts"},
		{"pod hash arg in a template", set("spec.args", []interface{}{m{"name": "hash", "valueFrom": m{"podTemplateHashValue": "Latest"}}}),
			"spec.args[0].valueFrom.podTemplateHashValue: podTemplateHashValue is set on the Rollout's analysis args, not on a template's; move it there, or run this template with Argo Rollouts"},
		{"web header from a secret", set("spec.metrics", []interface{}{m{"name": "x", "provider": m{"web": m{"url": "https://a/b", "headers": []interface{}{m{"key": "k", "valueFrom": m{}}}}}}}),
			"spec.metrics[0].provider.web.headers[0].valueFrom: roost does not know this field; remove it, or run this template with Argo Rollouts"},
		{"timeout as text", set("spec.metrics", []interface{}{m{"name": "x", "provider": m{"web": m{"url": "https://a/b", "timeoutSeconds": "ten"}}}}),
			"spec.metrics.provider.web.timeoutSeconds: must be of type integer"},
		{"no spec", del("spec"), "spec: an AnalysisTemplate needs a spec with metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := decodeYAML(t, datadogTemplateYAML)
			tt.mutate(u)
			_, errs := AnalysisTemplateFromUnstructured(u)
			if len(errs) != 1 || problemText(errs[0]) != tt.want {
				t.Errorf("got  %v\nwant %s", errs, tt.want)
			}
		})
	}
}

// metric is the smallest valid metric, for validation tests to change.
func metric(fields m) m {
	out := m{"name": "error-rate", "provider": m{"datadog": m{"query": "sum:errors{*}"}}}
	for k, v := range fields {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func datadog(fields m) m { return metric(m{"provider": m{"datadog": fields}}) }
func web(fields m) m     { return metric(m{"provider": m{"web": fields}}) }

// TestAnalysisValidation: every rule, with the exact text the user reads.
func TestAnalysisValidation(t *testing.T) {
	const at = "analysistemplate shop/error-rate: "
	tests := []struct {
		name    string
		metrics []interface{}
		spec    m // other spec fields
		want    string
	}{
		// Metrics.
		{"no metrics", []interface{}{}, nil, "spec.metrics: a template needs at least one metric, or templates to take them from"},
		{"no name", []interface{}{metric(m{"name": nil})}, nil, "spec.metrics[0].name: every metric needs a name"},
		{"duplicate name", []interface{}{metric(nil), metric(nil)}, nil, `spec.metrics[1].name: "error-rate" is the name of metrics[0] too; give each metric its own name`},
		{"no provider", []interface{}{metric(m{"provider": m{}})}, nil, "spec.metrics[0].provider: a metric needs a provider; roost runs datadog and web"},
		{"two providers", []interface{}{metric(m{"provider": m{"datadog": m{"query": "q"}, "web": m{"url": "https://a/b"}}})}, nil,
			"spec.metrics[0].provider: a metric has exactly one provider; split it into two metrics"},
		{"bad interval", []interface{}{metric(nil), metric(m{"name": "b", "interval": "5x"})}, nil, `spec.metrics[1].interval: "5x" is not a duration; write it as 30s, 5m or 1h`},
		{"interval without unit", []interface{}{metric(m{"interval": "90"})}, nil, `spec.metrics[0].interval: "90" is not a duration; write it as 30s, 5m or 1h`},
		{"negative initialDelay", []interface{}{metric(m{"initialDelay": "-1m"})}, nil, `spec.metrics[0].initialDelay: "-1m" is negative; write it as 30s, 5m or 1h`},
		{"count without interval", []interface{}{metric(m{"count": int64(3)})}, nil, "spec.metrics[0].count: 3 measurements need an interval between them; set interval (e.g. 1m), or count: 1"},
		{"negative count", []interface{}{metric(m{"count": int64(-1)})}, nil, "spec.metrics[0].count: -1 is negative; write 0 or more"},
		{"count as words", []interface{}{metric(m{"count": "three"})}, nil, `spec.metrics[0].count: "three" is not a whole number; write a number such as 3, or an argument such as "{{args.limit}}"`},
		{"count below limits", []interface{}{metric(m{"interval": "1m", "count": int64(3), "failureLimit": int64(2), "consecutiveSuccessLimit": int64(2)})}, nil,
			"spec.metrics[0].count: 3 is less than failureLimit (2) + consecutiveSuccessLimit (2), so the limits could never be reached; raise count or lower the limits"},
		{"count below inconclusiveLimit", []interface{}{metric(m{"interval": "1m", "count": "2", "inconclusiveLimit": int64(3)})}, nil,
			"spec.metrics[0].count: 2 is less than inconclusiveLimit (3), so the limit could never be reached; raise count or lower the limit"},
		{"failureLimit below -1", []interface{}{metric(m{"failureLimit": int64(-2)})}, nil,
			"spec.metrics[0].failureLimit: -2 is below -1; write 0 or more failures to tolerate, or -1 to judge by consecutiveSuccessLimit only"},
		{"failureLimit off alone", []interface{}{metric(m{"failureLimit": int64(-1)})}, nil,
			"spec.metrics[0].failureLimit: -1 turns failures off, so only consecutiveSuccessLimit can end the metric; set consecutiveSuccessLimit above 0, or failureLimit to 0 or more"},
		{"negative inconclusiveLimit", []interface{}{metric(m{"inconclusiveLimit": int64(-1)})}, nil, "spec.metrics[0].inconclusiveLimit: -1 is negative; write 0 or more"},
		{"negative consecutiveErrorLimit", []interface{}{metric(m{"consecutiveErrorLimit": "-4"})}, nil, "spec.metrics[0].consecutiveErrorLimit: -4 is negative; write 0 or more"},
		{"negative consecutiveSuccessLimit", []interface{}{metric(m{"consecutiveSuccessLimit": int64(-1)})}, nil, "spec.metrics[0].consecutiveSuccessLimit: -1 is negative; write 0 or more"},

		// Datadog.
		{"datadog api version", []interface{}{datadog(m{"query": "q", "apiVersion": "v3"})}, nil, `spec.metrics[0].provider.datadog.apiVersion: "v3" is not a Datadog API version; write v1 or v2`},
		{"datadog bad window", []interface{}{datadog(m{"query": "q", "interval": "5 minutes"})}, nil, `spec.metrics[0].provider.datadog.interval: "5 minutes" is not a duration; write it as 30s, 5m or 1h`},
		{"datadog no query v1", []interface{}{datadog(m{})}, nil, "spec.metrics[0].provider.datadog.query: a Datadog metric needs a query"},
		{"datadog no query v2", []interface{}{datadog(m{"apiVersion": "v2"})}, nil, "spec.metrics[0].provider.datadog.query: a Datadog metric needs a query, or queries with a formula"},
		{"datadog query and queries", []interface{}{datadog(m{"apiVersion": "v2", "query": "q", "queries": m{"a": "x"}})}, nil, "spec.metrics[0].provider.datadog.queries: set query or queries, not both"},
		{"datadog queries on v1", []interface{}{datadog(m{"queries": m{"a": "x"}})}, nil, "spec.metrics[0].provider.datadog.queries: queries needs apiVersion: v2; set it, or write a single query for v1"},
		{"datadog formula on v1", []interface{}{datadog(m{"query": "q", "formula": "a"})}, nil, "spec.metrics[0].provider.datadog.formula: formula needs apiVersion: v2; set it, or write a single query for v1"},
		{"datadog aggregator on v1", []interface{}{datadog(m{"apiVersion": "v1", "query": "q", "aggregator": "avg"})}, nil, "spec.metrics[0].provider.datadog.aggregator: aggregator needs apiVersion: v2; set it, or write a single query for v1"},
		{"datadog formula without queries", []interface{}{datadog(m{"apiVersion": "v2", "query": "q", "formula": "a"})}, nil, "spec.metrics[0].provider.datadog.queries: a formula combines named queries; put them in queries (e.g. a: …, b: …)"},
		{"datadog queries without formula", []interface{}{datadog(m{"apiVersion": "v2", "queries": m{"a": "x", "b": "y"}})}, nil, `spec.metrics[0].provider.datadog.formula: 2 queries need a formula that combines them into one number (e.g. "a / b")`},
		{"datadog bad aggregator", []interface{}{datadog(m{"apiVersion": "v2", "query": "q", "aggregator": "median"})}, nil,
			`spec.metrics[0].provider.datadog.aggregator: "median" is not a Datadog aggregator; write one of avg, min, max, sum, last, percentile, mean, l2norm, area`},
		{"datadog empty query", []interface{}{datadog(m{"apiVersion": "v2", "queries": m{"a": " "}})}, nil, "spec.metrics[0].provider.datadog.queries[a]: the query is empty; write a Datadog metric query"},
		{"datadog namespaced secret without name", []interface{}{datadog(m{"query": "q", "secretRef": m{"namespaced": true}})}, nil,
			"spec.metrics[0].provider.datadog.secretRef.name: namespaced credentials need the name of a Secret in the run's namespace"},

		// Web.
		{"web no url", []interface{}{web(m{})}, nil, "spec.metrics[0].provider.web.url: a web metric needs a url"},
		{"web relative url", []interface{}{web(m{"url": "/health"})}, nil, `spec.metrics[0].provider.web.url: "/health" is not an http or https URL; write it as https://host/path`},
		{"web method", []interface{}{web(m{"url": "https://a/b", "method": "DELETE"})}, nil, `spec.metrics[0].provider.web.method: "DELETE" is not a method web metrics send; write GET, POST, PUT`},
		{"web body on GET", []interface{}{web(m{"url": "https://a/b", "body": "x"})}, nil, "spec.metrics[0].provider.web.body: a body is sent with POST or PUT only; set method: POST or PUT, or remove it"},
		{"web two bodies", []interface{}{web(m{"url": "https://a/b", "method": "PUT", "body": "x", "jsonBody": m{"a": int64(1)}})}, nil, "spec.metrics[0].provider.web.jsonBody: set body or jsonBody, not both"},
		{"web negative timeout", []interface{}{web(m{"url": "https://a/b", "timeoutSeconds": int64(-1)})}, nil, "spec.metrics[0].provider.web.timeoutSeconds: -1 is negative; write the seconds to wait for an answer (10 when unset)"},
		{"web header without key", []interface{}{web(m{"url": "https://a/b", "headers": []interface{}{m{"key": "", "value": "v"}}})}, nil, "spec.metrics[0].provider.web.headers[0].key: every header needs a key"},

		// Args, rules, nested templates.
		{"arg without name", []interface{}{metric(nil)}, m{"args": []interface{}{m{"value": "x"}}}, "spec.args[0].name: every argument needs a name, which metrics refer to as {{args.NAME}}"},
		{"duplicate arg", []interface{}{metric(nil)}, m{"args": []interface{}{m{"name": "a"}, m{"name": "a"}}}, `spec.args[1].name: "a" is the name of args[0] too; give each argument its own name`},
		{"arg value and valueFrom", []interface{}{metric(nil)}, m{"args": []interface{}{m{"name": "a", "value": "x", "valueFrom": m{"fieldRef": m{"fieldPath": "metadata.name"}}}}},
			"spec.args[0].valueFrom: set value or valueFrom, not both"},
		{"arg empty valueFrom", []interface{}{metric(nil)}, m{"args": []interface{}{m{"name": "a", "valueFrom": m{}}}}, "spec.args[0].valueFrom: valueFrom needs secretKeyRef or fieldRef"},
		{"arg two sources", []interface{}{metric(nil)}, m{"args": []interface{}{m{"name": "a", "valueFrom": m{"fieldRef": m{"fieldPath": "metadata.name"}, "secretKeyRef": m{"name": "s", "key": "k"}}}}},
			"spec.args[0].valueFrom: set secretKeyRef or fieldRef, not both"},
		{"arg secret without key", []interface{}{metric(nil)}, m{"args": []interface{}{m{"name": "a", "valueFrom": m{"secretKeyRef": m{"name": "s"}}}}},
			"spec.args[0].valueFrom.secretKeyRef.key: name the Secret's key that holds the value"},
		{"arg fieldRef without path", []interface{}{metric(nil)}, m{"args": []interface{}{m{"name": "a", "valueFrom": m{"fieldRef": m{}}}}},
			"spec.args[0].valueFrom.fieldRef.fieldPath: write the path of a Rollout field, e.g. metadata.labels['app']"},
		{"dryRun without name", []interface{}{metric(nil)}, m{"dryRun": []interface{}{m{}}}, `spec.dryRun[0].metricName: name the metrics the rule applies to (a regular expression; ".*" for all)`},
		{"dryRun bad regexp", []interface{}{metric(nil)}, m{"dryRun": []interface{}{m{"metricName": "error-(rate"}}},
			"spec.dryRun[0].metricName: \"error-(rate\" is not a regular expression (error parsing regexp: missing closing ): `error-(rate`); write a metric name, or \".*\" for all"},
		{"negative retention", []interface{}{metric(nil)}, m{"measurementRetention": []interface{}{m{"metricName": ".*", "limit": int64(-1)}}},
			"spec.measurementRetention[0].limit: -1 is negative; write how many measurements to keep"},
		{"nested template without name", nil, m{"templates": []interface{}{m{"clusterScope": true}}},
			"spec.templates[0].templateName: name the AnalysisTemplate (or, with clusterScope: true, the ClusterAnalysisTemplate) to include"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := decodeYAML(t, datadogTemplateYAML)
			spec := m{}
			if tt.metrics != nil {
				spec["metrics"] = tt.metrics
			}
			for k, v := range tt.spec {
				spec[k] = v
			}
			set("spec", spec)(u)
			_, err := decodeTemplate(t, u)
			if err == nil || err.Error() != at+tt.want {
				t.Errorf("got  %v\nwant %s", err, at+tt.want)
			}
		})
	}
}

// TestAnalysisValidationAccepts: what Argo Rollouts accepts and roost must too.
func TestAnalysisValidationAccepts(t *testing.T) {
	tests := map[string][]interface{}{
		"no conditions":                   {metric(nil)},
		"failureLimit off with success":   {metric(m{"interval": "1m", "failureLimit": int64(-1), "consecutiveSuccessLimit": int64(3), "count": int64(5)})},
		"placeholders":                    {metric(m{"interval": "{{args.every}}", "count": "{{args.n}}", "failureLimit": "{{args.f}}"})},
		"interval without count":          {metric(m{"interval": "30s"})},
		"count 1 without interval":        {metric(m{"count": int64(1)})},
		"zero duration":                   {metric(m{"initialDelay": "0"})},
		"datadog v2 single query":         {datadog(m{"apiVersion": "v2", "query": "q"})},
		"datadog v2 one named query":      {datadog(m{"apiVersion": "v2", "queries": m{"a": "q"}})},
		"datadog secret in controller ns": {datadog(m{"query": "q", "secretRef": m{"name": "dd"}})},
		"web url placeholder":             {web(m{"url": "{{args.url}}"})},
	}
	for name, metrics := range tests {
		t.Run(name, func(t *testing.T) {
			u := decodeYAML(t, datadogTemplateYAML)
			set("spec", m{"metrics": metrics})(u)
			if _, err := decodeTemplate(t, u); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAnalysisRunValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*unstructured.Unstructured)
		want   string
	}{
		{"no metrics", set("spec.metrics", []interface{}{}), "spec.metrics: a run needs at least one metric"},
		{"dryRun matches nothing", set("spec.dryRun", []interface{}{m{"metricName": "latency"}}), `spec.dryRun[0].metricName: "latency" matches no metric of this run; write the name of one of its metrics`},
		{"retention matches nothing", set("spec.measurementRetention", []interface{}{m{"metricName": "^rate$", "limit": int64(5)}}),
			`spec.measurementRetention[0].metricName: "^rate$" matches no metric of this run; write the name of one of its metrics`},
		{"negative ttl", set("spec.ttlStrategy.secondsAfterFailure", int64(-5)), "spec.ttlStrategy.secondsAfterFailure: -5 is negative; write the seconds to keep a completed run, 0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := decodeYAML(t, analysisRunYAML)
			tt.mutate(u)
			r, errs := AnalysisRunFromUnstructured(u)
			if len(errs) == 0 {
				errs = ValidateAnalysisRun(r)
			}
			err := AnalysisProblems(AnalysisRunKind, r, errs)
			want := "analysisrun shop/checkout-6f9d8c7b5-2-1: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("got  %v\nwant %s", err, want)
			}
		})
	}
	// Unanchored, as in Argo Rollouts: "rate" matches "error-rate".
	u := decodeYAML(t, analysisRunYAML)
	set("spec.dryRun", []interface{}{m{"metricName": "rate"}})(u)
	r, _ := AnalysisRunFromUnstructured(u)
	if errs := ValidateAnalysisRun(r); len(errs) > 0 {
		t.Errorf("unanchored rule refused: %v", errs)
	}
}

// TestAnalysisProblemsListsEvery: all problems come back at once, in one
// message naming the object; a cluster template has no namespace.
func TestAnalysisProblemsListsEvery(t *testing.T) {
	u := decodeYAML(t, webTemplateYAML)
	set("spec.metrics", []interface{}{web(m{"method": "GET", "body": "x"}), metric(m{"name": "healthy", "interval": "soon"})})(u)
	cat, errs := ClusterAnalysisTemplateFromUnstructured(u)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	errs = ValidateClusterAnalysisTemplate(cat)
	err := AnalysisProblems(ClusterAnalysisTemplateKind, cat, errs)
	want := "clusteranalysistemplate health: " +
		"spec.metrics[0].provider.web.url: a web metric needs a url; " +
		"spec.metrics[0].provider.web.body: a body is sent with POST or PUT only; set method: POST or PUT, or remove it; " +
		`spec.metrics[1].interval: "soon" is not a duration; write it as 30s, 5m or 1h`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if AnalysisProblems(AnalysisTemplateKind, cat, nil) != nil {
		t.Error("no problems must give a nil error")
	}
	var fe field.ErrorList = err.(*InvalidAnalysisError).Problems
	if len(fe) != 3 {
		t.Errorf("want the 3 problems as field errors, got %d", len(fe))
	}
}

func TestAnalysisDefaults(t *testing.T) {
	i := func(v int32) *intstr.IntOrString { x := intstr.FromInt32(v); return &x }
	s := func(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }
	counts := []struct {
		count    *intstr.IntOrString
		interval string
		want     int32
		bounded  bool
	}{
		{nil, "", 1, true},        // neither: one measurement
		{i(0), "", 1, true},       // 0 is unset
		{nil, "1m", 0, false},     // interval alone: no end
		{i(0), "1m", 0, false},    // same
		{i(5), "1m", 5, true},     // as written
		{s("5"), "1m", 5, true},   // a number as a string
		{s(" 2 "), "1m", 2, true}, // spaces, as after substituting "{{ args.n }}"
	}
	for _, c := range counts {
		met := Metric{Count: c.count, Interval: c.interval}
		n, bounded, err := met.EffectiveCount()
		if err != nil || n != c.want || bounded != c.bounded {
			t.Errorf("EffectiveCount(count %v, interval %q) = %d %v %v; want %d %v", c.count, c.interval, n, bounded, err, c.want, c.bounded)
		}
	}
	if _, _, err := (&Metric{Count: s("{{args.n}}")}).EffectiveCount(); err == nil || !strings.Contains(err.Error(), "not substituted") {
		t.Errorf("an unsubstituted count must be an error, got %v", err)
	}

	var none Metric
	limits := []struct {
		name string
		get  func() (int32, error)
		want int32
	}{
		{"failureLimit", none.GetFailureLimit, 0},
		{"inconclusiveLimit", none.GetInconclusiveLimit, 0},
		{"consecutiveErrorLimit", none.GetConsecutiveErrorLimit, 4},
		{"consecutiveSuccessLimit", none.GetConsecutiveSuccessLimit, 0},
	}
	for _, l := range limits {
		if got, err := l.get(); err != nil || got != l.want {
			t.Errorf("default %s = %d %v, want %d", l.name, got, err, l.want)
		}
	}
	set := Metric{FailureLimit: i(-1), ConsecutiveErrorLimit: s("7")}
	if f, _ := set.GetFailureLimit(); f != FailureLimitOff {
		t.Errorf("failureLimit -1 read as %d", f)
	}
	if e, _ := set.GetConsecutiveErrorLimit(); e != 7 {
		t.Errorf("consecutiveErrorLimit \"7\" read as %d", e)
	}
	if _, err := (&Metric{FailureLimit: s("x")}).GetFailureLimit(); err == nil || !strings.HasPrefix(err.Error(), "failureLimit: ") {
		t.Errorf("bad failureLimit: %v", err)
	}

	if d, ok, err := (&Metric{Interval: "90s"}).IntervalDuration(); err != nil || !ok || d != 90*time.Second {
		t.Errorf("interval 90s = %v %v %v", d, ok, err)
	}
	if _, ok, err := (&Metric{}).InitialDelayDuration(); ok || err != nil {
		t.Errorf("no initialDelay = %v %v", ok, err)
	}

	var dd DatadogMetric
	if w, err := dd.WindowDuration(); err != nil || w != 5*time.Minute || dd.GetAPIVersion() != DatadogAPIv1 || dd.GetAggregator() != DatadogAggregatorLast {
		t.Errorf("Datadog defaults: window %v %v, %s, %s", w, err, dd.GetAPIVersion(), dd.GetAggregator())
	}
	if w, _ := (&DatadogMetric{Interval: "15m"}).WindowDuration(); w != 15*time.Minute {
		t.Errorf("Datadog window 15m read as %v", w)
	}
	var wm WebMetric
	if wm.GetMethod() != WebMetricMethodGet || wm.GetTimeout() != 10*time.Second || wm.GetJSONPath() != "{$}" {
		t.Errorf("web defaults: %s %v %s", wm.GetMethod(), wm.GetTimeout(), wm.GetJSONPath())
	}

	for phase, done := range map[AnalysisPhase]bool{
		AnalysisPhasePending: false, AnalysisPhaseRunning: false, "": false,
		AnalysisPhaseSuccessful: true, AnalysisPhaseFailed: true, AnalysisPhaseError: true, AnalysisPhaseInconclusive: true,
	} {
		if phase.Completed() != done {
			t.Errorf("%q.Completed() = %v", phase, !done)
		}
	}
}
