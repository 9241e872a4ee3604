package bugsnagserver

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// timeFormat is how the Data Access API writes times.
const timeFormat = "2006-01-02T15:04:05.000Z"

// errorJSON is one element of GET /projects/{id}/errors, with the fields of
// Bugsnag's Error resource that this server knows.
type errorJSON struct {
	ID               string `json:"id"`
	ProjectID        string `json:"project_id"`
	ErrorClass       string `json:"error_class"`
	Message          string `json:"message"`
	Context          string `json:"context"`
	Severity         string `json:"severity"`
	OriginalSeverity string `json:"original_severity"`
	Status           string `json:"status"`
	// Events, Users, FirstSeen and LastSeen respect the filters;
	// FirstSeenUnfiltered and ReleaseStages do not.
	Events              int      `json:"events"`
	Users               int      `json:"users"`
	FirstSeen           string   `json:"first_seen"`
	LastSeen            string   `json:"last_seen"`
	FirstSeenUnfiltered string   `json:"first_seen_unfiltered"`
	ReleaseStages       []string `json:"release_stages"`
	GroupingReason      string   `json:"grouping_reason"`
}

// listErrors serves GET /projects/{project_id}/errors: the errors with events
// that pass the filters, sorted, one page at a time.
func (s *Server) listErrors(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	params, err := parseListParams(r.URL.RawQuery, now)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	p := s.byID[r.PathValue("project_id")]
	if p == nil {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "Not found: no project with this id is visible to this auth token")
		return
	}
	views := p.matching(params.filters)
	sortErrors(views, params.sort, params.ascending)
	total := len(views)
	pageViews := views[min(params.offset, total):min(params.offset+params.perPage, total)]
	out := make([]errorJSON, 0, len(pageViews))
	for _, v := range pageViews {
		out = append(out, errorJSON{
			ID:                  v.g.id,
			ProjectID:           p.ID,
			ErrorClass:          v.g.class,
			Message:             v.g.message,
			Context:             v.g.context,
			Severity:            v.g.severity,
			OriginalSeverity:    v.g.severity,
			Status:              "open",
			Events:              v.events,
			Users:               v.users,
			FirstSeen:           v.first.UTC().Format(timeFormat),
			LastSeen:            v.last.UTC().Format(timeFormat),
			FirstSeenUnfiltered: v.g.firstSeen.UTC().Format(timeFormat),
			ReleaseStages:       slices.Clone(v.g.stages),
			GroupingReason:      v.g.reason,
		})
	}
	s.mu.Unlock()

	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	if next := params.offset + params.perPage; next < total {
		w.Header().Set("Link", "<"+s.absoluteURL(r, withOffset(r.URL.RawQuery, next))+`>; rel="next"`)
	}
	writeJSON(w, out)
}

// sortErrors orders views by field; ties go by id so that pages do not
// overlap.
func sortErrors(views []errorView, field string, ascending bool) {
	key := func(v errorView) int64 {
		switch field {
		case "first_seen":
			return v.first.UnixNano()
		case "events":
			return int64(v.events)
		case "users":
			return int64(v.users)
		}
		return v.last.UnixNano()
	}
	slices.SortFunc(views, func(a, b errorView) int {
		c := cmp.Compare(key(a), key(b))
		if !ascending {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.g.id, b.g.id)
	})
}

// withOffset is raw with its offset parameter set to n, every other
// parameter kept as it was written and where it was.
func withOffset(raw string, n int) string {
	var parts []string
	for part := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); part == "" || (err == nil && key == "offset") {
			continue
		}
		parts = append(parts, part)
	}
	return strings.Join(append(parts, "offset="+strconv.Itoa(n)), "&")
}

// absoluteURL is the address of r's path with query, as the Link header
// needs it.
func (s *Server) absoluteURL(r *http.Request, query string) string {
	return s.apiBase(r) + r.URL.EscapedPath() + "?" + query
}

// apiBase is the API's address as the client reached it: BaseURL, else the
// request's scheme and host.
func (s *Server) apiBase(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// listOrganizations serves GET /user/organizations: the one organization.
func (s *Server) listOrganizations(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Total-Count", "1")
	writeJSON(w, []map[string]string{{"id": s.org.ID, "name": s.org.Name, "slug": slug(s.org.Name)}})
}

// projectJSON is Bugsnag's Project resource: GET /projects/{id}, and each
// element of GET /organizations/{id}/projects. url and errors_url are the
// API's; html_url is the project in the dashboard.
type projectJSON struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organization_id"`
	Name           string   `json:"name"`
	Slug           string   `json:"slug"`
	APIKey         string   `json:"api_key"`
	ReleaseStages  []string `json:"release_stages"`
	OpenErrorCount int      `json:"open_error_count"`
	URL            string   `json:"url"`
	ErrorsURL      string   `json:"errors_url"`
	HTMLURL        string   `json:"html_url"`
}

