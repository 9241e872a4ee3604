package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/datadogserver"
)

// The namespaces of the analysis tests: roost's own, and the run's.
const (
	roostNS = "roost"
	runNS   = "shop"
)

var testRun = &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: runNS, Name: "web-6d4f8b-2"}}

// deadAddress is an address no test serves: credentials that point there
// must not be the ones used.
const deadAddress = "http://127.0.0.1:1"

// wireRequest is one request as it came over the wire.
type wireRequest struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
}

// wire records the requests to the in-repo server, headers included.
type wire struct {
	mu   sync.Mutex
	reqs []wireRequest
}

func (w *wire) add(r wireRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = append(w.reqs, r)
}

func (w *wire) requests() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireRequest(nil), w.reqs...)
}

func (w *wire) last(t *testing.T) wireRequest {
	t.Helper()
	reqs := w.requests()
	if len(reqs) == 0 {
		t.Fatalf("no request went out")
	}
	return reqs[len(reqs)-1]
}

// analysisWorld is the world of client_test.go with data for analysis
// metrics, a recorder in front of the server, and a cluster holding the
// Secret "datadog" (the server's keys, no address).
type analysisWorld struct {
	*world
	wire *wire
	url  string
	kube *fake.Clientset
}

func newAnalysisWorld(t testing.TB, rl datadogserver.RateLimit) *analysisWorld {
	t.Helper()
	w := newWorld(t, rl)
	// Per 10 s bucket: a ratio of 0.02 on the canary and 0.01 on stable; a
	// gauge of 5 that stops 100 s before the end of the window.
	for i := range buckets {
		at := t0.Add(time.Duration(i)*10*time.Second + time.Second)
		w.srv.Add("roost.test.ratio", []string{"service:web", "kube_role:canary"}, at, 0.02)
		w.srv.Add("roost.test.ratio", []string{"service:web", "kube_role:stable"}, at, 0.01)
		if i < buckets-10 {
			w.srv.Add("roost.test.stopped", []string{"service:web"}, at, 5)
		}
	}
	rec := &wire{}
	h := w.srv.Handler()
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.add(wireRequest{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: body})
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	kube := fake.NewClientset(secretIn(roostNS, DefaultSecretName, map[string]string{"api-key": testAPIKey, "app-key": testAppKey}))
	return &analysisWorld{world: w, wire: rec, url: front.URL, kube: kube}
}

