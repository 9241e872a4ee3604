package bugsnag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	bugsnaggo "github.com/bugsnag/bugsnag-go/v2"

	"github.com/roost-dev/roost/internal/bugsnagserver"
	"github.com/roost-dev/roost/metrics"
)

const (
	projectID  = "5f1e2d3c4b5a69788796a5b4"
	notifyKey  = "0123456789abcdef0123456789abcdef"
	validToken = "personal-token-0123456789abcdef"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is a Bugsnag server on loopback, its clock, and the app's pods
// reporting to it with bugsnag-go.
type world struct {
	t      *testing.T
	clock  *clock
	server *bugsnagserver.Server
	http   *httptest.Server
}

func newWorld(t *testing.T, mod func(*bugsnagserver.Options)) *world {
	t.Helper()
	c := &clock{t: testNow}
	opts := bugsnagserver.Options{
		Projects:   []bugsnagserver.Project{{ID: projectID, Name: "Shop", APIKey: notifyKey}},
		AuthTokens: []string{validToken},
		Now:        c.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	srv := bugsnagserver.New(opts)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &world{t: t, clock: c, server: srv, http: hs}
}

// pod is bugsnag-go as a pod of the release stage configures it: the stage
// comes from its role label.
func (w *world) pod(stage string) *bugsnaggo.Notifier {
	return bugsnaggo.New(bugsnaggo.Configuration{
		APIKey:          notifyKey,
		ReleaseStage:    stage,
		AppVersion:      "2.0.0",
		Endpoints:       bugsnaggo.Endpoints{Notify: w.http.URL + "/notify", Sessions: w.http.URL + "/sessions"},
		ProjectPackages: []string{"github.com/roost-dev/roost/**"},
		Synchronous:     true,
		PanicHandler:    func() {},
		Logger:          log.New(io.Discard, "", 0),
	})
}

func (w *world) client(mod func(*Options)) *Client {
	w.t.Helper()
	opts := Options{Token: validToken, Address: w.http.URL, Now: w.clock.Now}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		w.t.Fatalf("New: %v", err)
	}
	return c
}

// errorRequests are the Data Access API requests the server answered.
func (w *world) errorRequests() []bugsnagserver.Request {
	var out []bugsnagserver.Request
	for _, r := range w.server.Requests() {
		if strings.HasSuffix(r.Path, "/errors") {
			out = append(out, r)
		}
	}
	return out
}

// The shop's failures, each at its own line, as in the real service.
type declinedError struct{}

func (declinedError) Error() string { return "card declined" }

type timeoutError struct{ backend string }

func (e timeoutError) Error() string { return e.backend + " timed out" }

func checkout(n *bugsnaggo.Notifier, user string) error {
	return n.Notify(declinedError{}, bugsnaggo.Context{String: "POST /checkout"}, bugsnaggo.User{Id: user}, bugsnaggo.SeverityError)
}

func search(n *bugsnaggo.Notifier, user string) error {
	return n.Notify(timeoutError{backend: "search"}, bugsnaggo.Context{String: "GET /search"}, bugsnaggo.User{Id: user})
}

func inventory(n *bugsnaggo.Notifier, user string) error {
	return n.Notify(fmt.Errorf("stock of sku-%s: %w", user, errors.New("no rows")), bugsnaggo.Context{String: "GET /stock"}, bugsnaggo.User{Id: user})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("bugsnag-go could not notify: %v", err)
	}
}

