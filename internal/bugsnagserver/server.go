package bugsnagserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Project is one Bugsnag project.
type Project struct {
	// ID is the project id of the Data Access API: 24 hex characters.
	ID   string
	Name string
	// APIKey is the notifier API key the project's apps report with: 32 hex
	// characters, as bugsnag-go requires.
	APIKey string
}

// Organization owns every project of the server.
type Organization struct {
	// ID is 24 hex characters; empty derives one from Name.
	ID string
	// Name defaults to "roost".
	Name string
}

// Options configure a Server.
type Options struct {
	Projects     []Project
	Organization Organization
	// AuthTokens are the personal auth tokens the Data Access API accepts;
	// each may read every project.
	AuthTokens []string
	// Now is the server's clock (default time.Now): events are stamped with it
	// when they arrive, relative filters ("30m") count back from it, and the
	// rate limit's windows follow it.
	Now func() time.Time
	// RateLimit is how many Data Access API requests one token may make per
	// RateWindow (default one minute); 0 means no limit.
	RateLimit  int
	RateWindow time.Duration
	// MaxErrors bounds the errors kept per project (default 1000): past it,
	// the least recently seen error is forgotten.
	MaxErrors int
	// MaxEventsPerError bounds the events kept per error (default 1000): past
	// it, the oldest are forgotten and counts cover the newest only.
	MaxEventsPerError int
	// BaseURL is the absolute address pagination links start with, for a
	// server behind a proxy; empty uses the address the request came to.
	BaseURL string
	// DashboardURL is the dashboard's address a project's html_url starts
	// with (default https://app.bugsnag.com): the server serves no
	// dashboard, it only names it as Bugsnag does.
	DashboardURL string
}

// Request is one request the server answered, for tests.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	RawQuery string
	// Header is the request's header without the credentials
	// (Authorization, Bugsnag-Api-Key), which the log never keeps.
	Header http.Header
	Status int
}

// Defaults of Options.
const (
	defaultMaxErrors         = 1000
	defaultMaxEventsPerError = 1000
	defaultRateWindow        = time.Minute
	defaultDashboardURL      = "https://app.bugsnag.com"
	requestLogSize           = 1000
)

var (
	projectIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)
	apiKeyPattern    = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Server is an in-memory Bugsnag. It is safe for concurrent use.
type Server struct {
	opts    Options
	org     Organization
	tokens  map[string]bool
	limiter *rateLimiter

	mu       sync.Mutex
	projects []*project
	byID     map[string]*project
	byKey    map[string]*project
	faults   []*Fault
	log      []Request
	logNext  int
}

// New returns a server holding opts.Projects, with no events yet. It panics on
// a project whose id or API key has the wrong form, as those are mistakes in
// the caller's code, not in anyone's input.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = defaultRateWindow
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = defaultMaxErrors
	}
	if opts.MaxEventsPerError <= 0 {
		opts.MaxEventsPerError = defaultMaxEventsPerError
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.DashboardURL == "" {
		opts.DashboardURL = defaultDashboardURL
	}
	opts.DashboardURL = strings.TrimSuffix(opts.DashboardURL, "/")
	org := opts.Organization
	if org.Name == "" {
		org.Name = "roost"
	}
	if org.ID == "" {
		org.ID = hexID("organization", org.Name)
	}
	s := &Server{
		opts:    opts,
		org:     org,
		tokens:  map[string]bool{},
		limiter: newRateLimiter(opts.RateLimit, opts.RateWindow),
		byID:    map[string]*project{},
		byKey:   map[string]*project{},
	}
	for _, t := range opts.AuthTokens {
		s.tokens[t] = true
	}
	for _, p := range opts.Projects {
		if !projectIDPattern.MatchString(p.ID) {
			panic(fmt.Sprintf("bugsnagserver: project %q: id %q must be 24 lower-case hex characters", p.Name, p.ID))
		}
		if !apiKeyPattern.MatchString(p.APIKey) {
			panic(fmt.Sprintf("bugsnagserver: project %q: the API key must be 32 lower-case hex characters", p.Name))
		}
		if s.byID[p.ID] != nil || s.byKey[p.APIKey] != nil {
			panic(fmt.Sprintf("bugsnagserver: project %q: its id or API key is another project's", p.Name))
		}
		pr := &project{Project: p, errors: map[string]*errorGroup{}}
		s.projects = append(s.projects, pr)
		s.byID[p.ID] = pr
		s.byKey[p.APIKey] = pr
	}
	return s
}

// Handler serves the notify, sessions and Data Access API endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /notify", s.notify)
	mux.HandleFunc("POST /sessions", s.sessions)
	mux.HandleFunc("GET /projects/{project_id}/errors", s.api(s.listErrors))
	mux.HandleFunc("GET /projects/{project_id}", s.api(s.viewProject))
	mux.HandleFunc("GET /errors/{error_id}/latest_event", s.api(s.latestEvent))
	mux.HandleFunc("GET /user/organizations", s.api(s.listOrganizations))
	mux.HandleFunc("GET /organizations/{organization_id}/projects", s.api(s.listProjects))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() { s.record(r, rec.status()) }()
		if f := s.takeFault(r.URL.Path); f != nil {
			if f.serve(rec, r) {
				return
			}
		}
		mux.ServeHTTP(rec, r)
	})
}

// Inject makes the next f.Times requests whose path starts with f.Path
// misbehave as f says. Faults apply in the order they were injected.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault not used up: the service recovers.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns the latest requests (up to 1000), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) < requestLogSize {
		return slices.Clone(s.log)
	}
	return append(slices.Clone(s.log[s.logNext:]), s.log[:s.logNext]...)
}

func (s *Server) record(r *http.Request, status int) {
	h := r.Header.Clone()
	h.Del("Authorization")
	h.Del("Bugsnag-Api-Key")
	req := Request{
		Time:     s.opts.Now(),
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   h,
		Status:   status,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) < requestLogSize {
		s.log = append(s.log, req)
		return
	}
	s.log[s.logNext] = req
	s.logNext = (s.logNext + 1) % requestLogSize
}

// api wraps a Data Access API handler with Bugsnag's authentication, version
// check and rate limit, in that order.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "token ")
		if !ok || !s.tokens[token] {
			writeErrors(w, http.StatusUnauthorized, "Unauthorized: send a valid personal auth token as 'Authorization: token <token>'")
			return
		}
		if v := r.Header.Get("X-Version"); v != "2" {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("unsupported API version %q: send the header X-Version: 2", v))
			return
		}
		if s.limiter != nil {
			limit, remaining, retry, allowed := s.limiter.take(token, s.opts.Now())
			w.Header().Set("X-RateLimit-Limit", fmt.Sprint(limit))
			w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(remaining))
			if !allowed {
				w.Header().Set("Retry-After", fmt.Sprint(retry))
				writeErrors(w, http.StatusTooManyRequests, "Too many requests: rate limit exceeded")
				return
			}
		}
		h(w, r)
	}
}

// writeErrors answers with Bugsnag's error body, {"errors":[…]}.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

// hexID is a stable 24-hex-character id (the shape of Bugsnag's ids) for
// what parts name, so that ids do not change between runs.
func hexID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:12])
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