func secretIn(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// provider is a provider of the world: its cluster, an empty environment,
// its clock, its server as the default address, no jitter; opts override.
func (w *analysisWorld) provider(t testing.TB, opts AnalysisOptions) *AnalysisProvider {
	t.Helper()
	if opts.Kube == nil {
		opts.Kube = w.kube
	}
	if opts.Namespace == "" {
		opts.Namespace = roostNS
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = envOf(nil)
	}
	if opts.Clock == nil {
		opts.Clock = w.clock
	}
	if opts.DefaultAddress == "" {
		opts.DefaultAddress = w.url
	}
	opts.jitter = func(time.Duration) time.Duration { return 0 }
	p, err := NewAnalysisProvider(opts)
	if err != nil {
		t.Fatalf("NewAnalysisProvider: %v", err)
	}
	return p
}

func envOf(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func ddMetric(d v1alpha1.DatadogMetric) v1alpha1.Metric {
	return v1alpha1.Metric{Name: "error-rate", Provider: v1alpha1.MetricProvider{Datadog: &d}}
}

func v1Metric(query string) v1alpha1.Metric {
	return ddMetric(v1alpha1.DatadogMetric{Query: query})
}

func v2Metric(query string) v1alpha1.Metric {
	return ddMetric(v1alpha1.DatadogMetric{APIVersion: v1alpha1.DatadogAPIv2, Query: query})
}

func (w *analysisWorld) measure(p *AnalysisProvider, m v1alpha1.Metric) analysis.Reading {
	return p.Measure(context.Background(), testRun, m, w.clock.Now())
}

// wantMeasured fails unless r is a measurement: no error, no wait.
func wantMeasured(t *testing.T, r analysis.Reading) {
	t.Helper()
	if r.Err != nil || r.RetryAfter != 0 {
		t.Fatalf("not measured: err %v, retry after %v (%s)", r.Err, r.RetryAfter, r.Reason)
	}
}

// wantErr fails unless r is an Error whose message holds every piece.
func wantErr(t *testing.T, r analysis.Reading, pieces ...string) {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("no error: %+v", r)
	}
	if r.RetryAfter != 0 || r.Result != nil {
		t.Errorf("an error with retry after %v and result %v", r.RetryAfter, r.Result)
	}
	for _, p := range pieces {
		if !strings.Contains(r.Err.Error(), p) {
			t.Errorf("error %q\nlacks %q", r.Err, p)
		}
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %s", want)
	}
	return reflect.DeepEqual(g, w)
}

const (
	ratioCanary  = "avg:roost.test.ratio{service:web,kube_role:canary}"
	ratioStable  = "avg:roost.test.ratio{service:web,kube_role:stable}"
	ratioGrouped = "avg:roost.test.ratio{service:web} by {kube_role}"
)

func TestAnalysisRequestsOnTheWire(t *testing.T) {
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	p := w.provider(t, AnalysisOptions{})
	now := w.clock.Now()
	v1Params := func(window time.Duration, q string) string {
		// Argo's order, which is also url.Values' sorted one.
		return "from=" + fmt.Sprint(now.Add(-window).Unix()) + "&query=" + url.QueryEscape(q) + "&to=" + fmt.Sprint(now.Unix())
	}
	// Argo's bodies, keys in Argo's order (compared as JSON).
	scalarBody := func(queries, formulas string) string {
		return fmt.Sprintf(`{"data":{"attributes":{"from":%d,"to":%d,"queries":[%s],"formulas":[%s]},"type":"scalar_request"}}`,
			now.Add(-5*time.Minute).UnixMilli(), now.UnixMilli(), queries, formulas)
	}
	tests := []struct {
		name     string
		metric   v1alpha1.Metric
		method   string
		path     string
		rawQuery string
		body     string
	}{
		{
			name: "v1 by default, window 5m", metric: v1Metric(ratioCanary),
			method: "GET", path: "/api/v1/query", rawQuery: v1Params(5*time.Minute, ratioCanary),
		},
		{
			name: "v1 with a window of 90s", metric: ddMetric(v1alpha1.DatadogMetric{APIVersion: v1alpha1.DatadogAPIv1, Interval: "90s", Query: ratioGrouped}),
			method: "GET", path: "/api/v1/query", rawQuery: v1Params(90*time.Second, ratioGrouped),
		},
		{
			name: "v2 lone query: named query, aggregator last, no formulas", metric: v2Metric(ratioCanary),
			method: "POST", path: "/api/v2/query/scalar",
			body: scalarBody(`{"aggregator":"last","data_source":"metrics","name":"query","query":"`+ratioCanary+`"}`, ""),
		},
		{
			name: "v2 queries, formula and aggregator",
			metric: ddMetric(v1alpha1.DatadogMetric{
				APIVersion: v1alpha1.DatadogAPIv2, Aggregator: v1alpha1.DatadogAggregatorAvg, Formula: "a / b",
				Queries: map[string]string{"b": ratioStable, "a": ratioCanary},
			}),
			method: "POST", path: "/api/v2/query/scalar",
			body: scalarBody(`{"aggregator":"avg","data_source":"metrics","name":"a","query":"`+ratioCanary+`"},`+
				`{"aggregator":"avg","data_source":"metrics","name":"b","query":"`+ratioStable+`"}`, `{"formula":"a / b"}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantMeasured(t, w.measure(p, tt.metric))
			r := w.wire.last(t)
			if r.method != tt.method || r.path != tt.path || r.rawQuery != tt.rawQuery {
				t.Errorf("%s %s?%s\nwant %s %s?%s", r.method, r.path, r.rawQuery, tt.method, tt.path, tt.rawQuery)
			}
			if r.header.Get("DD-API-KEY") != testAPIKey || r.header.Get("DD-APPLICATION-KEY") != testAppKey {
				t.Errorf("the keys were not both sent in DD-API-KEY and DD-APPLICATION-KEY")
			}
			if tt.body == "" {
				if len(r.body) != 0 {
					t.Errorf("a body with a GET: %s", r.body)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !jsonEqual(t, r.body, tt.body) {
				t.Errorf("body %s\nwant %s", r.body, tt.body)
			}
		})
	}
}

func TestAnalysisResults(t *testing.T) {
	groups := `[{"name":"kube_role:canary","value":0.02},{"name":"kube_role:stable","value":0.01}]`
	nullGroups := `[{"name":"kube_role:canary","value":null},{"name":"kube_role:stable","value":null}]`
	tests := []struct {
		name  string
		query string
		fault *datadogserver.Fault
		// v2 replaces the metric for v2 when set.
		v2       *v1alpha1.DatadogMetric
		result   any
		value    string
		metadata map[string]string
	}{
		{name: "one value", query: ratioCanary, result: 0.02, value: "0.02"},
		{name: "the last point that is not null, never 0", query: "avg:roost.test.stopped{service:web}", result: 5.0, value: "5"},
		{name: "grouped: every group, in group order", query: ratioGrouped,
			result: []float64{0.02, 0.01}, value: "[0.02,0.01]", metadata: map[string]string{"groups": groups}},
		{name: "no such metric", query: "avg:roost.test.nosuch{service:web}", value: "[]"},
		{name: "grouped, no such metric", query: "avg:roost.test.nosuch{service:web} by {kube_role}", value: "[]"},
		{name: "every point null", query: ratioCanary, fault: &datadogserver.Fault{AllNull: true}, value: "[null]"},
		{name: "grouped, every point null", query: ratioGrouped, fault: &datadogserver.Fault{AllNull: true},
			value: "[null,null]", metadata: map[string]string{"groups": nullGroups}},
		{name: "no series at all", query: ratioCanary, fault: &datadogserver.Fault{EmptySeries: true}, value: "[]"},
		{name: "grouped, one group gone", query: ratioGrouped, fault: &datadogserver.Fault{DropGroup: "kube_role:canary"},
			result: []float64{0.01}, value: "[0.01]", metadata: map[string]string{"groups": `[{"name":"kube_role:stable","value":0.01}]`}},
		{name: "a formula", query: "(" + ratioCanary + ") / (" + ratioStable + ")",
			v2:     &v1alpha1.DatadogMetric{APIVersion: v1alpha1.DatadogAPIv2, Formula: "a / b", Queries: map[string]string{"a": ratioCanary, "b": ratioStable}},
			result: 2.0, value: "2"},
	}
	for _, api := range []v1alpha1.DatadogAPIVersion{v1alpha1.DatadogAPIv1, v1alpha1.DatadogAPIv2} {
		for _, tt := range tests {
			t.Run(string(api)+"/"+tt.name, func(t *testing.T) {
				w := newAnalysisWorld(t, datadogserver.RateLimit{})
				p := w.provider(t, AnalysisOptions{})
				m := ddMetric(v1alpha1.DatadogMetric{APIVersion: api, Query: tt.query})
				if api == v1alpha1.DatadogAPIv2 && tt.v2 != nil {
					m = ddMetric(*tt.v2)
				}
				if tt.fault != nil {
					f := *tt.fault
					f.Count = 1
					w.srv.InjectFault(f)
				}
				r := w.measure(p, m)
				wantMeasured(t, r)
				if !reflect.DeepEqual(r.Result, tt.result) || r.Value != tt.value || !reflect.DeepEqual(r.Metadata, tt.metadata) {
					t.Errorf("got result %#v value %s metadata %v\nwant result %#v value %s metadata %v", r.Result, r.Value, r.Metadata, tt.result, tt.value, tt.metadata)
				}
			})
		}
	}
}

// TestAnalysisAnswers reads answers of every shape, decoded by Datadog's
// client as they come off the wire.
func TestAnalysisAnswers(t *testing.T) {
	var hosts, values []string
	manyResult := make([]float64, 150)
	for i := range manyResult {
		hosts = append(hosts, fmt.Sprintf(`["h%03d"]`, i))
		values = append(values, fmt.Sprint(i))
		manyResult[i] = float64(i)
	}
	manyBody := fmt.Sprintf(`{"data":{"type":"scalar_response","attributes":{"columns":[{"name":"host","type":"group","values":[%s]},{"name":"a","type":"number","values":[%s]}]}}}`,
		strings.Join(hosts, ","), strings.Join(values, ","))
	scalar := func(columns string) string {
		return `{"data":{"type":"scalar_response","attributes":{"columns":[` + columns + `]}}}`
	}
	tests := []struct {
		name   string
		v2     bool
		body   string
		result any
		value  string
		// groups is the groups metadata; truncated its groups_truncated.
		groups    string
		truncated bool
		// queryErr and shapeErr are the error expected, a piece of it.
		queryErr, shapeErr string
	}{
		{name: "v1 no series", body: `{"status":"ok","series":[]}`, value: "[]"},
		{name: "v1 no series field", body: `{"status":"ok"}`, value: "[]"},
		{name: "v1 empty pointlist", body: `{"status":"ok","series":[{"pointlist":[],"scope":"*","tag_set":[]}]}`, value: "[]"},
		{name: "v1 every point null", body: `{"status":"ok","series":[{"pointlist":[[1,null],[2,null]],"scope":"*"}]}`, value: "[null]"},
		{name: "v1 a null last point is not 0", body: `{"status":"ok","series":[{"pointlist":[[1,3],[2,0.5],[3,null]],"scope":"*"}]}`, result: 0.5, value: "0.5"},
		{name: "v1 a real 0", body: `{"status":"ok","series":[{"pointlist":[[1,3],[2,0]],"scope":"*"}]}`, result: 0.0, value: "0"},
		{name: "v1 not grouped: the first series", body: `{"status":"ok","series":[{"pointlist":[[1,1]],"scope":"*"},{"pointlist":[[1,2]],"scope":"*"}]}`, result: 1.0, value: "1"},
		{name: "v1 small and large values", body: `{"status":"ok","series":[{"pointlist":[[1,1.5e-7]]}]}`, result: 1.5e-7, value: "0.00000015"},
		{
			name: "v1 grouped, in group order, a group without data kept in the metadata",
			body: `{"status":"ok","group_by":["kube_role"],"series":[` +
				`{"pointlist":[[1,0.2],[2,null]],"scope":"service:web,kube_role:stable","tag_set":["kube_role:stable"]},` +
				`{"pointlist":[[1,null]],"scope":"service:web,kube_role:preview","tag_set":["kube_role:preview"]},` +
				`{"pointlist":[[1,0.1],[2,0.3]],"scope":"service:web,kube_role:canary","tag_set":["kube_role:canary"]}]}`,
			result: []float64{0.3, 0.2}, value: "[0.3,0.2]",
			groups: `[{"name":"kube_role:canary","value":0.3},{"name":"kube_role:preview","value":null},{"name":"kube_role:stable","value":0.2}]`,
		},
		{name: "v1 grouped by two tags", body: `{"status":"ok","group_by":["env","kube_role"],"series":[{"pointlist":[[1,1]],"tag_set":["env:prod","kube_role:canary"]}]}`,
			result: []float64{1}, value: "[1]", groups: `[{"name":"env:prod,kube_role:canary","value":1}]`},
		{name: "v1 grouped by scope alone", body: `{"status":"ok","group_by":["kube_role"],"series":[{"pointlist":[[1,1]],"scope":"kube_role:canary"}]}`,
			result: []float64{1}, value: "[1]", groups: `[{"name":"kube_role:canary","value":1}]`},
		{name: "v1 status error", body: `{"status":"error","res_type":"time_series","series":[],"error":"Rate limit of 300 requests in 3600 seconds reached"}`,
			queryErr: "Rate limit of 300 requests"},
		{name: "v1 error beside status ok", body: `{"status":"ok","series":[],"error":"no such function"}`, queryErr: "no such function"},
		{name: "v1 status error without a message", body: `{"status":"error"}`, queryErr: "status error, without a message"},
		{name: "v1 errors of another shape", body: `{"status":"ok","series":"nope","errors":["query is invalid"]}`, queryErr: "query is invalid"},
		{name: "v1 a point of one number", body: `{"status":"ok","series":[{"pointlist":[[1]]}]}`, shapeErr: "series 0 point 0 is not [time, value]"},
		{name: "v1 wrong shape", body: `{"status":"ok","series":{"a":1}}`, shapeErr: "not a query response"},

		{name: "v2 no columns", v2: true, body: scalar(``), value: "[]"},
		{name: "v2 no attributes", v2: true, body: `{"data":{"type":"scalar_response"}}`, value: "[]"},
		{name: "v2 an empty number column", v2: true, body: scalar(`{"name":"a","type":"number","values":[],"meta":{"unit":null}}`), value: "[]"},
		{name: "v2 a null value", v2: true, body: scalar(`{"name":"a","type":"number","values":[null],"meta":{"unit":null}}`), value: "[null]"},
		{name: "v2 a value", v2: true, body: scalar(`{"name":"a","type":"number","values":[0.25]}`), result: 0.25, value: "0.25"},
		{name: "v2 a real 0", v2: true, body: scalar(`{"name":"a","type":"number","values":[0]}`), result: 0.0, value: "0"},
		{
			name: "v2 grouped, in group order", v2: true,
			body: scalar(`{"name":"kube_role","type":"group","values":[["stable"],["canary"],["preview"]]},` +
				`{"name":"errors / hits","type":"number","values":[0.01,0.05,null]}`),
			result: []float64{0.05, 0.01}, value: "[0.05,0.01]",
			groups: `[{"name":"kube_role:canary","value":0.05},{"name":"kube_role:preview","value":null},{"name":"kube_role:stable","value":0.01}]`,
		},
		{
			name: "v2 grouped by two tags", v2: true,
			body: scalar(`{"name":"env","type":"group","values":[["prod"],["prod"]]},{"name":"kube_role","type":"group","values":[["stable"],["canary"]]},` +
				`{"name":"a","type":"number","values":[1,2]}`),
			result: []float64{2, 1}, value: "[2,1]",
			groups: `[{"name":"env:prod,kube_role:canary","value":2},{"name":"env:prod,kube_role:stable","value":1}]`,
		},
		{name: "v2 grouped, no rows", v2: true, body: scalar(`{"name":"kube_role","type":"group","values":[]},{"name":"a","type":"number","values":[]}`), value: "[]"},
		{name: "v2 grouped, all null", v2: true, body: scalar(`{"name":"kube_role","type":"group","values":[["canary"]]},{"name":"a","type":"number","values":[null]}`),
			value: "[null]", groups: `[{"name":"kube_role:canary","value":null}]`},
		{name: "v2 more groups than the metadata keeps", v2: true, body: manyBody, result: manyResult, truncated: true},
		{name: "v2 errors beside the data", v2: true, body: `{"data":{"type":"scalar_response","attributes":{"columns":[]}},"errors":"Query parse error: unexpected token"}`,
			queryErr: "Query parse error: unexpected token"},
		{name: "v2 errors as a list", v2: true, body: `{"errors":["first problem","second problem"]}`, queryErr: "first problem; second problem"},
		{name: "v2 data.errors", v2: true, body: `{"data":{"type":"scalar_response","attributes":{"columns":[]},"errors":"metric not found"}}`, queryErr: "metric not found"},
		{name: "v2 data.errors as a list", v2: true, body: `{"data":{"type":"scalar_response","attributes":{"columns":"x"},"errors":["bad"]}}`, queryErr: "bad"},
		{name: "v2 no data", v2: true, body: `{"meta":{}}`, shapeErr: "answered without data (fields meta)"},
		{name: "v2 groups and values that do not match", v2: true,
			body: scalar(`{"name":"kube_role","type":"group","values":[["canary"],["stable"]]},{"name":"a","type":"number","values":[1]}`), shapeErr: "2 groups but 1 values"},
		{name: "v2 a column of neither kind", v2: true, body: scalar(`{"name":"a","type":"histogram","values":[1]}`), shapeErr: "column 0 is neither"},
		{name: "v2 wrong shape", v2: true, body: `{"data":{"type":"scalar_response","attributes":{"columns":{"kube_role":"canary"}}}}`, shapeErr: "not a scalar response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			var err error
			if tt.v2 {
				var r datadogV2.ScalarFormulaQueryResponse
				if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
					t.Fatalf("the client does not decode the body: %v", err)
				}
				a, err = scalarAnswer(r)
			} else {
				var r datadogV1.MetricsQueryResponse
				if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
					t.Fatalf("the client does not decode the body: %v", err)
				}
				a, err = v1Answer(r)
			}
			var qe *queryError
			switch {
			case tt.queryErr != "":
				if !errors.As(err, &qe) || !strings.Contains(err.Error(), tt.queryErr) {
					t.Fatalf("error %v, want a query error with %q", err, tt.queryErr)
				}
				return
			case tt.shapeErr != "":
				if !errors.Is(err, errShape) || !strings.Contains(err.Error(), tt.shapeErr) {
					t.Fatalf("error %v, want a shape error with %q", err, tt.shapeErr)
				}
				return
			case err != nil:
				t.Fatalf("error %v", err)
			}
			r := a.reading()
			if !reflect.DeepEqual(r.Result, tt.result) {
				t.Errorf("result %#v, want %#v", r.Result, tt.result)
			}
			if tt.value != "" && r.Value != tt.value {
				t.Errorf("value %s, want %s", r.Value, tt.value)
			}
			if tt.groups != "" && r.Metadata["groups"] != tt.groups {
				t.Errorf("groups %s\nwant %s", r.Metadata["groups"], tt.groups)
			}
			if tt.groups == "" && !tt.truncated && r.Metadata != nil {
				t.Errorf("metadata %v, want none", r.Metadata)
			}
			if tt.truncated {
				var kept []map[string]any
				if err := json.Unmarshal([]byte(r.Metadata["groups"]), &kept); err != nil || len(kept) != MaxGroups || r.Metadata["groups_truncated"] != "true" {
					t.Errorf("%d groups kept (%v), truncated %q", len(kept), err, r.Metadata["groups_truncated"])
				}
				if !strings.HasPrefix(r.Value, "[0,1,2,") || !strings.HasSuffix(r.Value, ",149]") {
					t.Errorf("value %s", r.Value)
				}
			}
		})
	}
}

func TestAnalysisErrorsInTheBody(t *testing.T) {
	for _, api := range []v1alpha1.DatadogAPIVersion{v1alpha1.DatadogAPIv1, v1alpha1.DatadogAPIv2} {
		t.Run(string(api), func(t *testing.T) {
			w := newAnalysisWorld(t, datadogserver.RateLimit{})
			p := w.provider(t, AnalysisOptions{})
			m := ddMetric(v1alpha1.DatadogMetric{APIVersion: api, Query: ratioCanary})
			w.srv.InjectFault(datadogserver.Fault{Count: 1, QueryError: "Query timed out after 30s"})
			wantErr(t, w.measure(p, m), `Datadog could not run query "`+ratioCanary+`": Query timed out after 30s; fix the query`)
			// The service is fine: the next measurement goes out at once.
			wantMeasured(t, w.measure(p, m))
			if n := len(w.wire.requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestAnalysisHTTPFailures(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		fault   datadogserver.Fault
		timeout time.Duration
		pieces  []string
		// transient marks a failure on Datadog's side: the next
		// measurement is sent again at once.
		transient bool
	}{
		{name: "401", fault: datadogserver.Fault{Status: 401},
			pieces: []string{"Datadog refused the keys (HTTP 401 Unauthorized) for query", "check api-key and app-key of Secret roost/datadog"}},
		{name: "403", fault: datadogserver.Fault{Status: 403},
			pieces: []string{"Datadog refused the keys (HTTP 403 Forbidden) for query", "check api-key and app-key of Secret roost/datadog"}},
		{name: "400", query: "avg:roost.test.ratio{service:web",
			pieces: []string{`Datadog rejected query "avg:roost.test.ratio{service:web" (HTTP 400): Error parsing query`, "fix the query"}},
		{name: "404", fault: datadogserver.Fault{Status: 404},
			pieces: []string{"Datadog answered 404 Not Found at http://127.0.0.1:", "Check the default address (Secret roost/datadog has no address)"}},
		{name: "500", fault: datadogserver.Fault{Status: 500, Body: `{"errors":["Internal Server Error"]}`},
			pieces: []string{`Datadog query "` + ratioCanary + `" failed: Datadog server error (500): Internal Server Error`}, transient: true},
		{name: "502 from a proxy", fault: datadogserver.Fault{Status: 502, Body: "<html>Bad Gateway</html>", Header: http.Header{"Content-Type": {"text/html"}}},
			pieces: []string{"Datadog server error (502): a body that is not JSON (text/html, 24 bytes)"}, transient: true},
		{name: "413", fault: datadogserver.Fault{Status: 413, Body: `{"errors":["Payload too large"]}`},
			pieces: []string{"failed: unexpected HTTP 413: Payload too large"}},
		{name: "not JSON", fault: datadogserver.Fault{Garbage: true},
			pieces: []string{"unexpected response from Datadog: a body that is not JSON (text/html"}, transient: true},
		{name: "wrong shape", fault: datadogserver.Fault{WrongShape: true},
			pieces: []string{"is not a query result", "Check the default address"}, transient: true},
		{name: "timeout", fault: datadogserver.Fault{Delay: 3 * time.Second}, timeout: 100 * time.Millisecond,
			pieces: []string{"failed: timed out after 100ms"}, transient: true},
	}
	for _, api := range []v1alpha1.DatadogAPIVersion{v1alpha1.DatadogAPIv1, v1alpha1.DatadogAPIv2} {
		for _, tt := range tests {
			t.Run(string(api)+"/"+tt.name, func(t *testing.T) {
				w := newAnalysisWorld(t, datadogserver.RateLimit{})
				p := w.provider(t, AnalysisOptions{Timeout: tt.timeout})
				query := tt.query
				if query == "" {
					query = ratioCanary
				}
				m := ddMetric(v1alpha1.DatadogMetric{APIVersion: api, Query: query})
				f := tt.fault
				f.Count = 1
				w.srv.InjectFault(f)
				wantErr(t, w.measure(p, m), tt.pieces...)
				before := w.requestsSoon(1)
				r := w.measure(p, m)
				if !tt.transient {
					if tt.query == "" {
						wantMeasured(t, r)
					}
					return
				}
				// One failing query holds no call back: the next
				// measurement goes out, and Datadog answers it.
				wantMeasured(t, r)
				if n := len(w.srv.Requests()); n != before+1 {
					t.Errorf("%d requests after the failure, want the next measurement sent", n-before)
				}
			})
		}
	}
}

func TestAnalysisRateLimit(t *testing.T) {
	m := v2Metric(ratioCanary)
	t.Run("429 with headers", func(t *testing.T) {
		w := newAnalysisWorld(t, datadogserver.RateLimit{})
		p := w.provider(t, AnalysisOptions{})
		w.srv.InjectFault(datadogserver.Fault{Count: 1, Status: 429, Header: http.Header{"X-Ratelimit-Reset": {"42"}}})
		r := w.measure(p, m)
		if r.Err != nil || r.RetryAfter != 42*time.Second || r.Result != nil ||
			r.Reason != `Datadog rate-limited the call (HTTP 429, limit "query" of 1600 calls per 3600 s); measuring again in 42s` {
			t.Fatalf("429: %+v", r)
		}
		// Until the reset, nothing goes out.
		w.step(40 * time.Second)
		if r := w.measure(p, m); r.Err != nil || r.RetryAfter != 2*time.Second || !strings.Contains(r.Reason, "Datadog rate-limited the last call (429); measuring again in 2s") {
			t.Errorf("before the reset: %+v", r)
		}
		if n := len(w.wire.requests()); n != 1 {
			t.Errorf("%d requests before the reset, want 1", n)
		}
		w.step(2 * time.Second)
		r = w.measure(p, m)
		wantMeasured(t, r)
		if r.Result != 0.02 {
			t.Errorf("after the reset: %+v", r)
		}
	})
	t.Run("the server's own limit, two budgets", func(t *testing.T) {
		w := newAnalysisWorld(t, datadogserver.RateLimit{Limit: 2, Period: time.Minute})
		a, b := w.provider(t, AnalysisOptions{}), w.provider(t, AnalysisOptions{})
		wantMeasured(t, w.measure(a, m))
		wantMeasured(t, w.measure(a, m))
		// a read Remaining 0: it waits for the reset without calling.
		if r := w.measure(a, m); r.Err != nil || r.RetryAfter != time.Minute || !strings.Contains(r.Reason, "X-RateLimit-Remaining 0") {
			t.Errorf("a after Remaining 0: %+v", r)
		}
		// b did not know: Datadog answers 429 with its headers.
		r := w.measure(b, m)
		if r.Err != nil || r.RetryAfter != time.Minute || !strings.Contains(r.Reason, `HTTP 429, limit "query" of 2 calls per 60 s`) {
			t.Errorf("b: %+v", r)
		}
		if n := len(w.wire.requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
		w.step(time.Minute)
		wantMeasured(t, w.measure(a, m))
		wantMeasured(t, w.measure(b, m))
	})
	t.Run("one budget shared with the cockpit's client", func(t *testing.T) {
		w := newAnalysisWorld(t, datadogserver.RateLimit{Limit: 1, Period: time.Minute})
		c := w.client(t, APIv2, Options{})
		p := w.provider(t, AnalysisOptions{Share: c})
		if _, err := c.QueryMetric(context.Background(), w.requests()); err != nil {
			t.Fatal(err)
		}
		if r := w.measure(p, m); r.Err != nil || r.RetryAfter != time.Minute || !strings.Contains(r.Reason, "X-RateLimit-Remaining 0") {
			t.Errorf("after the client spent the budget: %+v", r)
		}
		if n := len(w.wire.requests()); n != 0 {
			t.Errorf("%d analysis requests, want 0", n)
		}
	})
	t.Run("roost's own ceiling", func(t *testing.T) {
		w := newAnalysisWorld(t, datadogserver.RateLimit{})
		p := w.provider(t, AnalysisOptions{MaxCallsPerMinute: 1})
		wantMeasured(t, w.measure(p, m))
		if r := w.measure(p, m); r.Err != nil || r.RetryAfter != time.Minute || !strings.Contains(r.Reason, "ceiling of 1 Datadog calls a minute") {
			t.Errorf("over the ceiling: %+v", r)
		}
	})
}

func TestAnalysisCredentials(t *testing.T) {
	good := map[string]string{"api-key": testAPIKey, "app-key": testAppKey}
	wrong := map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey}
	with := func(data map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range data {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	forbidden := func(c *fake.Clientset) {
		c.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, DefaultSecretName, errors.New("RBAC: access denied"))
		})
	}
	tests := []struct {
		name    string
		secrets []*corev1.Secret
		// server is replaced by the server's address in secrets and env.
		env            map[string]string
		fallback       *Credentials
		defaultAddress string
		secretRef      *v1alpha1.DatadogSecretRef
		kube           func(*fake.Clientset)
		// wantErr are pieces of the error; none: the measurement is taken.
		wantErr []string
	}{
		{name: "Secret datadog without address: the default address (Argo #4103)",
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, good)}},
		{name: "Secret datadog with its address", defaultAddress: deadAddress,
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, with(good, "address", "server"))}},
		{name: "Secret datadog in another namespace is not read",
			secrets: []*corev1.Secret{secretIn(runNS, DefaultSecretName, good)},
			wantErr: []string{"failed to find the credentials for datadog metrics provider: there is no Secret roost/datadog",
				"kubectl create secret generic datadog -n roost --from-literal=api-key=… --from-literal=app-key=…"}},
		{name: "nothing anywhere",
			wantErr: []string{"failed to find the credentials for datadog metrics provider: there is no Secret roost/datadog, DD_API_KEY, DD_APP_KEY and DD_ADDRESS are not all set, and roost has no Datadog credentials of its own; create the Secret"}},
		{name: "no Secret: roost's own credentials",
			fallback: &Credentials{APIKey: testAPIKey, AppKey: testAppKey}},
		{name: "no Secret: roost's own credentials at their address", defaultAddress: deadAddress,
			fallback: &Credentials{APIKey: testAPIKey, AppKey: testAppKey, Address: "server"}},
		{name: "the environment, all three set, before the Secret",
			env:     map[string]string{"DD_API_KEY": testAPIKey, "DD_APP_KEY": testAppKey, "DD_ADDRESS": "server"},
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, wrong)}, defaultAddress: deadAddress},
		{name: "the environment with DD_ADDRESS empty: the default address",
			env:     map[string]string{"DD_API_KEY": testAPIKey, "DD_APP_KEY": testAppKey, "DD_ADDRESS": ""},
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, wrong)}},
		{name: "the environment without DD_ADDRESS is not used",
			env:     map[string]string{"DD_API_KEY": secretAPIKey, "DD_APP_KEY": secretAppKey},
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, good)}},
		{name: "the environment with an empty key",
			env:     map[string]string{"DD_API_KEY": testAPIKey, "DD_APP_KEY": " ", "DD_ADDRESS": ""},
			wantErr: []string{"DD_API_KEY, DD_APP_KEY and DD_ADDRESS are set, but DD_APP_KEY is empty"}},
		{name: "the environment with a bad address",
			env:     map[string]string{"DD_API_KEY": testAPIKey, "DD_APP_KEY": testAppKey, "DD_ADDRESS": "api.datadoghq.eu"},
			wantErr: []string{`DD_ADDRESS "api.datadoghq.eu" is not an http or https URL`}},
		{name: "secretRef: that Secret, before the environment",
			env:       map[string]string{"DD_API_KEY": secretAPIKey, "DD_APP_KEY": secretAppKey, "DD_ADDRESS": ""},
			secrets:   []*corev1.Secret{secretIn(roostNS, "dd-team", good), secretIn(roostNS, DefaultSecretName, wrong)},
			secretRef: &v1alpha1.DatadogSecretRef{Name: "dd-team"}},
		{name: "secretRef namespaced: the run's namespace",
			secrets:   []*corev1.Secret{secretIn(runNS, "dd-team", good), secretIn(roostNS, "dd-team", wrong)},
			secretRef: &v1alpha1.DatadogSecretRef{Name: "dd-team", Namespaced: true}},
		{name: "secretRef namespaced without a name",
			secretRef: &v1alpha1.DatadogSecretRef{Namespaced: true},
			wantErr:   []string{"secret name is required for namespaced credentials"}},
		{name: "secretRef to a missing Secret: no fallback",
			fallback:  &Credentials{APIKey: testAPIKey, AppKey: testAppKey},
			secretRef: &v1alpha1.DatadogSecretRef{Name: "dd-team"},
			wantErr:   []string{"Datadog: secret roost/dd-team not found; create it with keys api-key and app-key", "or fix provider.datadog.secretRef.name of the metric"}},
		{name: "Secret datadog without app-key",
			fallback: &Credentials{APIKey: testAPIKey, AppKey: testAppKey},
			secrets:  []*corev1.Secret{secretIn(roostNS, DefaultSecretName, with(good, "app-key", "-"))},
			wantErr:  []string{"secret roost/datadog has no key app-key; add it (api-key and app-key are required, address is optional)"}},
		{name: "Secret datadog with a bad address",
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, with(good, "address", "api.datadoghq.eu"))},
			wantErr: []string{`secret roost/datadog: address "api.datadoghq.eu" is not an http or https URL`}},
		{name: "Secrets forbidden: roost's own credentials",
			kube: forbidden, fallback: &Credentials{APIKey: testAPIKey, AppKey: testAppKey}},
		{name: "Secrets forbidden and nothing else",
			kube:    forbidden,
			wantErr: []string{"failed to find the credentials for datadog metrics provider: roost may not read the Secret roost/datadog (forbidden)"}},
		{name: "wrong keys in the Secret",
			secrets: []*corev1.Secret{secretIn(roostNS, DefaultSecretName, wrong)},
			wantErr: []string{"Datadog refused the keys (HTTP 403 Forbidden)", "check api-key and app-key of Secret roost/datadog"}},
		{name: "wrong keys in the environment",
			env:     map[string]string{"DD_API_KEY": secretAPIKey, "DD_APP_KEY": secretAppKey, "DD_ADDRESS": ""},
			wantErr: []string{"Datadog refused the keys (HTTP 403 Forbidden)", "check DD_API_KEY and DD_APP_KEY of roost's environment"}},
		{name: "wrong keys of roost's own",
			fallback: &Credentials{APIKey: secretAPIKey, AppKey: secretAppKey},
			wantErr:  []string{"Datadog refused the keys (HTTP 403 Forbidden)", "check the keys of datadog.secret of ~/.config/roost/config.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newAnalysisWorld(t, datadogserver.RateLimit{})
			at := func(s string) string {
				if s == "server" {
					return w.url
				}
				return s
			}
			var objs []runtime.Object
			for _, s := range tt.secrets {
				s = s.DeepCopy()
				if a, ok := s.Data["address"]; ok {
					s.Data["address"] = []byte(at(string(a)))
				}
				objs = append(objs, s)
			}
			kube := fake.NewClientset(objs...)
			if tt.kube != nil {
				tt.kube(kube)
			}
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = at(v)
			}
			var fallback *Credentials
			if tt.fallback != nil {
				f := *tt.fallback
				f.Address = at(f.Address)
				fallback = &f
			}
			p := w.provider(t, AnalysisOptions{
				Kube: kube, LookupEnv: envOf(env), Fallback: fallback, DefaultAddress: tt.defaultAddress,
				FallbackSource: "datadog.secret of ~/.config/roost/config.yaml",
			})
			m := v1Metric(ratioCanary)
			m.Provider.Datadog.SecretRef = tt.secretRef
			r := w.measure(p, m)
			if tt.wantErr != nil {
				wantErr(t, r, tt.wantErr...)
				return
			}
			wantMeasured(t, r)
			if r.Result != 0.02 {
				t.Errorf("result %v, want 0.02", r.Result)
			}
		})
	}
}

func TestAnalysisWithoutCluster(t *testing.T) {
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	p, err := NewAnalysisProvider(AnalysisOptions{LookupEnv: envOf(nil), Clock: w.clock, DefaultAddress: w.url})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, w.measure(p, v1Metric(ratioCanary)),
		"failed to find the credentials for datadog metrics provider: roost runs without a cluster connection, so it reads no Secret",
		"kubectl create secret generic datadog -n <roost's namespace>")
	m := v1Metric(ratioCanary)
	m.Provider.Datadog.SecretRef = &v1alpha1.DatadogSecretRef{Name: "dd-team"}
	wantErr(t, w.measure(p, m), `provider.datadog.secretRef names the Secret "dd-team", but roost runs without a cluster connection to read it`)
	p, err = NewAnalysisProvider(AnalysisOptions{
		LookupEnv: envOf(map[string]string{"DD_API_KEY": testAPIKey, "DD_APP_KEY": testAppKey, "DD_ADDRESS": w.url}), Clock: w.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantMeasured(t, w.measure(p, v1Metric(ratioCanary)))
}

// secretGets counts the GETs of Secrets.
func secretGets(c *fake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "secrets" {
			n++
		}
	}
	return n
}

func TestAnalysisSecretCache(t *testing.T) {
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	p := w.provider(t, AnalysisOptions{})
	m := v1Metric(ratioCanary)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r := w.measure(p, m); r.Err != nil || r.RetryAfter != 0 {
				t.Errorf("measure: %v %s", r.Err, r.Reason)
			}
		})
	}
	wg.Wait()
	if n := secretGets(w.kube); n != 1 {
		t.Errorf("%d GETs of the Secret for 20 measurements at once, want 1", n)
	}

	// A changed Secret is used once the cached read is 10 s old.
	s := secretIn(roostNS, DefaultSecretName, map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey})
	if _, err := w.kube.CoreV1().Secrets(roostNS).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.step(9 * time.Second)
	wantMeasured(t, w.measure(p, m))
	w.step(time.Second)
	wantErr(t, w.measure(p, m), "Datadog refused the keys (HTTP 403 Forbidden)")
	if n := secretGets(w.kube); n != 2 {
		t.Errorf("%d GETs, want 2", n)
	}

	// A missing Secret is remembered as briefly, then found.
	if err := w.kube.CoreV1().Secrets(roostNS).Delete(context.Background(), DefaultSecretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.step(10 * time.Second)
	wantErr(t, w.measure(p, m), "there is no Secret roost/datadog")
	s = secretIn(roostNS, DefaultSecretName, map[string]string{"api-key": testAPIKey, "app-key": testAppKey})
	if _, err := w.kube.CoreV1().Secrets(roostNS).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, w.measure(p, m), "there is no Secret roost/datadog")
	w.step(10 * time.Second)
	wantMeasured(t, w.measure(p, m))
	if n := secretGets(w.kube); n != 4 {
		t.Errorf("%d GETs, want 4", n)
	}
}

func TestAnalysisSpecChecks(t *testing.T) {
	v2 := v1alpha1.DatadogAPIv2
	tests := []struct {
		name   string
		metric v1alpha1.DatadogMetric
		want   string
	}{
		{"query and queries", v1alpha1.DatadogMetric{APIVersion: v2, Query: "a{*}", Queries: map[string]string{"a": "a{*}"}},
			`metric "error-rate": provider.datadog.query: query and queries are both set`},
		{"neither", v1alpha1.DatadogMetric{}, `provider.datadog.query: no query; write one`},
		{"v1 with queries", v1alpha1.DatadogMetric{Queries: map[string]string{"a": "a{*}"}},
			`provider.datadog.queries: queries need apiVersion: v2`},
		{"formula without queries", v1alpha1.DatadogMetric{APIVersion: v2, Query: "a{*}", Formula: "a * 2"},
			`provider.datadog.formula: a formula combines named queries`},
		{"two queries without a formula", v1alpha1.DatadogMetric{APIVersion: v2, Queries: map[string]string{"a": "a{*}", "b": "b{*}"}},
			`provider.datadog.formula: 2 queries need a formula`},
		{"aggregator on v1", v1alpha1.DatadogMetric{Query: "a{*}", Aggregator: v1alpha1.DatadogAggregatorAvg},
			`provider.datadog.aggregator: an aggregator needs apiVersion: v2`},
		{"unknown apiVersion", v1alpha1.DatadogMetric{APIVersion: "v3", Query: "a{*}"},
			`provider.datadog.apiVersion: "v3" is not a Datadog API version; write v1 or v2`},
		{"unknown aggregator", v1alpha1.DatadogMetric{APIVersion: v2, Query: "a{*}", Aggregator: "median"},
			`provider.datadog.aggregator: "median" is not a Datadog aggregator; write one of avg, min, max, sum, last, percentile, mean, l2norm, area`},
		{"bad interval", v1alpha1.DatadogMetric{Query: "a{*}", Interval: "5 minutes"},
			`provider.datadog.interval: "5 minutes" is not a duration`},
		{"empty window", v1alpha1.DatadogMetric{Query: "a{*}", Interval: "0s"},
			`provider.datadog.interval: "0s" is an empty window`},
		{"blank query", v1alpha1.DatadogMetric{Query: "  "}, `provider.datadog.query: the query is empty`},
		{"blank named query", v1alpha1.DatadogMetric{APIVersion: v2, Queries: map[string]string{"a": " "}},
			`provider.datadog.queries[a]: the query is empty`},
	}
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	p := w.provider(t, AnalysisOptions{MaxCallsPerMinute: 1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, w.measure(p, ddMetric(tt.metric)), tt.want)
		})
	}
	wantErr(t, w.measure(p, v1alpha1.Metric{Name: "web"}), `metric "web" has no provider.datadog`)
	if n := len(w.wire.requests()) + secretGets(w.kube); n != 0 {
		t.Errorf("%d requests and reads for metrics that cannot be measured", n)
	}
	// No call of the budget was spent on them.
	wantMeasured(t, w.measure(p, v1Metric(ratioCanary)))
}

// TestAnalysisKeysNeverShown collects everything a measurement shows, in
// every way it can fail, and looks for the keys.
func TestAnalysisKeysNeverShown(t *testing.T) {
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	// A tag whose value is the key, as a careless tagging would make it.
	for i := range buckets {
		at := t0.Add(time.Duration(i)*10*time.Second + time.Second)
		w.srv.Add("roost.test.leak", []string{"team:" + testAPIKey}, at, 1)
	}
	echo := "the keys were " + testAPIKey + " and " + testAppKey
	var shown []string
	show := func(r analysis.Reading) {
		shown = append(shown, fmt.Sprintf("%+v", r), r.Value, r.Reason)
		if r.Err != nil {
			shown = append(shown, r.Err.Error())
		}
		for k, v := range r.Metadata {
			shown = append(shown, k, v)
		}
	}
	faults := []datadogserver.Fault{
		{Status: 500, Body: fmt.Sprintf(`{"errors":[%q]}`, echo)},
		{Status: 400, Body: fmt.Sprintf(`{"errors":[%q]}`, echo)},
		{Status: 403, Body: fmt.Sprintf(`{"errors":[%q]}`, echo)},
		{Status: 429, Header: http.Header{"X-Ratelimit-Name": {testAppKey}}},
		{Status: 200, Body: fmt.Sprintf(`{"status":"error","error":%q}`, echo)},
		{QueryError: echo},
		{Status: 200, Body: fmt.Sprintf(`{"unexpected":%q}`, echo)},
	}
	for _, api := range []v1alpha1.DatadogAPIVersion{v1alpha1.DatadogAPIv1, v1alpha1.DatadogAPIv2} {
		for _, f := range faults {
			p := w.provider(t, AnalysisOptions{})
			f.Count = 1
			w.srv.InjectFault(f)
			show(w.measure(p, ddMetric(v1alpha1.DatadogMetric{APIVersion: api, Query: ratioCanary})))
		}
		p := w.provider(t, AnalysisOptions{})
		r := w.measure(p, ddMetric(v1alpha1.DatadogMetric{APIVersion: api, Query: "avg:roost.test.leak{*} by {team}"}))
		wantMeasured(t, r)
		if want := `[{"name":"team:<redacted>","value":1}]`; r.Metadata["groups"] != want {
			t.Errorf("groups %s, want %s", r.Metadata["groups"], want)
		}
		show(r)
	}
	for _, env := range []map[string]string{
		{"DD_API_KEY": testAPIKey, "DD_APP_KEY": "", "DD_ADDRESS": ""},
		{"DD_API_KEY": testAPIKey, "DD_APP_KEY": testAppKey, "DD_ADDRESS": deadAddress + "/" + testAppKey},
	} {
		show(w.measure(w.provider(t, AnalysisOptions{LookupEnv: envOf(env)}), v1Metric(ratioCanary)))
	}
	if len(shown) < 40 {
		t.Fatalf("only %d texts collected", len(shown))
	}
	for _, s := range shown {
		if strings.Contains(s, testAPIKey) || strings.Contains(s, testAppKey) {
			t.Errorf("a key shows in %q", s)
		}
	}
}

func TestAnalysisCancelled(t *testing.T) {
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	p := w.provider(t, AnalysisOptions{})
	m := v1Metric(ratioCanary)
	w.srv.InjectFault(datadogserver.Fault{Count: 1, Delay: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := p.Measure(ctx, testRun, m, w.clock.Now())
	if !errors.Is(r.Err, context.Canceled) || !strings.Contains(r.Err.Error(), "the measurement was cancelled before Datadog answered") {
		t.Fatalf("cancelled: %+v", r)
	}
	// It did not count against Datadog: the next measurement goes out.
	wantMeasured(t, w.measure(p, m))
}

func TestNewAnalysisProvider(t *testing.T) {
	kube := fake.NewClientset()
	tests := []struct {
		name string
		opts AnalysisOptions
		want string
	}{
		{"a cluster without a namespace", AnalysisOptions{Kube: kube}, "needs the namespace roost runs in"},
		{"a bad default address", AnalysisOptions{DefaultAddress: "api.datadoghq.com"}, `datadog default address "api.datadoghq.com" is not an http or https URL`},
		{"a negative timeout", AnalysisOptions{Timeout: -time.Second}, "datadog timeout -1s"},
		{"a negative ceiling", AnalysisOptions{MaxCallsPerMinute: -1}, "datadog maxCallsPerMinute -1"},
		{"a fallback without its application key", AnalysisOptions{Fallback: &Credentials{APIKey: testAPIKey}},
			"roost's own Datadog credentials lack the API key or the application key"},
		{"a fallback with a bad address", AnalysisOptions{Fallback: &Credentials{APIKey: testAPIKey, AppKey: testAppKey, Address: "ftp://x"}, FallbackSource: "DD_API_KEY and DD_APP_KEY"},
			`the address "ftp://x" of DD_API_KEY and DD_APP_KEY is not an http or https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAnalysisProvider(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testAPIKey) {
				t.Errorf("the error shows a key")
			}
		})
	}
	if _, err := NewAnalysisProvider(AnalysisOptions{}); err != nil {
		t.Errorf("zero options: %v", err)
	}
}

func TestAnalysisNamespacedWithoutRun(t *testing.T) {
	w := newAnalysisWorld(t, datadogserver.RateLimit{})
	p := w.provider(t, AnalysisOptions{})
	m := v1Metric(ratioCanary)
	m.Provider.Datadog.SecretRef = &v1alpha1.DatadogSecretRef{Name: "dd-team", Namespaced: true}
	wantErr(t, p.Measure(context.Background(), nil, m, w.clock.Now()), `the analysis run has no namespace to read the Secret "dd-team" in`)
}