func TestCanaryErrorsFromBugsnagGo(t *testing.T) {
	w := newWorld(t, nil)
	canary, stable := w.pod("canary"), w.pod("stable")

	// Before the canary: stable's usual errors, and an old canary's.
	must(t, checkout(stable, "s1"))
	must(t, inventory(stable, "s2"))
	must(t, search(canary, "old"))
	w.clock.Advance(10 * time.Minute)
	since := w.clock.Now()

	w.clock.Advance(time.Second)
	must(t, checkout(canary, "u1"))
	w.clock.Advance(time.Second)
	must(t, search(canary, "u2"))
	w.clock.Advance(time.Second)
	must(t, search(canary, "u3"))
	w.clock.Advance(time.Second)
	must(t, checkout(canary, "u1"))
	w.clock.Advance(time.Second)
	must(t, inventory(stable, "s3"))
	w.clock.Advance(time.Second)
	must(t, search(canary, "u2"))

	got, err := w.client(nil).CanaryErrors(context.Background(), metrics.ErrorQuery{Project: projectID, Since: since})
	if err != nil {
		t.Fatalf("CanaryErrors: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d errors, want search and checkout: %+v", len(got), got)
	}
	s, c := got[0], got[1]
	if s.Class != "bugsnag.timeoutError" || s.Message != "search timed out" || s.Context != "GET /search" || s.Severity != "warning" {
		t.Errorf("first error %+v, want the search timeout, the most recently seen", s)
	}
	if s.Events != 3 || s.Users != 2 || !s.New {
		t.Errorf("search: %d events, %d users, new %v; want 3, 2, new (stable never saw it)", s.Events, s.Users, s.New)
	}
	if !s.FirstSeen.Equal(testNow) || !s.LastSeen.Equal(since.Add(6*time.Second)) {
		t.Errorf("search seen %v to %v; want first seen %v (the old canary) and last %v", s.FirstSeen, s.LastSeen, testNow, since.Add(6*time.Second))
	}
	if c.Class != "bugsnag.declinedError" || c.Severity != "error" || c.Events != 2 || c.Users != 1 || c.New {
		t.Errorf("checkout %+v; want 2 events by 1 user, not new (stable has it)", c)
	}
	if len(c.ID) != 24 || c.ID == s.ID {
		t.Errorf("ids %q, %q", c.ID, s.ID)
	}

	reqs := w.errorRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	wantQuery := "sort=last_seen&direction=desc&per_page=100" +
		"&filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary" +
		"&filters[event.since][][type]=eq&filters[event.since][][value]=2026-12-01T12:10:00Z"
	if reqs[0].RawQuery != wantQuery {
		t.Errorf("raw query\n got %s\nwant %s", reqs[0].RawQuery, wantQuery)
	}
	if reqs[0].Path != "/projects/"+projectID+"/errors" || reqs[0].Header.Get("X-Version") != "2" {
		t.Errorf("request %s with X-Version %q", reqs[0].Path, reqs[0].Header.Get("X-Version"))
	}
}

func TestCanaryErrorsOtherStages(t *testing.T) {
	w := newWorld(t, nil)
	must(t, search(w.pod("production"), "p1"))
	must(t, checkout(w.pod("stable"), "s1"))
	w.clock.Advance(time.Minute)
	since := w.clock.Now()
	must(t, search(w.pod("preview"), "u1"))
	must(t, checkout(w.pod("preview"), "u1"))

	got, err := w.client(nil).CanaryErrors(context.Background(), metrics.ErrorQuery{
		Project: projectID, CanaryStage: "preview", StableStage: "production", Since: since,
	})
	if err != nil {
		t.Fatalf("CanaryErrors: %v", err)
	}
	news := map[string]bool{}
	for _, e := range got {
		news[e.Class] = e.New
	}
	if len(got) != 2 || news["bugsnag.timeoutError"] || !news["bugsnag.declinedError"] {
		t.Errorf("got %+v; want search known to production and checkout new to it", got)
	}
	if q := w.errorRequests()[0].RawQuery; !strings.Contains(q, "filters[app.release_stage][][value]=preview&") {
		t.Errorf("query %s does not ask for the preview stage", q)
	}
}

func TestCanaryErrorsNone(t *testing.T) {
	w := newWorld(t, nil)
	must(t, checkout(w.pod("stable"), "s1"))
	got, err := w.client(nil).CanaryErrors(context.Background(), metrics.ErrorQuery{Project: projectID, Since: testNow})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("a canary without errors: %v, %v; want an empty list", got, err)
	}
}

