package datadogserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

const (
	testAPIKey = "0123456789abcdef0123456789abcdef"
	testAppKey = "fedcba9876543210fedcba9876543210fedcba98"
)

// world is a server with a canary and a stable side of web over the five
// minutes before now, one point every 10s: canary hits 10, errors 1; stable
// hits 20, errors 0 (but the metric exists); latency samples.
type world struct {
	srv   *Server
	http  *httptest.Server
	clock *clocktesting.FakeClock
	from  time.Time
	to    time.Time
}

func newWorld(t *testing.T, opts Options) *world {
	t.Helper()
	now := t0.Add(5 * time.Minute)
	clk := clocktesting.NewFakeClock(now)
	opts.APIKey, opts.AppKey, opts.Clock = testAPIKey, testAppKey, clk
	srv := New(opts)
	for s := 0; s < 300; s += 10 {
		at := t0.Add(time.Duration(s) * time.Second)
		for _, side := range []struct {
			role         string
			hits, errors float64
			latency      float64
		}{{"canary", 10, 1, 0.2}, {"stable", 20, 0, 0.1}} {
			tags := []string{"service:web", "env:demo", "kube_namespace:shop", "kube_role:" + side.role}
			srv.Add("trace.http.request.hits", tags, at, side.hits)
			srv.Add("trace.http.request.errors", tags, at, side.errors)
			srv.AddDistribution("trace.http.request", tags, at, side.latency)
			srv.AddDistribution("trace.http.request", tags, at.Add(time.Second), 3*side.latency)
		}
	}
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(h.Close)
	return &world{srv: srv, http: h, clock: clk, from: t0, to: now}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
	return m
}

