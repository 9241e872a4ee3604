package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// webMetric is a metric measured by w.
func webMetric(w v1alpha1.WebMetric) v1alpha1.Metric {
	return v1alpha1.Metric{Name: "error-rate", Provider: v1alpha1.MetricProvider{Web: &w}}
}

// arrived is what a test server saw of a request.
type arrived struct {
	method, path, query, host string
	header                    http.Header
	body                      string
}

// recorder answers every request with status and body and keeps what it saw.
func recorder(t *testing.T, status int, contentType, body string) (*httptest.Server, *arrived) {
	t.Helper()
	got := &arrived{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = arrived{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, host: r.Host, header: r.Header.Clone(), body: string(b)}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func measureWeb(t *testing.T, p *WebProvider, w v1alpha1.WebMetric) Reading {
	t.Helper()
	return p.Measure(context.Background(), &v1alpha1.AnalysisRun{}, webMetric(w), time.Now())
}

func TestWebRequest(t *testing.T) {
	tests := []struct {
		name string
		web  v1alpha1.WebMetric // URL is the test server's, plus web.URL
		want arrived            // header: only the ones listed are checked
		// noHeader lists headers that must not arrive.
		noHeader []string
	}{
		{
			name: "GET by default, with the metric's headers",
			web: v1alpha1.WebMetric{URL: "/api/v1/health?service=checkout&window=5m", Headers: []v1alpha1.WebMetricHeader{
				{Key: "Authorization", Value: "Bearer s3cr3t-t0ken"},
				{Key: "X-Team", Value: "payments"},
				{Key: "Host", Value: "metrics.internal"},
			}},
			want: arrived{method: "GET", path: "/api/v1/health", query: "service=checkout&window=5m", host: "metrics.internal", header: http.Header{
				"Authorization": {"Bearer s3cr3t-t0ken"}, "X-Team": {"payments"},
			}},
			noHeader: []string{"Content-Type"},
		},
		{
			name: "a header given twice: the last wins",
			web: v1alpha1.WebMetric{URL: "/", Headers: []v1alpha1.WebMetricHeader{
				{Key: "X-Scope", Value: "stable"}, {Key: "x-scope", Value: "canary"},
			}},
			want: arrived{method: "GET", path: "/", header: http.Header{"X-Scope": {"canary"}}},
		},
		{
			name:     "POST with a text body, sent as is without a content type",
			web:      v1alpha1.WebMetric{Method: "POST", URL: "/query", Body: "sum:errors{service:checkout}"},
			want:     arrived{method: "POST", path: "/query", body: "sum:errors{service:checkout}"},
			noHeader: []string{"Content-Type"},
		},
		{
			name: "POST with a text body and the metric's content type",
			web: v1alpha1.WebMetric{Method: "POST", URL: "/query", Body: "a=1&b=2", Headers: []v1alpha1.WebMetricHeader{
				{Key: "Content-Type", Value: "application/x-www-form-urlencoded"},
			}},
			want: arrived{method: "POST", path: "/query", body: "a=1&b=2", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
		},
		{
			name: "POST with a JSON body: application/json",
			web:  v1alpha1.WebMetric{Method: "POST", URL: "/query", JSONBody: json.RawMessage(`{"query":"rate","from":1700000000,"tags":["canary"]}`)},
			want: arrived{method: "POST", path: "/query", body: `{"query":"rate","from":1700000000,"tags":["canary"]}`, header: http.Header{"Content-Type": {"application/json"}}},
		},
		{
			name: "a JSON body keeps the metric's own content type",
			web: v1alpha1.WebMetric{Method: "POST", URL: "/query", JSONBody: json.RawMessage(`{"q":1}`), Headers: []v1alpha1.WebMetricHeader{
				{Key: "Content-Type", Value: "application/vnd.api+json"},
			}},
			want: arrived{method: "POST", path: "/query", body: `{"q":1}`, header: http.Header{"Content-Type": {"application/vnd.api+json"}}},
		},
		{
			name: "PUT with a JSON body",
			web:  v1alpha1.WebMetric{Method: "PUT", URL: "/checks/1", JSONBody: json.RawMessage(`[1,2]`)},
			want: arrived{method: "PUT", path: "/checks/1", body: `[1,2]`, header: http.Header{"Content-Type": {"application/json"}}},
		},
		{
			name: "PUT without a body",
			web:  v1alpha1.WebMetric{Method: "PUT", URL: "/checks/1"},
			want: arrived{method: "PUT", path: "/checks/1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, http.StatusOK, "application/json", `{"ok":true}`)
			w := tt.web
			w.URL = srv.URL + w.URL
			r := measureWeb(t, NewWebProvider(WebOptions{}), w)
			if r.Err != nil {
				t.Fatalf("Err = %v", r.Err)
			}
			if !reflect.DeepEqual(r.Result, map[string]any{"ok": true}) || r.Value != `{"ok":true}` {
				t.Errorf("Result, Value = %#v, %q", r.Result, r.Value)
			}
			if got.method != tt.want.method || got.path != tt.want.path || got.query != tt.want.query || got.body != tt.want.body {
				t.Errorf("arrived %s %s?%s body %q, want %s %s?%s body %q", got.method, got.path, got.query, got.body, tt.want.method, tt.want.path, tt.want.query, tt.want.body)
			}
			if tt.want.host != "" && got.host != tt.want.host {
				t.Errorf("Host = %q, want %q", got.host, tt.want.host)
			}
			for k, v := range tt.want.header {
				if !reflect.DeepEqual(got.header.Values(k), v) {
					t.Errorf("header %s = %q, want %q", k, got.header.Values(k), v)
				}
			}
			for _, k := range tt.noHeader {
				if v := got.header.Values(k); len(v) > 0 {
					t.Errorf("header %s = %q, want none", k, v)
				}
			}
		})
	}
}

func TestWebAnswer(t *testing.T) {
	const doc = `{"data":{"rate":0.0123,"status":"ok","healthy":true,"empty":null},` +
		`"items":[{"name":"stable","rate":0.01},{"name":"canary","rate":0.2}],"counts":[3,4]}`
	tests := []struct {
		name        string
		body        string
		jsonPath    string
		wantResult  any
		wantValue   string
		wantNote    string // in Metadata["note"]; "" means no note
		errHas      []string
		contentType string
	}{
		{name: "the whole answer by default", body: `{"a":1}`, wantResult: map[string]any{"a": 1.0}, wantValue: `{"a":1}`},
		{name: "a number", body: doc, jsonPath: "{$.data.rate}", wantResult: 0.0123, wantValue: "0.0123"},
		{name: "a number, without the $", body: doc, jsonPath: "{.data.rate}", wantResult: 0.0123, wantValue: "0.0123"},
		{name: "a string", body: doc, jsonPath: "{$.data.status}", wantResult: "ok", wantValue: `"ok"`},
		{name: "a bool", body: doc, jsonPath: "{$.data.healthy}", wantResult: true, wantValue: "true"},
		{name: "an object", body: doc, jsonPath: "{$.items[0]}", wantResult: map[string]any{"name": "stable", "rate": 0.01}, wantValue: `{"name":"stable","rate":0.01}`},
		{name: "a list", body: doc, jsonPath: "{$.counts}", wantResult: []any{3.0, 4.0}, wantValue: "[3,4]"},
		{name: "the first of several matches", body: doc, jsonPath: "{$.items[*].rate}", wantResult: 0.01, wantValue: "0.01"},
		{name: "a filter", body: doc, jsonPath: `{$.items[?(@.name=="canary")].rate}`, wantResult: 0.2, wantValue: "0.2"},
		{name: "a range: its first value", body: doc, jsonPath: "{range .items[*]}{.name}{end}", wantResult: "stable", wantValue: `"stable"`},
		{name: "a JSON answer that is a bare number", body: "0.5\n", wantResult: 0.5, wantValue: "0.5"},
		{name: "a JSON null: nil, written null", body: doc, jsonPath: "{$.data.empty}", wantResult: nil, wantValue: "null"},
		{name: "HTML characters stay as they are", body: `{"q":"a<b && c>d"}`, jsonPath: "{$.q}", wantResult: "a<b && c>d", wantValue: `"a<b && c>d"`},
		{name: "a missing key: no data", body: doc, jsonPath: "{$.data.p99}", wantNote: "web.jsonPath {$.data.p99} matched nothing in the answer: no data"},
		{name: "a missing parent: no data", body: doc, jsonPath: "{$.series.points}", wantNote: "matched nothing"},
		{name: "an index past the end: no data", body: `{"series":[]}`, jsonPath: "{$.series[0].value}", wantNote: "matched nothing"},
		{name: "a filter that keeps nothing: no data", body: doc, jsonPath: `{$.items[?(@.name=="preview")].rate}`, wantNote: "matched nothing"},
		{name: "an empty answer: no data", body: "  \n", wantNote: "the answer was empty: no data"},
		{name: "an invalid JSONPath is an error naming it", body: doc, jsonPath: "{$.data.rate", errHas: []string{`web.jsonPath "{$.data.rate" is not a valid JSONPath`, "{$.data.ok}"}},
		{name: "a JSONPath without braces is an error", body: doc, jsonPath: "$.data.rate", errHas: []string{`web.jsonPath "$.data.rate" has no {…} expression`, "{$.data.rate}"}},
		{name: "a path that does not fit the answer is an error", body: doc, jsonPath: "{$.data[0]}", errHas: []string{"web.jsonPath {$.data[0]} could not be applied to the answer", "not array or slice", "check the path"}},
		{name: "a text answer is the result, trimmed", body: "OK\n", contentType: "text/plain", wantResult: "OK", wantValue: "OK",
			wantNote: "the answer is not JSON: the result is its text, for the conditions to judge"},
		{name: "a text answer ignores jsonPath and says so", body: "healthy: 3/3", jsonPath: "{$.ok}", wantResult: "healthy: 3/3", wantValue: "healthy: 3/3",
			wantNote: "web.jsonPath {$.ok} was not applied"},
		{name: "an HTML page is text", body: "<html><body>maintenance</body></html>", contentType: "text/html", wantResult: "<html><body>maintenance</body></html>",
			wantValue: "<html><body>maintenance</body></html>", wantNote: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := recorder(t, http.StatusOK, tt.contentType, tt.body)
			r := measureWeb(t, NewWebProvider(WebOptions{}), v1alpha1.WebMetric{URL: srv.URL, JSONPath: tt.jsonPath})
			if len(tt.errHas) > 0 {
				if r.Err == nil {
					t.Fatalf("Err = nil, Result %#v; want an error", r.Result)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(r.Err.Error(), s) {
						t.Errorf("Err = %q, want it to contain %q", r.Err, s)
					}
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("Err = %v", r.Err)
			}
			if !reflect.DeepEqual(r.Result, tt.wantResult) {
				t.Errorf("Result = %#v (%T), want %#v (%T)", r.Result, r.Result, tt.wantResult, tt.wantResult)
			}
			if r.Value != tt.wantValue {
				t.Errorf("Value = %q, want %q", r.Value, tt.wantValue)
			}
			if note := r.Metadata["note"]; (tt.wantNote == "") != (note == "") || !strings.Contains(note, tt.wantNote) {
				t.Errorf("note = %q, want %q", note, tt.wantNote)
			}
			if r.RetryAfter != 0 {
				t.Errorf("RetryAfter = %v, want 0", r.RetryAfter)
			}
		})
	}
}

func TestWebJSONPathRunsAgainEachMeasurement(t *testing.T) {
	srv, _ := recorder(t, http.StatusOK, "application/json", `{"items":[{"n":"a"},{"n":"b"}],"rates":[0.1,0.2,0.3]}`)
	p := NewWebProvider(WebOptions{})
	for _, path := range []string{"{range .items[*]}{.n}{end}", "{$.rates[-1]}"} {
		var first Reading
		for i := range 3 {
			r := measureWeb(t, p, v1alpha1.WebMetric{URL: srv.URL, JSONPath: path})
			if r.Err != nil {
				t.Fatalf("%s, measurement %d: Err = %v", path, i, r.Err)
			}
			if i == 0 {
				first = r
			} else if !reflect.DeepEqual(r, first) {
				t.Errorf("%s, measurement %d = %#v, the first was %#v", path, i, r, first)
			}
		}
	}
}

func TestWebLongValueIsCutInTheMeasurementOnly(t *testing.T) {
	long := strings.Repeat("é", webValueLimit) // two bytes each
	body, _ := json.Marshal(map[string]string{"log": long})
	srv, _ := recorder(t, http.StatusOK, "application/json", string(body))
	r := measureWeb(t, NewWebProvider(WebOptions{}), v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.log}"})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Result != long {
		t.Errorf("Result is %d bytes, want all %d", len(r.Result.(string)), len(long))
	}
	if len(r.Value) > webValueLimit+len("…") || !strings.HasSuffix(r.Value, "…") || !strings.HasPrefix(r.Value, `"éé`) {
		t.Errorf("Value is %d bytes (%q…), want at most %d ending in …", len(r.Value), r.Value[:10], webValueLimit)
	}
	if !strings.Contains(r.Value, "é…") {
		t.Errorf("Value cut inside a character: …%q", r.Value[len(r.Value)-8:])
	}
	if !strings.Contains(r.Metadata["value_truncated"], fmt.Sprintf("the value is %d bytes", len(long)+2)) {
		t.Errorf("Metadata = %v, want value_truncated saying how long the value is", r.Metadata)
	}
}

func TestWebErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		ctype   string
		body    string
		opts    WebOptions
		web     v1alpha1.WebMetric // URL "" means the test server's; "=…" is used as given
		errHas  []string
		errNot  []string
		arrives bool // whether the request reaches the server
	}{
		{name: "503 with an HTML page: its text, no tags", status: 503, ctype: "text/html",
			body:    "<html><head><title>Service Unavailable</title></head>\n<body><h1>upstream\tdown</h1>\x00</body></html>",
			errHas:  []string{"received non 2xx response code: 503 from GET http://", `(the answer begins "Service Unavailable upstream down")`, "the service failed; roost measures again"},
			errNot:  []string{"<", "\x00", "\t", "\n"},
			arrives: true},
		{name: "401: check the credentials", status: 401, ctype: "application/json", body: `{"errors":["Forbidden"]}`,
			errHas: []string{"received non 2xx response code: 401", `(the answer begins "{"errors":["Forbidden"]}")`, "check the credentials the metric sends in web.headers"}, arrives: true},
		{name: "404: check the URL", status: 404, errHas: []string{"received non 2xx response code: 404 from GET", "check web.url"}, errNot: []string{"answer begins"}, arrives: true},
		{name: "429: too many requests", status: 429, errHas: []string{"received non 2xx response code: 429", "raise the metric's interval"}, arrives: true},
		{name: "a long error answer is cut", status: 500, body: strings.Repeat("x", 10000), errHas: []string{strings.Repeat("x", webSnippetLimit) + "…\")"}, errNot: []string{strings.Repeat("x", webSnippetLimit+1)}, arrives: true},
		{name: "an answer over the limit", status: 200, body: strings.Repeat("1", 65), opts: WebOptions{MaxBodyBytes: 64},
			errHas: []string{"is larger than 64 bytes, the most roost reads of a web metric", "use an endpoint or a query that returns less"}, arrives: true},
		{name: "an answer at the limit is read", status: 200, body: strings.Repeat("1", 64), opts: WebOptions{MaxBodyBytes: 64}, arrives: true},
		{name: "an answer over the default 1 MiB", status: 200, body: `"` + strings.Repeat("a", DefaultWebMaxBodyBytes) + `"`,
			errHas: []string{"is larger than 1 MiB"}, arrives: true},
		{name: "GET with a body", web: v1alpha1.WebMetric{Body: "x"}, errHas: []string{"web.body is set but the method is GET", "set web.method to POST or PUT, or remove web.body"}},
		{name: "GET, by default, with a JSON body", web: v1alpha1.WebMetric{JSONBody: json.RawMessage(`{}`)}, errHas: []string{"web.jsonBody is set but the method is GET"}},
		{name: "body and jsonBody", web: v1alpha1.WebMetric{Method: "POST", Body: "x", JSONBody: json.RawMessage(`{}`)}, errHas: []string{"web.body and web.jsonBody are both set; keep one"}},
		{name: "a jsonBody that is not JSON", web: v1alpha1.WebMetric{Method: "POST", JSONBody: json.RawMessage(`{"a":`)}, errHas: []string{"web.jsonBody is not valid JSON"}},
		{name: "a method roost does not send", web: v1alpha1.WebMetric{Method: "DELETE"}, errHas: []string{`web.method "DELETE" is not one roost sends; use GET, POST or PUT`}},
		{name: "no URL", web: v1alpha1.WebMetric{URL: "=  "}, errHas: []string{"web.url is empty"}},
		{name: "not http", web: v1alpha1.WebMetric{URL: "=ftp://files.example.com/metrics"}, errHas: []string{`web.url must be an http:// or https:// address, not "ftp"`}},
		{name: "no scheme", web: v1alpha1.WebMetric{URL: "=checkout.prod.svc/metrics"}, errHas: []string{`web.url must be an http:// or https:// address, not ""`}},
		{name: "no host", web: v1alpha1.WebMetric{URL: "=http:///metrics"}, errHas: []string{"web.url http:///metrics names no host"}},
		{name: "not a URL", web: v1alpha1.WebMetric{URL: "=http://exa mple.com/%zz"}, errHas: []string{"web.url is not a valid URL"}},
		{name: "a header without a key", web: v1alpha1.WebMetric{Headers: []v1alpha1.WebMetricHeader{{Key: "", Value: "v"}}}, errHas: []string{`web.headers[0] has the key ""`}},
		{name: "a header key with a space", web: v1alpha1.WebMetric{Headers: []v1alpha1.WebMetricHeader{{Key: "X-A", Value: "1"}, {Key: "X Team", Value: "v"}}}, errHas: []string{`web.headers[1] has the key "X Team"`}},
		{name: "a header value with a line break", web: v1alpha1.WebMetric{Headers: []v1alpha1.WebMetricHeader{{Key: "X-Api-Key", Value: "abc\r\nX-Evil: 1"}}},
			errHas: []string{"web.headers[0] (X-Api-Key) has a value with a line break"}, errNot: []string{"abc", "Evil"}},
		{name: "nobody listening, URL credentials and query values not shown", web: v1alpha1.WebMetric{URL: "=http://user:hunter2@127.0.0.1:1/q?api_key=k3y-value&window=5m#frag"},
			errHas: []string{"GET http://127.0.0.1:1/q?api_key=…&window=… failed:", "connection refused", "check web.url and that the service is reachable from roost"},
			errNot: []string{"hunter2", "k3y-value", "5m", "frag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, tt.status, tt.ctype, tt.body)
			w := tt.web
			switch {
			case w.URL == "":
				w.URL = srv.URL + "/metrics"
			case strings.HasPrefix(w.URL, "="):
				w.URL = strings.TrimPrefix(w.URL, "=")
			}
			r := measureWeb(t, NewWebProvider(tt.opts), w)
			if arrived := got.method != ""; arrived != tt.arrives {
				t.Errorf("request arrived: %v, want %v", arrived, tt.arrives)
			}
			if len(tt.errHas) == 0 {
				if r.Err != nil {
					t.Fatalf("Err = %v", r.Err)
				}
				return
			}
			if r.Err == nil {
				t.Fatalf("Err = nil (Result %#v), want an error", r.Result)
			}
			if r.Result != nil || r.Value != "" || r.RetryAfter != 0 {
				t.Errorf("an error with Result %#v, Value %q, RetryAfter %v", r.Result, r.Value, r.RetryAfter)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(r.Err.Error(), s) {
					t.Errorf("Err = %q\nwant it to contain %q", r.Err, s)
				}
			}
			for _, s := range tt.errNot {
				if strings.Contains(r.Err.Error(), s) {
					t.Errorf("Err = %q\nwant it without %q", r.Err, s)
				}
			}
		})
	}
}

