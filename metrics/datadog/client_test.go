package datadog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/metrics"
)

const (
	testAPIKey = "0123456789abcdef0123456789abcdef"
	testAppKey = "fedcba9876543210fedcba9876543210fedcba98"
)

// t0 is a minute boundary; the world's data covers the five minutes after.
var t0 = time.Unix(1_699_999_980, 0).UTC()

const buckets = 30

// Per 10s bucket i, the canary serves 10+i requests with i%3 errors and
// stable 20+i with one error every other bucket; latency samples are
// 0.1s and 0.3s (canary: doubled).
func canaryHits(i int) float64   { return float64(10 + i) }
func canaryErrors(i int) float64 { return float64(i % 3) }
func stableHits(i int) float64   { return float64(20 + i) }
func stableErrors(i int) float64 { return float64(i % 2) }

type world struct {
	srv       *datadogserver.Server
	http      *httptest.Server
	srvClock  *clocktesting.FakeClock
	clock     *clocktesting.FakePassiveClock
	from, to  time.Time
	rateLimit datadogserver.RateLimit
}

func newWorld(t testing.TB, rl datadogserver.RateLimit) *world {
	t.Helper()
	to := t0.Add(buckets * 10 * time.Second)
	srvClock := clocktesting.NewFakeClock(to)
	srv := datadogserver.New(datadogserver.Options{APIKey: testAPIKey, AppKey: testAppKey, Clock: srvClock, RateLimit: rl})
	for i := range buckets {
		at := t0.Add(time.Duration(i)*10*time.Second + time.Second)
		for _, side := range []struct {
			role         string
			hits, errors float64
			latency      float64
		}{
			{"canary", canaryHits(i), canaryErrors(i), 0.2},
			{"stable", stableHits(i), stableErrors(i), 0.1},
		} {
			tags := []string{"service:web", "env:demo", "kube_namespace:shop", "kube_role:" + side.role}
			srv.Add("trace.http.request.hits", tags, at, side.hits)
			srv.Add("trace.http.request.errors", tags, at, side.errors)
			srv.AddDistribution("trace.http.request", tags, at, side.latency)
			srv.AddDistribution("trace.http.request", tags, at, 3*side.latency)
		}
	}
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(h.Close)
	return &world{srv: srv, http: h, srvClock: srvClock, clock: clocktesting.NewFakePassiveClock(to), from: t0, to: to, rateLimit: rl}
}