func do(t *testing.T, req *http.Request, keys ...string) reply {
	t.Helper()
	if len(keys) > 0 && keys[0] != "" {
		req.Header.Set("DD-API-KEY", keys[0])
	}
	if len(keys) > 1 && keys[1] != "" {
		req.Header.Set("DD-APPLICATION-KEY", keys[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (w *world) v1(t *testing.T, query string, keys ...string) reply {
	t.Helper()
	if keys == nil {
		keys = []string{testAPIKey, testAppKey}
	}
	u := w.http.URL + "/api/v1/query?" + url.Values{
		"from":  {strconv.FormatInt(w.from.Unix(), 10)},
		"to":    {strconv.FormatInt(w.to.Unix(), 10)},
		"query": {query},
	}.Encode()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, req, keys...)
}

func (w *world) v2(t *testing.T, path, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.http.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req, testAPIKey, testAppKey)
}

func (w *world) timeseriesBody(queries map[string]string, formula string) string {
	var qs []string
	for _, name := range []string{"errors", "hits", "a"} {
		if q, ok := queries[name]; ok {
			qs = append(qs, fmt.Sprintf(`{"data_source":"metrics","name":%q,"query":%q}`, name, q))
		}
	}
	f := ""
	if formula != "" {
		f = fmt.Sprintf(`,"formulas":[{"formula":%q}]`, formula)
	}
	return fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[%s]%s}}}`,
		w.from.UnixMilli(), w.to.UnixMilli(), strings.Join(qs, ","), f)
}

const errorRateV1 = "(sum:trace.http.request.errors{service:web,env:demo} by {kube_role}.as_count()) / (sum:trace.http.request.hits{service:web,env:demo} by {kube_role}.as_count())"

func TestQueryV1Shape(t *testing.T) {
	w := newWorld(t, Options{})
	r := w.v1(t, "sum:trace.http.request.hits{service:web,env:demo} by {kube_role}.as_count()")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	m := r.json(t)
	for k, want := range map[string]any{
		"status": "ok", "res_type": "time_series",
		"from_date": float64(w.from.UnixMilli()), "to_date": float64(w.to.UnixMilli()),
		"query": "sum:trace.http.request.hits{service:web,env:demo} by {kube_role}.as_count()",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if gb := fmt.Sprint(m["group_by"]); gb != "[kube_role]" {
		t.Errorf("group_by = %s", gb)
	}
	series := m["series"].([]any)
	if len(series) != 2 {
		t.Fatalf("%d series, want canary and stable", len(series))
	}
	c := series[0].(map[string]any)
	for k, want := range map[string]any{
		"metric": "trace.http.request.hits", "display_name": "trace.http.request.hits",
		"aggr": "sum", "scope": "service:web,env:demo,kube_role:canary",
		"expression": "sum:trace.http.request.hits{service:web,env:demo,kube_role:canary}.as_count()",
		"interval":   float64(10), "length": float64(30),
		"start": float64(t0.UnixMilli()), "end": float64(t0.Add(299 * time.Second).UnixMilli()),
	} {
		if c[k] != want {
			t.Errorf("series[0].%s = %v, want %v", k, c[k], want)
		}
	}
	if ts := fmt.Sprint(c["tag_set"]); ts != "[kube_role:canary]" {
		t.Errorf("tag_set = %s", ts)
	}
	points := c["pointlist"].([]any)
	if len(points) != 30 {
		t.Fatalf("%d points, want 30", len(points))
	}
	first := points[0].([]any)
	if first[0] != float64(t0.UnixMilli()) || first[1] != float64(10) {
		t.Errorf("first point %v, want [%d 10]", first, t0.UnixMilli())
	}
}

func TestQueryV1NullPoints(t *testing.T) {
	w := newWorld(t, Options{})
	// A window reaching a minute past the data: those buckets are null.
	w.to = w.to.Add(time.Minute)
	r := w.v1(t, "sum:trace.http.request.hits{kube_role:canary}.as_count()")
	if !bytes.Contains(r.body, []byte(fmt.Sprintf("[%d,null]", t0.Add(5*time.Minute).UnixMilli()))) {
		t.Errorf("no null point where there is no data: %s", r.body)
	}
	if bytes.Contains(r.body, []byte(fmt.Sprintf("[%d,0]", t0.Add(5*time.Minute).UnixMilli()))) {
		t.Errorf("a bucket without data is 0")
	}
}

func TestQueryV1Formula(t *testing.T) {
	w := newWorld(t, Options{})
	r := w.v1(t, errorRateV1)
	m := r.json(t)
	series := m["series"].([]any)
	want := map[string]float64{"kube_role:canary": 0.1, "kube_role:stable": 0}
	for _, s := range series {
		s := s.(map[string]any)
		tag := fmt.Sprint(s["tag_set"].([]any)[0])
		p := s["pointlist"].([]any)[3].([]any)
		if p[1] != want[tag] {
			t.Errorf("%s error rate %v, want %v", tag, p[1], want[tag])
		}
		if s["aggr"] != nil {
			t.Errorf("an expression's aggr = %v, want null", s["aggr"])
		}
		if !strings.Contains(s["expression"].(string), tag) {
			t.Errorf("expression %q lacks the group %s", s["expression"], tag)
		}
	}
}

func TestQueryV1BadRequests(t *testing.T) {
	w := newWorld(t, Options{})
	r := w.v1(t, "sum:trace.http.request.hits{service:web")
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", r.status)
	}
	errs := r.json(t)["errors"].([]any)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].(string), "Error parsing query: unable to parse sum:trace.http.request.hits{service:web: expected '}'") {
		t.Errorf("errors = %v", errs)
	}
	if r.header.Get("X-RateLimit-Remaining") == "" {
		t.Errorf("a 400 carries no rate-limit headers")
	}
	r = w.v1(t, "p95:trace.http.request.hits{*}")
	if r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte("only for distribution metrics")) {
		t.Errorf("percentile of a count: %d %s", r.status, r.body)
	}
	for _, params := range []string{"to=2&query=a{*}", "from=x&to=2&query=a{*}", "from=3&to=2&query=a{*}", "from=1&to=2"} {
		req, _ := http.NewRequest(http.MethodGet, w.http.URL+"/api/v1/query?"+params, nil)
		r := do(t, req, testAPIKey, testAppKey)
		if r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte("The value provided for parameter")) {
			t.Errorf("%s: %d %s", params, r.status, r.body)
		}
	}
}

func TestTimeseriesV2(t *testing.T) {
	w := newWorld(t, Options{})
	body := w.timeseriesBody(map[string]string{
		"errors": "sum:trace.http.request.errors{service:web} by {kube_role}.as_count()",
		"hits":   "sum:trace.http.request.hits{service:web} by {kube_role}.as_count()",
	}, "errors / hits * 100")
	r := w.v2(t, "/api/v2/query/timeseries", body)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Series []struct {
					GroupTags  []string `json:"group_tags"`
					QueryIndex int      `json:"query_index"`
				} `json:"series"`
				Times  []int64      `json:"times"`
				Values [][]*float64 `json:"values"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	a := resp.Data.Attributes
	if resp.Data.Type != "timeseries_response" || len(a.Series) != 2 || len(a.Values) != 2 || len(a.Times) != 30 {
		t.Fatalf("response %s", r.body)
	}
	if a.Times[0] != t0.UnixMilli() || a.Times[1]-a.Times[0] != 10_000 {
		t.Errorf("times start %d step %d", a.Times[0], a.Times[1]-a.Times[0])
	}
	for i, s := range a.Series {
		want := map[string]float64{"kube_role:canary": 10, "kube_role:stable": 0}[s.GroupTags[0]]
		if s.QueryIndex != 0 || a.Values[i][0] == nil || *a.Values[i][0] != want {
			t.Errorf("series %v (query %d) starts %v, want %v", s.GroupTags, s.QueryIndex, a.Values[i][0], want)
		}
	}
	// Without formulas each query answers for itself.
	body = w.timeseriesBody(map[string]string{
		"errors": "sum:trace.http.request.errors{service:web}.as_count()",
		"hits":   "sum:trace.http.request.hits{service:web}.as_count()",
	}, "")
	r = w.v2(t, "/api/v2/query/timeseries", body)
	if !bytes.Contains(r.body, []byte(`"group_tags":[],"query_index":0`)) || !bytes.Contains(r.body, []byte(`"query_index":1`)) {
		t.Errorf("queries without formulas: %s", r.body)
	}
}

