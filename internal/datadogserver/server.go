package datadogserver

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Endpoint names one of the query endpoints, for faults and the request log.
type Endpoint string

// The endpoints served.
const (
	// AnyEndpoint, in a Fault, means every endpoint.
	AnyEndpoint  Endpoint = ""
	QueryV1      Endpoint = "/api/v1/query"
	TimeseriesV2 Endpoint = "/api/v2/query/timeseries"
	ScalarV2     Endpoint = "/api/v2/query/scalar"
)

// RateLimit is the budget of query calls the server allows, in Datadog's
// fixed windows aligned to the epoch.
type RateLimit struct {
	// Limit calls per Period; Name is sent as X-RateLimit-Name.
	Limit  int
	Period time.Duration
	Name   string
}

// Options configure a Server.
type Options struct {
	// APIKey and AppKey are the only keys the server accepts.
	APIKey, AppKey string
	// Clock is the server's time: rate-limit windows, retention and the
	// request log. Default: the real clock.
	Clock clock.PassiveClock
	// RateLimit defaults to Datadog's for timeseries queries: 1600 calls an
	// hour, named "query".
	RateLimit RateLimit
	// Retention is how long points are kept. Default 2h.
	Retention time.Duration
}

// Request is one request received, as the request log keeps it.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	Endpoint Endpoint
	// Params is the URL's query (v1: from, to, query).
	Params url.Values
	// Body is the request body as received (v2), nil for none.
	Body json.RawMessage
	// Queries are the metric queries asked for: v1's query, v2's queries in
	// order.
	Queries []string
	// Status is the HTTP status answered; 499 when the client went away
	// before a delayed answer.
	Status int
}

// Server is a Datadog metrics API over the points given to Add and
// AddDistribution. It is safe for concurrent use.
type Server struct {
	opts  Options
	store *store

	mu       sync.Mutex
	requests []Request
	faults   []*Fault
	// windowStart and used track the current rate-limit window.
	windowStart time.Time
	used        int
}

// New returns a Server; see Options for the defaults.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.RateLimit.Limit <= 0 {
		opts.RateLimit.Limit = 1600
	}
	if opts.RateLimit.Period <= 0 {
		opts.RateLimit.Period = time.Hour
	}
	if opts.RateLimit.Name == "" {
		opts.RateLimit.Name = "query"
	}
	if opts.Retention <= 0 {
		opts.Retention = 2 * time.Hour
	}
	return &Server{opts: opts, store: newStore(opts.Retention)}
}

// Add submits one point of a gauge or a count, e.g.
// Add("trace.http.request.hits", []string{"service:web", "kube_role:canary"}, t, 12).
// Queries roll a series up in time by average, or by sum under
// .as_count() and .as_rate(). Points older than the retention are dropped.
func (s *Server) Add(metric string, tags []string, t time.Time, v float64) {
	s.store.add(s.store.gauges, metric, tags, t, v, s.opts.Clock.Now())
}

// AddDistribution submits one sample of a distribution, e.g. a request's
// duration in seconds to "trace.http.request". Queries aggregate all the
// samples of a bucket at once: p50…p99, avg, sum, min, max, count.
func (s *Server) AddDistribution(metric string, tags []string, t time.Time, v float64) {
	s.store.add(s.store.distributions, metric, tags, t, v, s.opts.Clock.Now())
}

// Requests returns the requests received so far (the last 10,000), oldest
// first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+string(QueryV1), func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, QueryV1) })
	mux.HandleFunc("POST "+string(TimeseriesV2), func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, TimeseriesV2) })
	mux.HandleFunc("POST "+string(ScalarV2), func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, ScalarV2) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody("Not found"))
	})
	return mux
}

// maxBody bounds a request body; Datadog's query bodies are a few kB.
const maxBody = 1 << 20

// maxLogged bounds the request log of a long-running demo: the oldest
// requests are dropped past it.
const maxLogged = 10_000

// answer is a response before it is written.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, ep Endpoint) {
	req := Request{Time: s.opts.Clock.Now(), Method: r.Method, Path: r.URL.Path, Endpoint: ep, Params: r.URL.Query()}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err == nil && len(b) > 0 {
			body = b
			req.Body = json.RawMessage(b)
		}
	}
	req.Queries = requestedQueries(ep, req.Params, body)
	fault := s.takeFault(ep)
	if fault != nil && fault.Delay > 0 {
		t := time.NewTimer(fault.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.log(req, 499)
			return
		}
	}
	a := s.respond(r, ep, body, fault)
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
	s.log(req, a.status)
}

func (s *Server) log(req Request, status int) {
	req.Status = status
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxLogged {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxLogged+1)
	}
	s.requests = append(s.requests, req)
}