func TestWebMetricWithoutWeb(t *testing.T) {
	r := NewWebProvider(WebOptions{}).Measure(context.Background(), &v1alpha1.AnalysisRun{}, v1alpha1.Metric{Name: "m"}, time.Now())
	if r.Err == nil || !strings.Contains(r.Err.Error(), `metric "m" has no web provider`) {
		t.Errorf("Err = %v", r.Err)
	}
}

// stalled is a server that answers nothing until the client gives up or the
// test ends; started is closed when the request has arrived.
func stalled(t *testing.T) (srv *httptest.Server, started chan struct{}) {
	t.Helper()
	started = make(chan struct{})
	done := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-started:
		default:
			close(started)
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv, started
}

func TestWebTimeout(t *testing.T) {
	p := NewWebProvider(WebOptions{})
	if got := p.timeoutFor(&v1alpha1.WebMetric{}); got != 10*time.Second {
		t.Errorf("default timeout = %v, want 10s", got)
	}
	if got := p.timeoutFor(&v1alpha1.WebMetric{TimeoutSeconds: 30}); got != 30*time.Second {
		t.Errorf("timeoutSeconds 30: %v", got)
	}
	if got := NewWebProvider(WebOptions{Timeout: time.Minute}).timeoutFor(&v1alpha1.WebMetric{TimeoutSeconds: 5}); got != 5*time.Second {
		t.Errorf("timeoutSeconds over the option: %v, want 5s", got)
	}

	srv, _ := stalled(t)
	r := measureWeb(t, NewWebProvider(WebOptions{Timeout: 50 * time.Millisecond}), v1alpha1.WebMetric{URL: srv.URL + "/slow?token=abc"})
	want := "GET " + srv.URL + "/slow?token=… did not answer within 50ms; check that the service is up and answers quickly, or set web.timeoutSeconds (the default is 50ms)"
	if r.Err == nil || r.Err.Error() != want {
		t.Errorf("Err = %v\nwant %s", r.Err, want)
	}
}