func TestTimeseriesV2Interval(t *testing.T) {
	w := newWorld(t, Options{})
	body := fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"interval":60000,"queries":[{"data_source":"metrics","name":"a","query":"sum:trace.http.request.hits{kube_role:canary}.as_count()"}]}}}`,
		w.from.UnixMilli(), w.to.UnixMilli())
	r := w.v2(t, "/api/v2/query/timeseries", body)
	if !bytes.Contains(r.body, []byte(`"values":[[60,60,60,60,60]]`)) {
		t.Errorf("a 60s interval: %s", r.body)
	}
}

func TestTimeseriesV2BadRequests(t *testing.T) {
	w := newWorld(t, Options{})
	from, to := w.from.UnixMilli(), w.to.UnixMilli()
	q := `{"data_source":"metrics","name":"a","query":"sum:m{*}"}`
	tests := []struct{ body, want string }{
		{`not json`, "Invalid JSON body"},
		{`{}`, "data.attributes is required"},
		{fmt.Sprintf(`{"data":{"type":"scalar_request","attributes":{"from":%d,"to":%d,"queries":[%s]}}}`, from, to, q), `\"scalar_request\" is not \"timeseries_request\"`},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"queries":[%s]}}}`, from, q), "from and to are required"},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[]}}}`, from, to), "at least one query"},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[{"data_source":"logs","name":"a","query":"x"}]}}}`, from, to), `\"logs\" is not supported`},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[{"data_source":"metrics","query":"sum:m{*}"}],"formulas":[{"formula":"a"}]}}}`, from, to), "name is required"},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[%s,%s]}}}`, from, to, q, q), "used twice"},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[%s],"formulas":[{"formula":"a / b"}]}}}`, from, to, q), `refers to \"b\", which is not one of its queries (a)`},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[%s],"formulas":[{"formula":"a +"}]}}}`, from, to, q), "Error parsing query"},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[%s],"formulas":[{"formula":"a","limit":{"count":5}}]}}}`, from, to, q), "limit is not supported"},
		{fmt.Sprintf(`{"data":{"type":"timeseries_request","attributes":{"from":%d,"to":%d,"queries":[%s],"formulas":[{"formula":"2"}]}}}`, from, to, q), "refers to no query"},
	}
	for _, tt := range tests {
		r := w.v2(t, "/api/v2/query/timeseries", tt.body)
		if r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte(tt.want)) {
			t.Errorf("%s\n→ %d %s, want 400 with %s", tt.body, r.status, r.body, tt.want)
		}
	}
}