func (w *world) client(t testing.TB, api string, opts Options) *Client {
	t.Helper()
	opts.Credentials = Credentials{APIKey: testAPIKey, AppKey: testAppKey, Address: w.http.URL}
	opts.API = api
	opts.Clock = w.clock
	if opts.jitter == nil {
		opts.jitter = func(time.Duration) time.Duration { return 0 }
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// requestsSoon is the number of requests logged, waiting a little for
// want: the server logs a request the client gave up on when it notices.
func (w *world) requestsSoon(want int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := len(w.srv.Requests())
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// step moves both clocks.
func (w *world) step(d time.Duration) {
	w.clock.SetTime(w.clock.Now().Add(d))
	w.srvClock.Step(d)
}

const filter = "{service:web,env:demo,kube_namespace:shop}"

func (w *world) errorRate() metrics.MetricQuery {
	return metrics.MetricQuery{
		ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true,
		Queries: []metrics.NamedQuery{
			{Name: "errors", Query: "sum:trace.http.request.errors" + filter + " by {kube_role}.as_count()"},
			{Name: "hits", Query: "sum:trace.http.request.hits" + filter + " by {kube_role}.as_count()"},
		},
		Formula: "errors / hits",
		TagKey:  "kube_role", CanaryValue: "canary", StableValue: "stable",
		Scale: 100,
		From:  w.from, To: w.to,
	}
}

func (w *world) requests() metrics.MetricQuery {
	return metrics.MetricQuery{
		ID: "requests", Name: "requests", Unit: "req/s",
		Queries: []metrics.NamedQuery{{Name: "hits", Query: "sum:trace.http.request.hits" + filter + " by {kube_role}.as_rate()"}},
		From:    w.from, To: w.to,
	}
}

func (w *world) latency() metrics.MetricQuery {
	return metrics.MetricQuery{
		ID: "latency_p95", Name: "p95 latency", Unit: "ms", HigherIsWorse: true,
		Queries: []metrics.NamedQuery{{Name: "p95", Query: "p95:trace.http.request" + filter + " by {kube_role}"}},
		Scale:   1000,
		From:    w.from, To: w.to,
	}
}

// wantSeries checks a side against the values expected bucket by bucket.
func wantSeries(t *testing.T, side string, s metrics.Series, want func(i int) float64) {
	t.Helper()
	if !s.Found {
		t.Fatalf("%s not found", side)
	}
	if len(s.Points) != buckets {
		t.Fatalf("%s has %d points, want %d", side, len(s.Points), buckets)
	}
	for i, p := range s.Points {
		if p.Null || math.Abs(p.Value-want(i)) > 1e-9 {
			t.Fatalf("%s point %d = %+v, want %v", side, i, p, want(i))
		}
		if at := t0.Add(time.Duration(i) * 10 * time.Second); !p.Time.Equal(at) {
			t.Fatalf("%s point %d at %s, want %s", side, i, p.Time, at)
		}
	}
}

func TestQueryMetricBothAPIs(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	results := map[string][]metrics.Metric{}
	for _, api := range []string{APIv1, APIv2} {
		t.Run(api, func(t *testing.T) {
			c := w.client(t, api, Options{})
			for _, q := range []metrics.MetricQuery{w.errorRate(), w.requests(), w.latency()} {
				w.srv.ResetRequests()
				m, err := c.QueryMetric(context.Background(), q)
				if err != nil {
					t.Fatalf("%s: %v", q.ID, err)
				}
				if reqs := w.srv.Requests(); len(reqs) != 1 {
					t.Fatalf("%s: %d requests, want exactly one", q.ID, len(reqs))
				}
				results[api] = append(results[api], m)
			}
			rate, reqs, lat := results[api][0], results[api][1], results[api][2]
			wantSeries(t, "canary error rate", rate.Canary, func(i int) float64 { return 100 * canaryErrors(i) / canaryHits(i) })
			wantSeries(t, "stable error rate", rate.Stable, func(i int) float64 { return 100 * stableErrors(i) / stableHits(i) })
			wantSeries(t, "canary requests", reqs.Canary, func(i int) float64 { return canaryHits(i) / 10 })
			wantSeries(t, "stable requests", reqs.Stable, func(i int) float64 { return stableHits(i) / 10 })
			// p95 of {x, 3x}: x + 0.95·2x, in milliseconds.
			wantSeries(t, "canary p95", lat.Canary, func(int) float64 { return 1000 * (0.2 + 0.95*0.4) })
			wantSeries(t, "stable p95", lat.Stable, func(int) float64 { return 1000 * (0.1 + 0.95*0.2) })
			if rate.ID != "error_rate" || rate.Name != "error rate" || rate.Unit != "%" || !rate.HigherIsWorse || rate.Error != "" {
				t.Errorf("metric fields %+v", rate)
			}
			wantQuery := "(sum:trace.http.request.errors" + filter + " by {kube_role}.as_count()) / (sum:trace.http.request.hits" + filter + " by {kube_role}.as_count())"
			if rate.Query != wantQuery {
				t.Errorf("Query = %q, want %q", rate.Query, wantQuery)
			}
		})
	}
	for i := range results[APIv1] {
		v1, v2 := results[APIv1][i], results[APIv2][i]
		for j := range v1.Canary.Points {
			if v1.Canary.Points[j] != v2.Canary.Points[j] || v1.Stable.Points[j] != v2.Stable.Points[j] {
				t.Errorf("%s point %d: v1 %+v/%+v, v2 %+v/%+v", v1.ID, j, v1.Canary.Points[j], v1.Stable.Points[j], v2.Canary.Points[j], v2.Stable.Points[j])
			}
		}
	}
}

func TestQueryMetricRequestOnTheWire(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	q := w.errorRate()
	for _, api := range []string{APIv1, APIv2} {
		w.srv.ResetRequests()
		if _, err := w.client(t, api, Options{}).QueryMetric(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		r := w.srv.Requests()[0]
		switch api {
		case APIv1:
			if r.Method != "GET" || r.Path != "/api/v1/query" || r.Params.Get("from") != fmt.Sprint(w.from.Unix()) || r.Params.Get("to") != fmt.Sprint(w.to.Unix()) {
				t.Errorf("v1 request %+v", r)
			}
		case APIv2:
			body := string(r.Body)
			for _, want := range []string{
				`"type":"timeseries_request"`, fmt.Sprintf(`"from":%d`, w.from.UnixMilli()), fmt.Sprintf(`"to":%d`, w.to.UnixMilli()),
				`"formulas":[{"formula":"errors / hits"}]`, `"data_source":"metrics"`, `"name":"errors"`, `"name":"hits"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("v2 body lacks %s: %s", want, body)
				}
			}
			if fmt.Sprint(r.Queries) != fmt.Sprint([]string{q.Queries[0].Query, q.Queries[1].Query}) {
				t.Errorf("v2 queries %v", r.Queries)
			}
		}
	}
}

// sourceError asserts err is a SourceError that shows no key, and returns it.
func sourceError(t *testing.T, m metrics.Metric, err error) *metrics.SourceError {
	t.Helper()
	se, ok := metrics.AsSourceError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *metrics.SourceError", err, err)
	}
	if se.Source != "Datadog" {
		t.Errorf("Source = %q", se.Source)
	}
	for _, s := range []string{err.Error(), se.Reason, m.Error, fmt.Sprintf("%+v", se)} {
		if strings.Contains(s, testAPIKey) || strings.Contains(s, testAppKey) {
			t.Errorf("a key shows in %q", s)
		}
	}
	if m.Error == "" || m.Verdict != metrics.VerdictNoData || m.Canary.Found || m.Stable.Found || len(m.Canary.Points)+len(m.Stable.Points) > 0 {
		t.Errorf("failed metric %+v: want Error set, Verdict NoData, no series", m)
	}
	return se
}

func TestQueryMetricErrors(t *testing.T) {
	v1Nested := `{"status":"ok","res_type":"time_series","series":[{"pointlist":"none","tag_set":["kube_role:canary"]}]}`
	v2Nested := `{"data":{"type":"timeseries_response","attributes":{"series":[{"group_tags":"kube_role:canary"}],"times":[1],"values":[[1]]}}}`
	tests := []struct {
		name  string
		fault datadogserver.Fault
		// v1Body and v2Body replace fault.Body per API when set.
		v1Body, v2Body string
		timeout        time.Duration
		status         int
		reason         string
		permanent      bool
		retryAfter     time.Duration
	}{
		{name: "401", fault: datadogserver.Fault{Status: 401}, status: 401, permanent: true,
			reason: "unauthorized (401): Datadog refused the keys; check DD_API_KEY and DD_APP_KEY"},
		{name: "403", fault: datadogserver.Fault{Status: 403, Body: `{"errors":["Forbidden"]}`}, status: 403, permanent: true,
			reason: "the application key lacks the timeseries_query scope"},
		{name: "404", fault: datadogserver.Fault{Status: 404}, status: 404, permanent: true,
			reason: "not found (404): is http://127.0.0.1:"},
		{name: "429 with headers", fault: datadogserver.Fault{Status: 429, Header: http.Header{"X-Ratelimit-Reset": {"42"}}}, status: 429,
			reason: "rate limited (429)", retryAfter: 42 * time.Second},
		{name: "500", fault: datadogserver.Fault{Status: 500, Body: `{"errors":["Internal Server Error"]}`}, status: 500,
			reason: "Datadog server error (500): Internal Server Error"},
		{name: "502 from a proxy", fault: datadogserver.Fault{Status: 502, Body: "<html>Bad Gateway</html>", Header: http.Header{"Content-Type": {"text/html"}}}, status: 502,
			reason: "Datadog server error (502): a body that is not JSON (text/html, 24 bytes)"},
		{name: "503", fault: datadogserver.Fault{Status: 503}, status: 503,
			reason: "Datadog server error (503): Service Unavailable"},
		{name: "400 of another kind", fault: datadogserver.Fault{Status: 413, Body: `{"errors":["Payload too large"]}`}, status: 413, permanent: true,
			reason: "unexpected HTTP 413: Payload too large"},
		{name: "timeout", fault: datadogserver.Fault{Delay: 3 * time.Second}, timeout: 100 * time.Millisecond,
			reason: "timed out after 100ms"},
		{name: "garbage", fault: datadogserver.Fault{Garbage: true}, status: 200,
			reason: "unexpected response from Datadog: a body that is not JSON (text/html"},
		{name: "wrong shape", fault: datadogserver.Fault{WrongShape: true}, status: 200,
			reason: "unexpected response from Datadog: "},
		{name: "wrong shape inside", fault: datadogserver.Fault{Status: 200}, v1Body: v1Nested, v2Body: v2Nested, status: 200,
			reason: "unexpected response from Datadog: series 0 is not a series"},
		{name: "JSON of nothing", fault: datadogserver.Fault{Status: 200, Body: `{"unexpected":true}`}, status: 200,
			reason: "unexpected response from Datadog: "},
		{name: "v1 error status", fault: datadogserver.Fault{Status: 200}, v1Body: `{"status":"error","error":"query timed out"}`,
			v2Body: `{"errors":"query timed out"}`, status: 200,
			reason: "query timed out"},
		{name: "values that do not fit the times", fault: datadogserver.Fault{Status: 200},
			v1Body: `{"status":"ok","series":[{"tag_set":["kube_role:canary"],"pointlist":[[1700000000000]]}]}`,
			v2Body: `{"data":{"type":"timeseries_response","attributes":{"series":[{"group_tags":["kube_role:canary"]}],"times":[1,2],"values":[[1]]}}}`,
			status: 200, reason: "unexpected response from Datadog: series 0"},
	}
	for _, api := range []string{APIv1, APIv2} {
		for _, tt := range tests {
			t.Run(api+"/"+tt.name, func(t *testing.T) {
				w := newWorld(t, datadogserver.RateLimit{})
				f := tt.fault
				if b := map[string]string{APIv1: tt.v1Body, APIv2: tt.v2Body}[api]; b != "" {
					f.Body = b
				}
				f.Count = 1
				w.srv.InjectFault(f)
				c := w.client(t, api, Options{Timeout: tt.timeout})
				m, err := c.QueryMetric(context.Background(), w.errorRate())
				se := sourceError(t, m, err)
				if se.Status != tt.status || !strings.Contains(se.Reason, tt.reason) || se.Permanent != tt.permanent || se.RetryAfter != tt.retryAfter {
					t.Errorf("got status %d permanent %v retry %v %q\nwant status %d permanent %v retry %v %q",
						se.Status, se.Permanent, se.RetryAfter, se.Reason, tt.status, tt.permanent, tt.retryAfter, tt.reason)
				}
				if se.Err == nil {
					t.Errorf("no underlying error for the logs")
				}
				if !strings.HasPrefix(err.Error(), "Datadog: ") {
					t.Errorf("Error() = %q", err.Error())
				}
				if n := w.requestsSoon(1); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		}
	}
}

func TestQueryMetricBadQuery(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	for _, api := range []string{APIv1, APIv2} {
		q := w.requests()
		q.Queries[0].Query = "sum:trace.http.request.hits{service:web by {kube_role}"
		m, err := w.client(t, api, Options{}).QueryMetric(context.Background(), q)
		se := sourceError(t, m, err)
		if se.Status != 400 || !se.Permanent || se.RetryAfter != 0 ||
			!strings.Contains(se.Reason, "Datadog rejected the query (400): Error parsing query: unable to parse") ||
			!strings.Contains(se.Reason, "; the query: "+q.Queries[0].Query) {
			t.Errorf("%s: %+v", api, se)
		}
	}
}

func TestQueryMetricUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	for _, api := range []string{APIv1, APIv2} {
		c, err := New(Options{Credentials: Credentials{APIKey: testAPIKey, AppKey: testAppKey, Address: addr}, API: api, jitter: func(time.Duration) time.Duration { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.QueryMetric(context.Background(), newWorld(t, datadogserver.RateLimit{}).errorRate())
		se := sourceError(t, m, err)
		if se.Status != 0 || se.Reason != "cannot reach "+addr+": connection refused" || se.RetryAfter != 0 {
			t.Errorf("%s: %+v", api, se)
		}
	}
}

func TestQueryMetricNoData(t *testing.T) {
	tests := []struct {
		name   string
		fault  *datadogserver.Fault
		window func(w *world) (time.Time, time.Time)
		check  func(t *testing.T, m metrics.Metric)
	}{
		{name: "empty series", fault: &datadogserver.Fault{EmptySeries: true}, check: func(t *testing.T, m metrics.Metric) {
			if m.Canary.Found || m.Stable.Found || len(m.Canary.Points) > 0 {
				t.Errorf("no series, yet %+v", m)
			}
		}},
		{name: "all points null", fault: &datadogserver.Fault{AllNull: true}, check: func(t *testing.T, m metrics.Metric) {
			for _, s := range []metrics.Series{m.Canary, m.Stable} {
				if !s.Found || len(s.Points) != buckets {
					t.Fatalf("series %+v", s)
				}
				for _, p := range s.Points {
					if !p.Null || p.Value != 0 {
						t.Fatalf("point %+v is not null", p)
					}
				}
				if _, ok := s.Latest(); ok {
					t.Errorf("a series of nulls has a latest value")
				}
			}
		}},
		{name: "one side missing", fault: &datadogserver.Fault{DropGroup: "kube_role:canary"}, check: func(t *testing.T, m metrics.Metric) {
			if m.Canary.Found || !m.Stable.Found || len(m.Stable.Points) != buckets {
				t.Errorf("canary %+v stable found %v", m.Canary, m.Stable.Found)
			}
			if _, ok := m.Ratio(); ok {
				t.Errorf("a ratio without a canary")
			}
		}},
		{name: "a window past the data", window: func(w *world) (time.Time, time.Time) { return w.from, w.to.Add(time.Minute) }, check: func(t *testing.T, m metrics.Metric) {
			p := m.Canary.Points
			if len(p) != buckets+6 || !p[buckets].Null || p[buckets-1].Null {
				t.Errorf("points after the data are not null: %+v", p[buckets-1:])
			}
		}},
		{name: "a window without data", window: func(w *world) (time.Time, time.Time) { return w.to.Add(time.Hour), w.to.Add(2 * time.Hour) }, check: func(t *testing.T, m metrics.Metric) {
			if m.Canary.Found || m.Stable.Found {
				t.Errorf("found sides without data: %+v", m)
			}
		}},
	}
	for _, api := range []string{APIv1, APIv2} {
		for _, tt := range tests {
			t.Run(api+"/"+tt.name, func(t *testing.T) {
				w := newWorld(t, datadogserver.RateLimit{})
				if tt.fault != nil {
					w.srv.InjectFault(*tt.fault)
				}
				q := w.errorRate()
				if tt.window != nil {
					q.From, q.To = tt.window(w)
				}
				m, err := w.client(t, api, Options{}).QueryMetric(context.Background(), q)
				if err != nil {
					t.Fatalf("QueryMetric: %v", err)
				}
				if m.Error != "" {
					t.Errorf("Error %q on a success", m.Error)
				}
				tt.check(t, m)
			})
		}
	}
}

func TestQueryMetricInvalid(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	c := w.client(t, APIv2, Options{})
	base := w.errorRate()
	tests := []struct {
		name   string
		change func(q *metrics.MetricQuery)
		want   string
	}{
		{"no query", func(q *metrics.MetricQuery) { q.Queries = nil }, "metric error_rate: no query"},
		{"empty window", func(q *metrics.MetricQuery) { q.To = q.From }, "window from"},
		{"empty query", func(q *metrics.MetricQuery) { q.Queries[1].Query = " " }, "query 2 (hits) is empty"},
		{"two queries, no formula", func(q *metrics.MetricQuery) { q.Formula = "" }, "2 queries and no formula"},
		{"unknown name", func(q *metrics.MetricQuery) { q.Formula = "errors / hitz" }, `formula "errors / hitz" names hitz, which is not one of its queries (errors, hits)`},
		{"name in the wrong case", func(q *metrics.MetricQuery) { q.Formula = "Errors / hits" }, "names Errors"},
		{"bad name", func(q *metrics.MetricQuery) { q.Queries[0].Name = "Errors" }, `query name "Errors"`},
		{"same name twice", func(q *metrics.MetricQuery) { q.Queries[1].Name = "errors" }, "two queries are named errors"},
	}
	for _, tt := range tests {
		q := base
		q.Queries = append([]metrics.NamedQuery(nil), base.Queries...)
		tt.change(&q)
		w.srv.ResetRequests()
		m, err := c.QueryMetric(context.Background(), q)
		if err == nil || !strings.Contains(err.Error(), tt.want) || m.Error == "" {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
		if n := len(w.srv.Requests()); n != 0 {
			t.Errorf("%s: %d requests for an invalid query", tt.name, n)
		}
	}
}

func TestQueryMetricTwoCanaryGroups(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	q := w.requests()
	q.Queries[0].Query = "sum:trace.http.request.hits{*} by {kube_role,service}.as_count()"
	w.srv.Add("trace.http.request.hits", []string{"service:api", "kube_role:canary"}, t0.Add(time.Second), 1)
	_, err := w.client(t, APIv2, Options{}).QueryMetric(context.Background(), q)
	if err == nil || !strings.Contains(err.Error(), "more than one group has kube_role:canary") || !strings.Contains(err.Error(), "group its queries by {kube_role} alone") {
		t.Errorf("error %v", err)
	}
}

func TestQueryMetricDefaults(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	q := w.requests()
	q.TagKey, q.CanaryValue, q.StableValue, q.Scale = "", "", "", 0
	m, err := w.client(t, APIv2, Options{}).QueryMetric(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	wantSeries(t, "canary", m.Canary, func(i int) float64 { return canaryHits(i) / 10 })
}

func TestQueryMetricCustomTag(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	for i := range buckets {
		at := t0.Add(time.Duration(i)*10*time.Second + time.Second)
		w.srv.Add("trace.http.request.hits", []string{"service:shop", "version:v2"}, at, 5)
		w.srv.Add("trace.http.request.hits", []string{"service:shop", "version:v1"}, at, 7)
	}
	q := metrics.MetricQuery{
		ID: "requests", Queries: []metrics.NamedQuery{{Name: "hits", Query: "sum:trace.http.request.hits{service:shop} by {version}.as_count()"}},
		TagKey: "version", CanaryValue: "V2", StableValue: "v1", From: w.from, To: w.to,
	}
	m, err := w.client(t, APIv1, Options{}).QueryMetric(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	wantSeries(t, "canary", m.Canary, func(int) float64 { return 5 })
	wantSeries(t, "stable", m.Stable, func(int) float64 { return 7 })
}

func TestBudgetRemainingZero(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{Limit: 2, Period: time.Minute})
	c := w.client(t, APIv2, Options{})
	for i := range 2 {
		if _, err := c.QueryMetric(context.Background(), w.requests()); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	// The server said Remaining 0, reset in 60s: nothing goes out until then.
	for range 3 {
		m, err := c.QueryMetric(context.Background(), w.requests())
		se := sourceError(t, m, err)
		if se.Status != 0 || se.RetryAfter != time.Minute || se.Reason != "Datadog's rate limit is used up (X-RateLimit-Remaining 0)" || !se.Global {
			t.Errorf("refusal: status %d, retry after %v, %q", se.Status, se.RetryAfter, se.Reason)
		}
	}
	if n := len(w.srv.Requests()); n != 2 {
		t.Fatalf("%d requests while Remaining was 0, want the first 2 only", n)
	}
	w.step(time.Minute)
	if _, err := c.QueryMetric(context.Background(), w.requests()); err != nil {
		t.Errorf("after the reset: %v", err)
	}
	if n := len(w.srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// A 429 without a reset holds every call back, doubling until a success.
func TestBudgetBackoffAfterA429(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	c := w.client(t, APIv1, Options{})
	calls := func() int { return len(w.srv.Requests()) }
	w.srv.InjectFault(datadogserver.Fault{Count: 2, Status: 429, Header: http.Header{"X-Ratelimit-Reset": {""}}})
	for i, backoff := range []time.Duration{2 * time.Second, 4 * time.Second} {
		m, err := c.QueryMetric(context.Background(), w.errorRate())
		if se := sourceError(t, m, err); se.RetryAfter != backoff || !se.Global {
			t.Fatalf("429 %d: retry after %v (global %v), want %v for every call", i+1, se.RetryAfter, se.Global, backoff)
		}
		before := calls()
		w.step(backoff - time.Second)
		m, err = c.QueryMetric(context.Background(), w.requests())
		if se := sourceError(t, m, err); se.RetryAfter != time.Second || se.Reason != "Datadog rate-limited the last call (429)" {
			t.Errorf("another query during the backoff: %+v", se)
		}
		if calls() != before {
			t.Fatalf("a request went out during the backoff")
		}
		w.step(time.Second)
	}
	if m, err := c.QueryMetric(context.Background(), w.errorRate()); err != nil || !m.Canary.Found {
		t.Fatalf("after the backoff: %v", err)
	}
}

// Datadog failing on the way (5xx, a body that is not the API's) blocks
// every call only once two queries failed; the backoff grows once per
// burst of calls sent together, not once per call; a success ends it.
func TestBudgetBackoffAndRecovery(t *testing.T) {
	tests := []struct {
		name  string
		fault datadogserver.Fault
	}{
		{"503", datadogserver.Fault{Status: 503}},
		{"garbage", datadogserver.Fault{Garbage: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, datadogserver.RateLimit{})
			c := w.client(t, APIv1, Options{})
			calls := func() int { return len(w.srv.Requests()) }
			f := tt.fault
			f.Count = 3
			w.srv.InjectFault(f)
			m, err := c.QueryMetric(context.Background(), w.errorRate())
			if se := sourceError(t, m, err); se.RetryAfter != 0 || se.Global {
				t.Fatalf("one failing query: retry after %v, global %v; want no wait for anyone", se.RetryAfter, se.Global)
			}
			m, err = c.QueryMetric(context.Background(), w.requests())
			if se := sourceError(t, m, err); se.RetryAfter != 2*time.Second || !se.Global {
				t.Fatalf("a second failing query: retry after %v, global %v; want 2s for every call", se.RetryAfter, se.Global)
			}
			before := calls()
			w.step(time.Second)
			m, err = c.QueryMetric(context.Background(), w.errorRate())
			if se := sourceError(t, m, err); se.RetryAfter != time.Second || !strings.Contains(se.Reason, "Datadog is failing") {
				t.Errorf("during the backoff: %+v", se)
			}
			if calls() != before {
				t.Fatalf("a request went out during the backoff")
			}
			w.step(time.Second)
			m, err = c.QueryMetric(context.Background(), w.errorRate())
			if se := sourceError(t, m, err); se.RetryAfter != 4*time.Second {
				t.Errorf("the next burst: retry after %v, want 4s", se.RetryAfter)
			}
			w.step(4 * time.Second)
			// Recovery: the call goes out and succeeds; one query failing
			// afterwards blocks no one.
			if m, err := c.QueryMetric(context.Background(), w.errorRate()); err != nil || !m.Canary.Found {
				t.Fatalf("after the backoff: %v", err)
			}
			w.srv.InjectFault(datadogserver.Fault{Count: 1, Status: 500})
			m, err = c.QueryMetric(context.Background(), w.errorRate())
			if se := sourceError(t, m, err); se.RetryAfter != 0 {
				t.Errorf("after a recovery one failure waits %v, want none", se.RetryAfter)
			}
			if calls() != 5 {
				t.Errorf("%d requests, want 5", calls())
			}
		})
	}
}

func TestBudgetCeiling(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	c := w.client(t, APIv2, Options{MaxCallsPerMinute: 2})
	for range 2 {
		if _, err := c.QueryMetric(context.Background(), w.latency()); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.QueryMetric(context.Background(), w.latency())
	if se := sourceError(t, m, err); se.RetryAfter != time.Minute || !strings.Contains(se.Reason, "ceiling of 2 Datadog calls a minute") {
		t.Errorf("over the ceiling: %+v", se)
	}
	if n := len(w.srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestQueryMetricCancelled(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	c := w.client(t, APIv2, Options{})
	w.srv.InjectFault(datadogserver.Fault{Count: 1, Delay: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.QueryMetric(ctx, w.requests())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if _, ok := metrics.AsSourceError(err); ok {
		t.Errorf("a cancelled call is blamed on Datadog")
	}
	// It did not count as a failure: the next call goes out.
	if _, err := c.QueryMetric(context.Background(), w.requests()); err != nil {
		t.Errorf("after a cancelled call: %v", err)
	}
}

func TestQueryMetricConcurrent(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	c := w.client(t, APIv2, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, q := range []metrics.MetricQuery{w.errorRate(), w.requests(), w.latency()} {
				if m, err := c.QueryMetric(context.Background(), q); err != nil || !m.Canary.Found || !m.Stable.Found {
					t.Errorf("%s: %v", q.ID, err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(w.srv.Requests()); n != 24 {
		t.Errorf("%d requests, want 24: one per query", n)
	}
}

func TestNew(t *testing.T) {
	good := Credentials{APIKey: testAPIKey, AppKey: testAppKey}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no keys", Options{}, "DD_API_KEY and DD_APP_KEY are not set"},
		{"no app key", Options{Credentials: Credentials{APIKey: testAPIKey}}, "DD_APP_KEY is not set"},
		{"bad address", Options{Credentials: Credentials{APIKey: testAPIKey, AppKey: testAppKey, Address: "api.datadoghq.com"}}, `address "api.datadoghq.com" is not an http or https URL`},
		{"bad API", Options{Credentials: good, API: "v3"}, `datadog.api "v3": use v2 (the default) or v1`},
		{"negative timeout", Options{Credentials: good, Timeout: -time.Second}, "datadog.timeout -1s"},
		{"negative ceiling", Options{Credentials: good, MaxCallsPerMinute: -1}, "datadog.maxCallsPerMinute -1"},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	c, err := New(Options{Credentials: good, HTTPClient: &http.Client{Timeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if c.address != DefaultAddress || c.api != APIv2 || c.timeout != DefaultTimeout {
		t.Errorf("defaults: address %s api %s timeout %s", c.address, c.api, c.timeout)
	}
	if got := c.v2.Client.Cfg.HTTPClient.Timeout; got != DefaultTimeout {
		t.Errorf("the HTTP client's timeout is %v, want %v", got, DefaultTimeout)
	}
}

// A bucket still filling when the window ends is not the latest value: its
// rate would read low.
func TestQueryMetricDropsTheBucketStillFilling(t *testing.T) {
	w := newWorld(t, datadogserver.RateLimit{})
	c := w.client(t, APIv2, Options{})
	q := w.requests()
	q.To = w.to.Add(-5 * time.Second)
	m, err := c.QueryMetric(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	for side, s := range map[string]metrics.Series{"canary": m.Canary, "stable": m.Stable} {
		last, ok := s.Latest()
		if want := t0.Add((buckets - 2) * 10 * time.Second); !ok || !last.Time.Equal(want) {
			t.Errorf("%s: latest point at %s, want the last whole bucket at %s", side, last.Time, want)
		}
	}
}

func TestAdditive(t *testing.T) {
	q := func(formula string, queries ...string) metrics.MetricQuery {
		m := metrics.MetricQuery{Formula: formula}
		for i, s := range queries {
			m.Queries = append(m.Queries, metrics.NamedQuery{Name: fmt.Sprintf("q%d", i), Query: s})
		}
		return m
	}
	for _, tt := range []struct {
		name string
		q    metrics.MetricQuery
		want bool
	}{
		{"a rate of a sum", q("", "sum:trace.http.request.hits{service:web} by {kube_role}.as_rate()"), true},
		{"a count", q("", "count:web.jobs{*} by {kube_role}"), true},
		{"two sums added", q("a + b", "sum:a{*} by {kube_role}", "sum:b{*} by {kube_role}"), true},
		{"a ratio of counts", q("errors / hits", "sum:e{*} by {kube_role}.as_count()", "sum:h{*} by {kube_role}.as_count()"), false},
		{"a percentile", q("", "p95:trace.http.request{service:web} by {kube_role}"), false},
		{"an average", q("", "avg:system.cpu.user{*} by {kube_role}"), false},
		{"no query", q(""), false},
	} {
		if got := additive(tt.q); got != tt.want {
			t.Errorf("%s: additive = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCompleteBuckets(t *testing.T) {
	at := func(s int) metrics.Point {
		return metrics.Point{Time: t0.Add(time.Duration(s) * time.Second), Value: float64(s)}
	}
	for _, tt := range []struct {
		name   string
		points []metrics.Point
		to     int
		want   int
	}{
		{"none", nil, 30, 0},
		{"one point is kept", []metrics.Point{at(20)}, 25, 1},
		{"the last bucket ends at to", []metrics.Point{at(0), at(10), at(20)}, 30, 3},
		{"the last bucket is still filling", []metrics.Point{at(0), at(10), at(20)}, 25, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := completeBuckets(tt.points, t0.Add(time.Duration(tt.to)*time.Second)); len(got) != tt.want {
				t.Errorf("%d points kept, want %d", len(got), tt.want)
			}
		})
	}
}