func TestWebContextCancelled(t *testing.T) {
	srv, started := stalled(t)
	p := NewWebProvider(WebOptions{})
	m := webMetric(v1alpha1.WebMetric{URL: srv.URL})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := p.Measure(ctx, &v1alpha1.AnalysisRun{}, m, time.Now())
	if r.Err == nil || !errors.Is(r.Err, context.Canceled) || !strings.Contains(r.Err.Error(), "the measurement was stopped before GET "+srv.URL+" answered") {
		t.Errorf("cancelled before: Err = %v", r.Err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	r = p.Measure(ctx, &v1alpha1.AnalysisRun{}, m, time.Now())
	if r.Err == nil || !errors.Is(r.Err, context.Canceled) {
		t.Errorf("cancelled while waiting: Err = %v", r.Err)
	}
}

func TestWebTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	p := NewWebProvider(WebOptions{})
	r := measureWeb(t, p, v1alpha1.WebMetric{URL: srv.URL})
	for _, s := range []string{"GET " + srv.URL + " failed: could not verify the server's TLS certificate", "x509", "set web.insecure: true"} {
		if r.Err == nil || !strings.Contains(r.Err.Error(), s) {
			t.Errorf("verified: Err = %v, want it to contain %q", r.Err, s)
		}
	}
	r = measureWeb(t, p, v1alpha1.WebMetric{URL: srv.URL, Insecure: true})
	if r.Err != nil || r.Value != `{"ok":true}` {
		t.Errorf("insecure: %v, %q", r.Err, r.Value)
	}
	// Skipping verification for one metric leaves the others verified.
	r = measureWeb(t, p, v1alpha1.WebMetric{URL: srv.URL})
	if r.Err == nil {
		t.Error("after an insecure metric, a verified one skipped verification")
	}
	if tr := p.secure.(*http.Transport); tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("the verifying transport skips verification")
	}

	// A transport that trusts the server's CA.
	trusting := NewWebProvider(WebOptions{Transport: srv.Client().Transport})
	if r := measureWeb(t, trusting, v1alpha1.WebMetric{URL: srv.URL}); r.Err != nil {
		t.Errorf("trusted CA: %v", r.Err)
	}
	if r := measureWeb(t, trusting, v1alpha1.WebMetric{URL: srv.URL, Insecure: true}); r.Err != nil {
		t.Errorf("trusted CA, insecure: %v", r.Err)
	}
}