func TestScalarV2(t *testing.T) {
	w := newWorld(t, Options{})
	scalar := func(aggregator, query, formula string) reply {
		f := ""
		if formula != "" {
			f = fmt.Sprintf(`,"formulas":[{"formula":%q}]`, formula)
		}
		return w.v2(t, "/api/v2/query/scalar", fmt.Sprintf(
			`{"data":{"type":"scalar_request","attributes":{"from":%d,"to":%d,"queries":[{"data_source":"metrics","name":"a","aggregator":%q,"query":%q}]%s}}}`,
			w.from.UnixMilli(), w.to.UnixMilli(), aggregator, query, f))
	}
	tests := []struct {
		aggregator, query, formula string
		want                       string
	}{
		{"sum", "sum:trace.http.request.hits{*} by {kube_role}.as_count()", "",
			`"columns":[{"name":"kube_role","type":"group","values":[["canary"],["stable"]]},{"name":"a","type":"number","values":[300,600],"meta":{"unit":null}}]`},
		{"avg", "sum:trace.http.request.hits{*} by {kube_role}.as_count()", "a * 2",
			`{"name":"a * 2","type":"number","values":[20,40]`},
		{"max", "sum:trace.http.request.hits{kube_role:canary}.as_count()", "", `"values":[10]`},
		{"min", "sum:trace.http.request.hits{*}.as_count()", "", `"values":[30]`},
		{"last", "sum:trace.http.request.hits{*} by {kube_role}.as_count()", "", `"values":[10,20]`},
		{"percentile", "p50:trace.http.request{*} by {kube_role}", "", `"values":[0.4,0.2]`},
		{"avg", "sum:nosuch{*} by {kube_role}", "", `"columns":[{"name":"kube_role","type":"group","values":[]},{"name":"a","type":"number","values":[]`},
	}
	for _, tt := range tests {
		r := scalar(tt.aggregator, tt.query, tt.formula)
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(tt.want)) || !bytes.Contains(r.body, []byte(`"type":"scalar_response"`)) {
			t.Errorf("%s %s %s\n→ %d %s\nwant %s", tt.aggregator, tt.query, tt.formula, r.status, r.body, tt.want)
		}
	}
	for _, tt := range []struct{ aggregator, query, want string }{
		{"percentile", "sum:trace.http.request.hits{*}", "needs a percentile query"},
		{"l2norm", "sum:trace.http.request.hits{*}", `\"l2norm\" is not supported here`},
	} {
		r := scalar(tt.aggregator, tt.query, "")
		if r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte(tt.want)) {
			t.Errorf("%s: %d %s", tt.aggregator, r.status, r.body)
		}
	}
}