// canaryErrorsOf reports n distinct canary errors, a second apart.
func canaryErrorsOf(w *world, n int) time.Time {
	w.t.Helper()
	pod := w.pod("canary")
	since := w.clock.Now()
	for i := range n {
		w.clock.Advance(time.Second)
		hash := fmt.Sprintf("failure-%d", i)
		must(w.t, pod.Notify(errors.New(hash), func(e *bugsnaggo.Event) { e.GroupingHash = hash }))
	}
	return since
}

func TestCanaryErrorsFollowsPages(t *testing.T) {
	w := newWorld(t, nil)
	since := canaryErrorsOf(w, 5)

	got, err := w.client(func(o *Options) { o.PageSize = 2 }).CanaryErrors(context.Background(), metrics.ErrorQuery{Project: projectID, Since: since})
	if err != nil {
		t.Fatalf("CanaryErrors: %v", err)
	}
	var messages []string
	for _, e := range got {
		messages = append(messages, e.Message)
	}
	if strings.Join(messages, ",") != "failure-4,failure-3,failure-2,failure-1,failure-0" {
		t.Errorf("got %v, want all five, most recent first", messages)
	}
	reqs := w.errorRequests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(reqs))
	}
	first := errorsQuery(2, "canary", since)
	for i, want := range []string{first, first + "&offset=2", first + "&offset=4"} {
		if reqs[i].RawQuery != want {
			t.Errorf("page %d query\n got %s\nwant %s", i+1, reqs[i].RawQuery, want)
		}
	}

	bounded, err := w.client(func(o *Options) { o.PageSize = 2; o.MaxPages = 2 }).CanaryErrors(context.Background(), metrics.ErrorQuery{Project: projectID, Since: since})
	if err != nil {
		t.Fatalf("CanaryErrors, 2 pages: %v", err)
	}
	if len(bounded) != 4 || bounded[0].Message != "failure-4" {
		t.Errorf("2 pages of 2 gave %d errors, starting with %q; want the 4 most recent", len(bounded), bounded[0].Message)
	}
	if n := len(w.errorRequests()); n != 5 {
		t.Errorf("%d requests in all, want 3 + 2", n)
	}
}