func TestWebNeverShowsHeaderValues(t *testing.T) {
	const token = `tok"en\9f8e7d6c` // escaped differently inside JSON
	headers := []v1alpha1.WebMetricHeader{
		{Key: "Authorization", Value: "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"},
		{Key: "DD-API-KEY", Value: "abcd"},
		{Key: "X-Token", Value: token},
	}
	hidden := []string{"Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9.payload.sig", "abcd", token, `tok\"en\\9f8e7d6c`}

	// echo answers with the request's headers, as JSON or as text.
	echo := func(status int, asText bool) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			if asText {
				for k, v := range r.Header {
					fmt.Fprintf(w, "%s: %s\n", k, v[0])
				}
				return
			}
			h := map[string]string{}
			for k, v := range r.Header {
				h[k] = v[0]
			}
			json.NewEncoder(w).Encode(map[string]any{"headers": h, "auth": r.Header.Get("Authorization")})
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	jsonEcho, textEcho, failingEcho := echo(200, false), echo(200, true), echo(401, true)
	tests := []struct {
		name string
		web  v1alpha1.WebMetric
	}{
		{"the whole JSON answer", v1alpha1.WebMetric{URL: jsonEcho.URL}},
		{"a header value at jsonPath", v1alpha1.WebMetric{URL: jsonEcho.URL, JSONPath: "{$.auth}"}},
		{"a text answer", v1alpha1.WebMetric{URL: textEcho.URL}},
		{"an error quoting the answer", v1alpha1.WebMetric{URL: failingEcho.URL}},
		{"a request that fails", v1alpha1.WebMetric{URL: "http://127.0.0.1:1/?key=abcd"}},
		{"a bad jsonPath", v1alpha1.WebMetric{URL: jsonEcho.URL, JSONPath: "{$.auth"}},
		{"an invalid header", v1alpha1.WebMetric{URL: jsonEcho.URL, Headers: []v1alpha1.WebMetricHeader{{Key: "X-Secret", Value: "line\nbreak-secret"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.web
			w.Headers = append(append([]v1alpha1.WebMetricHeader{}, headers...), w.Headers...)
			r := measureWeb(t, NewWebProvider(WebOptions{}), w)
			shown := []string{r.Value, r.Reason}
			if r.Err != nil {
				shown = append(shown, r.Err.Error())
			}
			for k, v := range r.Metadata {
				shown = append(shown, k, v)
			}
			all := strings.Join(shown, "\n")
			for _, s := range append(hidden, "break-secret") {
				if strings.Contains(all, s) {
					t.Errorf("%q shown in:\n%s", s, all)
				}
			}
			if tt.name != "an invalid header" && tt.name != "a bad jsonPath" && tt.name != "a request that fails" && !strings.Contains(all, webMasked) {
				t.Errorf("the echoed values are not masked:\n%s", all)
			}
		})
	}
}

func TestWebMask(t *testing.T) {
	m := webMaskOf([]v1alpha1.WebMetricHeader{
		{Key: "Accept", Value: "text/csv"},    // 8 bytes: masked
		{Key: "X-Scope", Value: "canary"},     // short, not a credential: shown
		{Key: "X-Auth-Key", Value: "k1"},      // a credential, too short to mask
		{Key: "Cookie", Value: "sid=1234"},    // a credential
		{Key: "X-Multi", Value: "a 12345678"}, // a long word in a value
	})
	got := m.hide("text/csv canary k1 sid=1234 12345678")
	if want := "***** canary k1 ***** *****"; got != want {
		t.Errorf("hide = %q, want %q", got, want)
	}
}

func TestWebReadingsUnderConditions(t *testing.T) {
	tests := []struct {
		name              string
		body              string
		jsonPath          string
		success, failure  string
		want              v1alpha1.AnalysisPhase
		errHas            string
		contentTypeIsText bool
	}{
		{name: "a bool in an object", body: `{"ok":true}`, success: "result.ok == true", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "a bool in an object, false", body: `{"ok":false}`, success: "result.ok == true", want: v1alpha1.AnalysisPhaseFailed},
		{name: "a number under the threshold", body: `{"data":{"rate":0.01}}`, jsonPath: "{$.data.rate}", success: "asFloat(result) < 0.05", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "a number over it", body: `{"data":{"rate":0.2}}`, jsonPath: "{$.data.rate}", success: "asFloat(result) < 0.05", failure: "result > 0.1", want: v1alpha1.AnalysisPhaseFailed},
		{name: "a numeric string", body: `{"rate":"0.01"}`, jsonPath: "{$.rate}", success: "asFloat(result) < 0.05", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "a list", body: `{"counts":[3,4]}`, jsonPath: "{$.counts}", success: "len(result) == 2 && result[1] == 4", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "a text answer is judged, not passed", body: "FAIL", success: `result == "OK"`, want: v1alpha1.AnalysisPhaseFailed, contentTypeIsText: true},
		{name: "a text answer that holds", body: "OK\n", success: `result == "OK"`, want: v1alpha1.AnalysisPhaseSuccessful, contentTypeIsText: true},
		{name: "no data with a default", body: `{}`, jsonPath: "{$.rate}", success: "default(result, 0) < 0.05", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "no data compared: an error saying so", body: `{}`, jsonPath: "{$.rate}", success: "result < 0.05", want: v1alpha1.AnalysisPhaseError, errHas: "no data returned from the metric provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype := "application/json"
			if tt.contentTypeIsText {
				ctype = "text/plain"
			}
			srv, _ := recorder(t, http.StatusOK, ctype, tt.body)
			r := measureWeb(t, NewWebProvider(WebOptions{}), v1alpha1.WebMetric{URL: srv.URL, JSONPath: tt.jsonPath})
			if r.Err != nil {
				t.Fatalf("Err = %v", r.Err)
			}
			phase, err := Evaluate(r.Result, tt.success, tt.failure)
			if phase != tt.want {
				t.Errorf("phase = %s (%v), want %s", phase, err, tt.want)
			}
			if (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
				t.Errorf("err = %v, want %q", err, tt.errHas)
			}
		})
	}
}

func TestWebProviderIsTheWebProvider(t *testing.T) {
	p := NewWebProvider(WebOptions{})
	m := webMetric(v1alpha1.WebMetric{URL: "http://example.invalid"})
	if got, why := (Providers{Web: p}).For(&m); got != p || why != "" {
		t.Errorf("For = %v, %q", got, why)
	}
}

// A connection the server closes mid-answer is an error, not a short result.
func TestWebAnswerCutShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, `{"rate":`)
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	r := measureWeb(t, NewWebProvider(WebOptions{}), v1alpha1.WebMetric{URL: srv.URL})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "GET "+srv.URL+" failed: reading the answer:") {
		t.Errorf("Err = %v", r.Err)
	}
}