func TestKeys(t *testing.T) {
	w := newWorld(t, Options{})
	tests := []struct {
		name     string
		api, app string
		status   int
		body     string
	}{
		{"no keys", "", "", 403, `"errors":["Forbidden"]`},
		{"no application key: 403, as documented", testAPIKey, "", 403, string(forbiddenBody)},
		{"wrong API key", "not-the-key", testAppKey, 403, `"errors":["Forbidden"]`},
		{"wrong application key", testAPIKey, "not-the-key", 403, `"errors":["Forbidden"]`},
		{"keys swapped", testAppKey, testAPIKey, 403, `"errors":["Forbidden"]`},
		{"both right", testAPIKey, testAppKey, 200, `"status":"ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.v1(t, "sum:trace.http.request.hits{*}", tt.api, tt.app)
			if r.status != tt.status || !bytes.Contains(r.body, []byte(tt.body)) {
				t.Errorf("%d %s, want %d with %s", r.status, r.body, tt.status, tt.body)
			}
			if bytes.Contains(r.body, []byte(testAPIKey)) || bytes.Contains(r.body, []byte(testAppKey)) {
				t.Errorf("the answer shows a key")
			}
			if r.header.Get("X-RateLimit-Limit") != "1600" || r.header.Get("X-RateLimit-Name") != "query" {
				t.Errorf("rate-limit headers %v", r.header)
			}
		})
	}
	// Refused calls do not count against the rate limit.
	r := w.v1(t, "sum:trace.http.request.hits{*}")
	if got := r.header.Get("X-RateLimit-Remaining"); got != "1598" {
		t.Errorf("Remaining %s after two calls, want 1598", got)
	}
}

func TestRateLimit(t *testing.T) {
	w := newWorld(t, Options{RateLimit: RateLimit{Limit: 3, Period: time.Minute, Name: "query"}})
	// The fake clock stands 5 minutes past a minute boundary: a full window.
	for i, want := range []string{"2", "1", "0"} {
		r := w.v1(t, "sum:trace.http.request.hits{*}")
		if r.status != http.StatusOK {
			t.Fatalf("call %d: %d", i+1, r.status)
		}
		h := r.header
		if h.Get("X-RateLimit-Remaining") != want || h.Get("X-RateLimit-Limit") != "3" ||
			h.Get("X-RateLimit-Period") != "60" || h.Get("X-RateLimit-Reset") != "60" || h.Get("X-RateLimit-Name") != "query" {
			t.Errorf("call %d headers %v", i+1, h)
		}
	}
	w.clock.Step(15 * time.Second)
	r := w.v2(t, "/api/v2/query/timeseries", w.timeseriesBody(map[string]string{"a": "sum:trace.http.request.hits{*}"}, ""))
	if r.status != http.StatusTooManyRequests || r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") != "45" {
		t.Errorf("over the limit: %d %v", r.status, r.header)
	}
	if errs := fmt.Sprint(r.json(t)["errors"]); errs != "[Too many requests]" {
		t.Errorf("429 body %s", r.body)
	}
	w.clock.Step(45 * time.Second)
	if r := w.v1(t, "sum:trace.http.request.hits{*}"); r.status != http.StatusOK || r.header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("next window: %d %v", r.status, r.header)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		status int
		body   string
		header map[string]string
	}{
		{"401", Fault{Status: 401}, 401, `{"errors":["Unauthorized"]}`, nil},
		{"403", Fault{Status: 403, Body: string(forbiddenBody)}, 403, `"errors":["Forbidden"]`, nil},
		{"404", Fault{Status: 404}, 404, `{"errors":["Not Found"]}`, nil},
		{"429", Fault{Status: 429, Header: http.Header{"X-Ratelimit-Reset": {"42"}}}, 429, `{"errors":["Too Many Requests"]}`,
			map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "42", "X-RateLimit-Limit": "1600", "X-RateLimit-Name": "query"}},
		{"500", Fault{Status: 500, Body: `{"errors":["Internal Server Error"]}`}, 500, `Internal Server Error`, nil},
		{"502 from a proxy", Fault{Status: 502, Body: "<html>Bad Gateway</html>", Header: http.Header{"Content-Type": {"text/html"}}}, 502, "<html>Bad Gateway</html>",
			map[string]string{"Content-Type": "text/html"}},
		{"503", Fault{Status: 503}, 503, `{"errors":["Service Unavailable"]}`, nil},
		{"garbage", Fault{Garbage: true}, 200, "<html>", map[string]string{"Content-Type": "text/html"}},
		{"wrong shape", Fault{WrongShape: true}, 200, `"series":{"kube_role:canary":[1,2,3]}`, nil},
		{"empty series", Fault{EmptySeries: true}, 200, `"series":[]`, nil},
		{"all null", Fault{AllNull: true}, 200, `[1700000000000,null]`, nil},
		{"one side missing", Fault{DropGroup: "kube_role:canary"}, 200, `"tag_set":["kube_role:stable"]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, Options{})
			w.srv.InjectFault(tt.fault)
			r := w.v1(t, "sum:trace.http.request.hits{*} by {kube_role}.as_count()")
			if r.status != tt.status || !bytes.Contains(r.body, []byte(tt.body)) {
				t.Errorf("%d %s, want %d with %s", r.status, r.body, tt.status, tt.body)
			}
			for k, v := range tt.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.status == 200 && tt.name != "garbage" && !json.Valid(r.body) {
				t.Errorf("not JSON: %s", r.body)
			}
			if tt.name == "garbage" && json.Valid(r.body) {
				t.Errorf("garbage is valid JSON")
			}
			if tt.name == "all null" && bytes.Contains(r.body, []byte(",10]")) {
				t.Errorf("a point survived AllNull: %s", r.body)
			}
			if tt.name == "one side missing" && bytes.Contains(r.body, []byte("kube_role:canary")) {
				t.Errorf("the dropped group is there: %s", r.body)
			}
		})
	}
}