func TestCanaryErrorsFailures(t *testing.T) {
	type want struct {
		status    int
		permanent bool
		retry     time.Duration
		reason    string
	}
	tests := []struct {
		name   string
		server func(*bugsnagserver.Options)
		setup  func(*world)
		client func(*Options)
		query  func(*metrics.ErrorQuery)
		want   want
	}{
		{
			name:   "wrong token",
			client: func(o *Options) { o.Token = "not-a-token-anyone-made" },
			want:   want{401, true, 0, "the auth token is wrong or expired (401): make a personal auth token"},
		},
		{
			name:  "unknown project",
			query: func(q *metrics.ErrorQuery) { q.Project = "bbbbbbbbbbbbbbbbbbbbbbbb" },
			want:  want{404, true, 0, "no project bbbbbbbbbbbbbbbbbbbbbbbb for this auth token (404)"},
		},
		{
			name:   "rate limited by the server",
			server: func(o *bugsnagserver.Options) { o.RateLimit = 1 },
			setup: func(w *world) {
				if _, err := w.client(nil).CanaryErrors(context.Background(), metrics.ErrorQuery{Project: projectID, Since: testNow}); err != nil {
					w.t.Fatalf("first call: %v", err)
				}
				w.clock.Advance(20 * time.Second)
			},
			want: want{429, false, 40 * time.Second, "rate limited (429)"},
		},
		{
			name: "rate limited with a date",
			setup: func(w *world) {
				w.server.Inject(bugsnagserver.Fault{Status: 429, Header: http.Header{"Retry-After": {testNow.Add(2 * time.Minute).Format(http.TimeFormat)}}, Body: `{"errors":["Too many requests"]}`})
			},
			want: want{429, false, 2 * time.Minute, "rate limited (429)"},
		},
		{
			name:  "server error",
			setup: func(w *world) { w.server.Inject(bugsnagserver.Fault{Status: 500, Body: `{"errors":["internal"]}`}) },
			want:  want{500, false, 0, "Bugsnag failed (500)"},
		},
		{
			name: "bad query",
			setup: func(w *world) {
				w.server.Inject(bugsnagserver.Fault{Status: 400, Body: `{"errors":["filters[event.since]: unreadable"]}`})
			},
			want: want{400, true, 0, "Bugsnag refused the query (400): filters[event.since]: unreadable"},
		},
		{
			name:   "timeout",
			setup:  func(w *world) { w.server.Inject(bugsnagserver.Fault{Delay: 5 * time.Second}) },
			client: func(o *Options) { o.Timeout = 100 * time.Millisecond },
			want:   want{0, false, 0, "timed out after 100ms"},
		},
		{
			name:  "garbage",
			setup: func(w *world) { w.server.Inject(bugsnagserver.Fault{Status: 200, Body: bugsnagserver.GarbageBody}) },
			want:  want{200, false, 0, `unexpected response from Bugsnag: not a JSON list of errors ("<html><body><h1>502 Bad Gateway</h1></bo...")`},
		},
		{
			name:  "wrong-shaped JSON",
			setup: func(w *world) { w.server.Inject(bugsnagserver.Fault{Status: 200, Body: bugsnagserver.WrongShapeBody}) },
			want:  want{200, false, 0, "unexpected response from Bugsnag: not a JSON list of errors"},
		},
		{
			name: "a list of something else",
			setup: func(w *world) {
				w.server.Inject(bugsnagserver.Fault{Status: 200, Body: `[{"name":"checkout","count":3}]`})
			},
			want: want{200, false, 0, "unexpected response from Bugsnag: error #1 of the page has no id, events, release_stages"},
		},
		{
			name: "the second page fails",
			setup: func(w *world) {
				canaryErrorsOf(w, 3)
				w.server.Inject(bugsnagserver.Fault{Path: "/projects/", Times: 1, Delay: time.Millisecond})
				w.server.Inject(bugsnagserver.Fault{Path: "/projects/", Status: 503, Header: http.Header{"Retry-After": {"30"}}})
			},
			client: func(o *Options) { o.PageSize = 2 },
			want:   want{503, false, 30 * time.Second, "Bugsnag failed (503)"},
		},
		{
			name: "a next page elsewhere",
			setup: func(w *world) {
				w.server.Inject(bugsnagserver.Fault{Status: 200, Body: "[]", Header: http.Header{"Link": {`<https://attacker.example/projects/x/errors?offset=2>; rel="next"`}}})
			},
			want: want{200, false, 0, "the next-page link leads to https://attacker.example, not http://127.0.0.1"},
		},
		{
			name:  "no project",
			query: func(q *metrics.ErrorQuery) { q.Project = "" },
			want:  want{0, true, 0, "no Bugsnag project: set bugsnag.project in ~/.config/roost/config.yaml, or annotate the Rollout with bugsnag.roost.dev/project=<project id>"},
		},
		{
			name:  "not a project id",
			query: func(q *metrics.ErrorQuery) { q.Project = "../user" },
			want:  want{0, true, 0, `"../user" is not a Bugsnag project id: copy the id`},
		},
		{
			name:  "no start time",
			query: func(q *metrics.ErrorQuery) { q.Since = time.Time{} },
			want:  want{0, true, 0, "no canary start time"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.server)
			if tt.setup != nil {
				tt.setup(w)
			}
			q := metrics.ErrorQuery{Project: projectID, Since: testNow}
			if tt.query != nil {
				tt.query(&q)
			}
			got, err := w.client(tt.client).CanaryErrors(context.Background(), q)
			checkSourceError(t, got, err, tt.want.status, tt.want.permanent, tt.want.retry, tt.want.reason)
		})
	}
}