// projectView is p as the Project resource. s.mu is held.
func (s *Server) projectView(r *http.Request, p *project) projectJSON {
	stages := []string{}
	for _, g := range p.errors {
		for _, st := range g.stages {
			if !slices.Contains(stages, st) {
				stages = append(stages, st)
			}
		}
	}
	slices.Sort(stages)
	api := s.apiBase(r) + "/projects/" + p.ID
	return projectJSON{
		ID: p.ID, OrganizationID: s.org.ID, Name: p.Name, Slug: slug(p.Name),
		APIKey: p.APIKey, ReleaseStages: stages, OpenErrorCount: len(p.errors),
		URL: api, ErrorsURL: api + "/errors",
		HTMLURL: s.opts.DashboardURL + "/" + slug(s.org.Name) + "/" + slug(p.Name),
	}
}

// viewProject serves GET /projects/{project_id}.
func (s *Server) viewProject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.byID[r.PathValue("project_id")]
	if p == nil {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "Not found: no project with this id is visible to this auth token")
		return
	}
	out := s.projectView(r, p)
	s.mu.Unlock()
	writeJSON(w, out)
}

// eventJSON is Bugsnag's Event resource, as GET /errors/{id}/latest_event
// answers it: the fields the API adds are snake_case, the report's own
// (exceptions, app) keep the notifier's camelCase.
type eventJSON struct {
	ID           string           `json:"id"`
	URL          string           `json:"url"`
	ProjectURL   string           `json:"project_url"`
	IsFullReport bool             `json:"is_full_report"`
	ErrorID      string           `json:"error_id"`
	ReceivedAt   string           `json:"received_at"`
	Exceptions   []eventException `json:"exceptions"`
	Context      string           `json:"context"`
	Severity     string           `json:"severity"`
	Unhandled    bool             `json:"unhandled"`
	App          eventApp         `json:"app"`
}

type eventException struct {
	ErrorClass string       `json:"errorClass"`
	Message    string       `json:"message"`
	Stacktrace []stackFrame `json:"stacktrace"`
}

type eventApp struct {
	ReleaseStage string `json:"releaseStage"`
	Version      string `json:"version,omitempty"`
}

// latestEvent serves GET /errors/{error_id}/latest_event: the newest event
// the server keeps of the error, whatever its project.
func (s *Server) latestEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("error_id")
	s.mu.Lock()
	var (
		p *project
		g *errorGroup
	)
	for _, pr := range s.projects {
		for _, eg := range pr.errors {
			if eg.id == id {
				p, g = pr, eg
			}
		}
	}
	if g == nil || len(g.events) == 0 {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "Not found: no error with this id is visible to this auth token")
		return
	}
	e := g.events[len(g.events)-1]
	api := s.apiBase(r) + "/projects/" + p.ID
	out := eventJSON{
		ID: e.id, URL: api + "/events/" + e.id, ProjectURL: api, IsFullReport: true,
		ErrorID: g.id, ReceivedAt: e.at.UTC().Format(timeFormat),
		Context: e.context, Severity: e.severity, Unhandled: e.unhandled,
		App: eventApp{ReleaseStage: e.stage, Version: e.version},
	}
	for _, x := range e.exceptions {
		frames := slices.Clone(x.Stacktrace)
		if frames == nil {
			frames = []stackFrame{}
		}
		out.Exceptions = append(out.Exceptions, eventException{ErrorClass: x.ErrorClass, Message: x.Message, Stacktrace: frames})
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

// listProjects serves GET /organizations/{organization_id}/projects, which
// tells a user which project id their notifier API key reports to.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("organization_id") != s.org.ID {
		writeErrors(w, http.StatusNotFound, "Not found: no organization with this id is visible to this auth token")
		return
	}
	s.mu.Lock()
	out := make([]projectJSON, 0, len(s.projects))
	for _, p := range s.projects {
		out = append(out, s.projectView(r, p))
	}
	s.mu.Unlock()
	w.Header().Set("X-Total-Count", strconv.Itoa(len(out)))
	writeJSON(w, out)
}

func slug(name string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, name), "-")
}