func TestFaultsV2(t *testing.T) {
	w := newWorld(t, Options{})
	body := w.timeseriesBody(map[string]string{"a": "sum:trace.http.request.hits{*} by {kube_role}.as_count()"}, "")
	for _, tt := range []struct {
		fault Fault
		want  string
	}{
		{Fault{WrongShape: true}, `"series":"kube_role:canary"`},
		{Fault{EmptySeries: true}, `"series":[],"times":[],"values":[]`},
		{Fault{AllNull: true}, `"values":[[null,null,null`},
		{Fault{DropGroup: "kube_role:stable"}, `"series":[{"group_tags":["kube_role:canary"],"query_index":0,"unit":null}]`},
	} {
		w.srv.InjectFault(Fault{Endpoint: TimeseriesV2, Count: 1, WrongShape: tt.fault.WrongShape, EmptySeries: tt.fault.EmptySeries, AllNull: tt.fault.AllNull, DropGroup: tt.fault.DropGroup})
		r := w.v2(t, "/api/v2/query/timeseries", body)
		if r.status != 200 || !bytes.Contains(r.body, []byte(tt.want)) {
			t.Errorf("%+v: %d %s, want %s", tt.fault, r.status, r.body, tt.want)
		}
	}
	w.srv.InjectFault(Fault{Endpoint: ScalarV2, Count: 1, WrongShape: true})
	r := w.v2(t, "/api/v2/query/scalar", strings.Replace(strings.Replace(body, "timeseries_request", "scalar_request", 1), `"name":"a"`, `"name":"a","aggregator":"sum"`, 1))
	if !bytes.Contains(r.body, []byte(`"columns":{"kube_role":"canary"}`)) {
		t.Errorf("scalar wrong shape: %s", r.body)
	}
}

func TestFaultCountsAndEndpoints(t *testing.T) {
	w := newWorld(t, Options{})
	q := "sum:trace.http.request.hits{*}"
	v2body := w.timeseriesBody(map[string]string{"a": q}, "")

	// The next two v1 requests fail; v2 is untouched; then v1 recovers.
	w.srv.InjectFault(Fault{Endpoint: QueryV1, Count: 2, Status: 503})
	if r := w.v2(t, "/api/v2/query/timeseries", v2body); r.status != 200 {
		t.Errorf("v2 got the v1 fault: %d", r.status)
	}
	for i := range 2 {
		if r := w.v1(t, q); r.status != 503 {
			t.Errorf("v1 call %d: %d, want 503", i+1, r.status)
		}
	}
	if r := w.v1(t, q); r.status != 200 {
		t.Errorf("after its count the fault stays: %d", r.status)
	}

	// Without a count, a fault of every endpoint stays until cleared.
	w.srv.InjectFault(Fault{Status: 500})
	for range 3 {
		if r := w.v1(t, q); r.status != 500 {
			t.Errorf("v1: %d, want 500", r.status)
		}
		if r := w.v2(t, "/api/v2/query/timeseries", v2body); r.status != 500 {
			t.Errorf("v2: %d, want 500", r.status)
		}
	}
	w.srv.ClearFaults()
	if r := w.v1(t, q); r.status != 200 {
		t.Errorf("after ClearFaults: %d", r.status)
	}

	// Faults queue: the first that applies is taken first.
	w.srv.InjectFault(Fault{Count: 1, Status: 502})
	w.srv.InjectFault(Fault{Count: 1, Status: 504})
	if a, b := w.v1(t, q).status, w.v1(t, q).status; a != 502 || b != 504 {
		t.Errorf("queued faults answered %d then %d, want 502 then 504", a, b)
	}
}