// checkSourceError checks a failed call without ever printing a token.
func checkSourceError(t *testing.T, got []metrics.Error, err error, status int, permanent bool, retry time.Duration, reason string) {
	t.Helper()
	if got != nil {
		t.Errorf("a failed call returned %d errors, want none", len(got))
	}
	se, ok := metrics.AsSourceError(err)
	if !ok {
		t.Fatalf("error %T is not a *metrics.SourceError", err)
	}
	for _, text := range []string{se.Error(), se.Reason, fmt.Sprintf("%+v", se)} {
		if strings.Contains(text, validToken) || strings.Contains(text, "not-a-token-anyone-made") {
			t.Fatal("the error holds the auth token")
		}
	}
	if se.Source != "Bugsnag" || se.Status != status || se.Permanent != permanent || se.RetryAfter != retry || !strings.Contains(se.Reason, reason) {
		t.Errorf("got status %d, permanent %v, retry %v, reason %q\nwant status %d, permanent %v, retry %v, reason containing %q",
			se.Status, se.Permanent, se.RetryAfter, se.Reason, status, permanent, retry, reason)
	}
}

func TestCanaryErrorsUnreachable(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	address := hs.URL
	hs.Close()
	c, err := New(Options{Token: validToken, Address: address})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.CanaryErrors(context.Background(), metrics.ErrorQuery{Project: projectID, Since: testNow})
	checkSourceError(t, got, err, 0, false, 0, "cannot reach Bugsnag at "+strings.TrimPrefix(address, "http://")+": ")
}

func TestCanaryErrorsCallerStops(t *testing.T) {
	w := newWorld(t, nil)
	w.server.Inject(bugsnagserver.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	got, err := w.client(nil).CanaryErrors(ctx, metrics.ErrorQuery{Project: projectID, Since: testNow})
	checkSourceError(t, got, err, 0, false, 0, "stopped before Bugsnag answered: context canceled")
}

func TestCanaryErrorsCallerDeadline(t *testing.T) {
	w := newWorld(t, nil)
	w.server.Inject(bugsnagserver.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	got, err := w.client(nil).CanaryErrors(ctx, metrics.ErrorQuery{Project: projectID, Since: testNow})
	checkSourceError(t, got, err, 0, false, 0, "timed out after ")
	// The caller's deadline, not the client's 10s, is what the user waited.
	if se, _ := metrics.AsSourceError(err); !strings.HasSuffix(se.Reason, "0ms") {
		t.Errorf("reason %q, want the caller's deadline of about 300ms", se.Reason)
	}
}

func TestNewChecksOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no token", Options{}, "no Bugsnag auth token: set BUGSNAG_AUTH_TOKEN"},
		{"blank token", Options{Token: " \n"}, "no Bugsnag auth token"},
		{"relative address", Options{Token: "t", Address: "api.bugsnag.com"}, `bugsnag address "api.bugsnag.com": want an absolute http or https address`},
		{"other scheme", Options{Token: "t", Address: "ftp://api.bugsnag.com"}, "want an absolute http or https address"},
		{"address with a query", Options{Token: "t", Address: "https://api.bugsnag.com/?x=1"}, "without a query"},
		{"page too large", Options{Token: "t", PageSize: 101}, "bugsnag page size 101: Bugsnag returns 1 to 100 errors a page"},
		{"negative timeout", Options{Token: "t", Timeout: -time.Second}, "bugsnag timeout -1s"},
		{"negative pages", Options{Token: "t", MaxPages: -1}, "bugsnag max pages -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	c, err := New(Options{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != "Bugsnag Data Access API at https://api.bugsnag.com" || c.timeout != DefaultTimeout || c.pageSize != 100 || c.maxPages != 10 {
		t.Errorf("defaults: %s, timeout %v, page size %d, max pages %d", c, c.timeout, c.pageSize, c.maxPages)
	}
	proxied, err := New(Options{Token: "t", Address: "https://proxy.internal/bugsnag/"})
	if err != nil {
		t.Fatal(err)
	}
	if got := proxied.base.JoinPath("projects", projectID, "errors").String(); got != "https://proxy.internal/bugsnag/projects/"+projectID+"/errors" {
		t.Errorf("behind a proxy the list is at %s", got)
	}
}