// respond decides the answer: a fault's canned status first, then the keys,
// then the rate limit, then the query itself, whose body a fault may spoil.
func (s *Server) respond(r *http.Request, ep Endpoint, body []byte, fault *Fault) answer {
	if fault != nil && fault.Status != 0 {
		h := s.rateLimitHeader()
		if fault.Status == http.StatusTooManyRequests {
			h.Set("X-RateLimit-Remaining", "0")
		}
		for k, vs := range fault.Header {
			h[http.CanonicalHeaderKey(k)] = vs
		}
		b := []byte(fault.Body)
		if fault.Body == "" {
			b = errorBody(http.StatusText(fault.Status))
		}
		return answer{status: fault.Status, header: h, body: b}
	}
	if a, denied := s.authenticate(r); denied {
		// Headers as on every query answer; a refused call spends nothing.
		a.header = s.rateLimitHeader()
		return a
	}
	h, ok := s.takeCall()
	if !ok {
		return answer{status: http.StatusTooManyRequests, header: h, body: errorBody("Too many requests")}
	}
	var status int
	var out []byte
	switch ep {
	case QueryV1:
		status, out = s.queryV1(r.URL.Query(), fault)
	case TimeseriesV2:
		status, out = s.timeseriesV2(body, fault)
	case ScalarV2:
		status, out = s.scalarV2(body, fault)
	}
	if status == http.StatusOK && fault != nil {
		switch {
		case fault.Garbage:
			h.Set("Content-Type", "text/html")
			out = []byte("<html><body><h1>502 Bad Gateway</h1>The server returned an invalid or incomplete response.</body></html>\n")
		case fault.WrongShape:
			out = wrongShape[ep]
		}
	}
	return answer{status: status, header: h, body: out}
}

// authenticate checks Datadog's key headers. The query endpoints document
// 400, 403 and 429 only: a missing or wrong key, API or application, is a
// 403 with Datadog's body.
func (s *Server) authenticate(r *http.Request) (answer, bool) {
	api, app := r.Header.Get("DD-API-KEY"), r.Header.Get("DD-APPLICATION-KEY")
	if api == "" || api != s.opts.APIKey || app == "" || app != s.opts.AppKey {
		return answer{status: http.StatusForbidden, body: forbiddenBody}, true
	}
	return answer{}, false
}

// forbiddenBody is the body Datadog sends with a 403 for a bad key.
var forbiddenBody = []byte(`{"status":"error","code":403,"errors":["Forbidden"],"statuspage":"http://status.datadoghq.com","twitter":"http://twitter.com/datadogops","email":"support@datadoghq.com"}`)

// takeCall counts one call against the rate limit and returns the headers
// to send; ok is false when the window's calls are used up.
func (s *Server) takeCall() (http.Header, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollWindowLocked()
	if s.used >= s.opts.RateLimit.Limit {
		return s.rateLimitHeaderLocked(), false
	}
	s.used++
	return s.rateLimitHeaderLocked(), true
}

func (s *Server) rateLimitHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollWindowLocked()
	return s.rateLimitHeaderLocked()
}

func (s *Server) rollWindowLocked() {
	now := s.opts.Clock.Now()
	start := now.Truncate(s.opts.RateLimit.Period)
	if !start.Equal(s.windowStart) {
		s.windowStart, s.used = start, 0
	}
}

func (s *Server) rateLimitHeaderLocked() http.Header {
	rl := s.opts.RateLimit
	reset := s.windowStart.Add(rl.Period).Sub(s.opts.Clock.Now())
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(rl.Limit))
	h.Set("X-RateLimit-Period", strconv.Itoa(int(rl.Period/time.Second)))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(rl.Limit-s.used, 0)))
	h.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset.Seconds()))))
	h.Set("X-RateLimit-Name", rl.Name)
	return h
}

// errorBody is Datadog's error body: {"errors":[msg]}.
func errorBody(msg string) []byte {
	b, _ := json.Marshal(struct {
		Errors []string `json:"errors"`
	}{[]string{msg}})
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// requestedQueries decodes the metric queries of a request for the log; a
// body that does not decode logs none.
func requestedQueries(ep Endpoint, params url.Values, body []byte) []string {
	if ep == QueryV1 {
		if q := params.Get("query"); q != "" {
			return []string{q}
		}
		return nil
	}
	var req struct {
		Data struct {
			Attributes struct {
				Queries []struct {
					Query string `json:"query"`
				} `json:"queries"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if json.NewDecoder(bytes.NewReader(body)).Decode(&req) != nil {
		return nil
	}
	var qs []string
	for _, q := range req.Data.Attributes.Queries {
		qs = append(qs, q.Query)
	}
	return qs
}