func TestFaultDelay(t *testing.T) {
	w := newWorld(t, Options{})
	w.srv.InjectFault(Fault{Count: 1, Delay: 200 * time.Millisecond})
	start := time.Now()
	if r := w.v1(t, "sum:trace.http.request.hits{*}"); r.status != 200 {
		t.Errorf("slow answer: %d", r.status)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("answered in %v, before the delay", took)
	}

	// A client that gives up gets nothing, and the log says it went away.
	w.srv.ResetRequests()
	w.srv.InjectFault(Fault{Count: 1, Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.http.URL+"/api/v1/query?from=1&to=2&query=a{*}", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the request did not time out")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(w.srv.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if reqs := w.srv.Requests(); len(reqs) != 1 || reqs[0].Status != 499 {
		t.Errorf("log after a timeout: %+v", reqs)
	}
}

func TestRequestLog(t *testing.T) {
	w := newWorld(t, Options{})
	w.v1(t, "sum:trace.http.request.hits{*}")
	body := w.timeseriesBody(map[string]string{"errors": "sum:e{*}", "hits": "sum:h{*}"}, "errors / hits")
	w.v2(t, "/api/v2/query/timeseries", body)
	w.v1(t, "sum:trace.http.request.hits{*}", "", "")
	reqs := w.srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests logged, want 3", len(reqs))
	}
	if r := reqs[0]; r.Method != "GET" || r.Path != "/api/v1/query" || r.Endpoint != QueryV1 ||
		r.Params.Get("from") != strconv.FormatInt(w.from.Unix(), 10) || fmt.Sprint(r.Queries) != "[sum:trace.http.request.hits{*}]" ||
		r.Status != 200 || !r.Time.Equal(w.clock.Now()) || r.Body != nil {
		t.Errorf("v1 request logged as %+v", r)
	}
	if r := reqs[1]; r.Method != "POST" || r.Endpoint != TimeseriesV2 || string(r.Body) != body || fmt.Sprint(r.Queries) != "[sum:e{*} sum:h{*}]" {
		t.Errorf("v2 request logged as %+v", r)
	}
	if reqs[2].Status != 403 {
		t.Errorf("refused request logged with %d", reqs[2].Status)
	}
	w.srv.ResetRequests()
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d requests after a reset", n)
	}
}

func TestUnknownPath(t *testing.T) {
	w := newWorld(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, w.http.URL+"/api/v1/series", nil)
	if r := do(t, req, testAPIKey, testAppKey); r.status != 404 || string(r.body) != `{"errors":["Not found"]}` {
		t.Errorf("unknown path: %d %s", r.status, r.body)
	}
}

// TestConcurrentUse submits and queries at once, for the race detector.
func TestConcurrentUse(t *testing.T) {
	w := newWorld(t, Options{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				at := t0.Add(time.Duration(i) * time.Second)
				w.srv.Add("trace.http.request.hits", []string{"kube_role:canary", fmt.Sprintf("pod:p%d", g)}, at, 1)
				w.srv.AddDistribution("trace.http.request", []string{"kube_role:canary"}, at, 0.1)
			}
		})
		wg.Go(func() {
			for range 10 {
				if r := w.v1(t, "sum:trace.http.request.hits{*} by {kube_role}.as_count()"); r.status != 200 {
					t.Errorf("query during submissions: %d", r.status)
				}
			}
		})
	}
	wg.Wait()
}

func TestRequestLogIsBounded(t *testing.T) {
	s := New(Options{})
	for i := range maxLogged + 5 {
		s.log(Request{Path: strconv.Itoa(i)}, 200)
	}
	reqs := s.Requests()
	if len(reqs) != maxLogged || reqs[0].Path != "5" || reqs[len(reqs)-1].Path != strconv.Itoa(maxLogged+4) {
		t.Errorf("log of %d from %s to %s, want the last %d", len(reqs), reqs[0].Path, reqs[len(reqs)-1].Path, maxLogged)
	}
}

func TestFaultQueryError(t *testing.T) {
	w := newWorld(t, Options{})
	const msg = "Query timed out after 30s"
	hits := "sum:trace.http.request.hits{*} by {kube_role}.as_count()"
	scalarBody := strings.Replace(strings.Replace(w.timeseriesBody(map[string]string{"a": hits}, ""),
		"timeseries_request", "scalar_request", 1), `"name":"a"`, `"name":"a","aggregator":"last"`, 1)
	tests := []struct {
		ep   Endpoint
		send func() reply
		want string
	}{
		{QueryV1, func() reply { return w.v1(t, hits) },
			`"status":"error"`},
		{TimeseriesV2, func() reply {
			return w.v2(t, "/api/v2/query/timeseries", w.timeseriesBody(map[string]string{"a": hits}, ""))
		}, `{"data":{"type":"timeseries_response","attributes":{"series":[],"times":[],"values":[]}},"errors":"Query timed out after 30s"}`},
		{ScalarV2, func() reply { return w.v2(t, "/api/v2/query/scalar", scalarBody) },
			`{"data":{"type":"scalar_response","attributes":{"columns":[]}},"errors":"Query timed out after 30s"}`},
	}
	for _, tt := range tests {
		w.srv.InjectFault(Fault{Endpoint: tt.ep, Count: 1, QueryError: msg})
		r := tt.send()
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(tt.want)) {
			t.Errorf("%s: %d %s, want 200 with %s", tt.ep, r.status, r.body, tt.want)
		}
		if tt.ep == QueryV1 {
			m := r.json(t)
			if m["error"] != msg || fmt.Sprint(m["series"]) != "[]" || m["res_type"] != "time_series" {
				t.Errorf("v1 error body %s", r.body)
			}
		}
		// The next request is answered normally.
		if r := tt.send(); r.status != http.StatusOK || bytes.Contains(r.body, []byte(msg)) {
			t.Errorf("%s after the fault: %d %s", tt.ep, r.status, r.body)
		}
	}
	// A query Datadog would refuse is still refused.
	w.srv.InjectFault(Fault{Endpoint: QueryV1, Count: 1, QueryError: msg})
	if r := w.v1(t, "sum:trace.http.request.hits{"); r.status != http.StatusBadRequest {
		t.Errorf("a bad query with a QueryError fault: %d %s", r.status, r.body)
	}
}

// TestScalarV2GroupsWithoutData: a grouped scalar query keeps its group
// column when the numbers are null or gone, as Datadog answers.
func TestScalarV2GroupsWithoutData(t *testing.T) {
	w := newWorld(t, Options{})
	body := fmt.Sprintf(`{"data":{"type":"scalar_request","attributes":{"from":%d,"to":%d,"queries":[`+
		`{"aggregator":"last","data_source":"metrics","name":"errors","query":"sum:trace.http.request.errors{*} by {kube_role}.as_count()"},`+
		`{"aggregator":"last","data_source":"metrics","name":"hits","query":"sum:trace.http.request.hits{*} by {kube_role}.as_count()"}],`+
		`"formulas":[{"formula":"errors / hits"}]}}}`, w.from.UnixMilli(), w.to.UnixMilli())
	tests := []struct {
		fault Fault
		want  string
	}{
		{Fault{}, `"columns":[{"name":"kube_role","type":"group","values":[["canary"],["stable"]]},{"name":"errors / hits","type":"number","values":[0.1,0]`},
		{Fault{AllNull: true}, `"columns":[{"name":"kube_role","type":"group","values":[["canary"],["stable"]]},{"name":"errors / hits","type":"number","values":[null,null]`},
		{Fault{DropGroup: "kube_role:canary"}, `"columns":[{"name":"kube_role","type":"group","values":[["stable"]]},{"name":"errors / hits","type":"number","values":[0]`},
		{Fault{EmptySeries: true}, `"columns":[{"name":"kube_role","type":"group","values":[]},{"name":"errors / hits","type":"number","values":[]`},
	}
	for _, tt := range tests {
		f := tt.fault
		f.Endpoint, f.Count = ScalarV2, 1
		w.srv.InjectFault(f)
		if r := w.v2(t, "/api/v2/query/scalar", body); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(tt.want)) {
			t.Errorf("%+v: %d %s\nwant %s", tt.fault, r.status, r.body, tt.want)
		}
	}
}
