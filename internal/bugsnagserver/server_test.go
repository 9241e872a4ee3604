package bugsnagserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bugsnag/bugsnag-go/v2"
	"github.com/bugsnag/bugsnag-go/v2/sessions"
)

const (
	shopID     = "5f1e2d3c4b5a69788796a5b4"
	shopKey    = "0123456789abcdef0123456789abcdef"
	otherID    = "aaaaaaaaaaaaaaaaaaaaaaaa"
	otherKey   = "fedcba9876543210fedcba9876543210"
	validToken = "personal-token-for-tests"
)

// clock is a settable clock for the server.
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

type fixture struct {
	t     *testing.T
	clock *clock
	srv   *Server
	http  *httptest.Server
}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	c := &clock{t: testNow}
	opts := Options{
		Projects: []Project{
			{ID: shopID, Name: "Shop", APIKey: shopKey},
			{ID: otherID, Name: "Other", APIKey: otherKey},
		},
		AuthTokens: []string{validToken},
		Now:        c.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	srv := New(opts)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &fixture{t: t, clock: c, srv: srv, http: hs}
}

// notifier is bugsnag-go configured as a pod of stage would be.
func (f *fixture) notifier(apiKey, stage string) *bugsnag.Notifier {
	return bugsnag.New(bugsnag.Configuration{
		APIKey:          apiKey,
		ReleaseStage:    stage,
		AppVersion:      "1.4.2",
		Endpoints:       bugsnag.Endpoints{Notify: f.http.URL + "/notify", Sessions: f.http.URL + "/sessions"},
		ProjectPackages: []string{"github.com/roost-dev/roost/**"},
		Synchronous:     true,
		PanicHandler:    func() {},
		Logger:          log.New(io.Discard, "", 0),
	})
}

// get calls the Data Access API with the test token.
func (f *fixture) get(path string) (*http.Response, []byte) {
	f.t.Helper()
	return f.getWith(path, validToken, "2")
}

func (f *fixture) getWith(path, token, version string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.http.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	if version != "" {
		req.Header.Set("X-Version", version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, body
}

func (f *fixture) listErrors(query string) []errorJSON {
	f.t.Helper()
	resp, body := f.get("/projects/" + shopID + "/errors?" + query)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("list errors: HTTP %d: %s", resp.StatusCode, body)
	}
	var out []errorJSON
	if err := json.Unmarshal(body, &out); err != nil {
		f.t.Fatalf("list errors: %v: %s", err, body)
	}
	return out
}

// The shop's failures, each at its own line as in a real service.
type declinedError struct{ card string }

func (e *declinedError) Error() string { return "card " + e.card + " declined" }

var errCartMissing = errors.New("cart not found")

func chargeCard(n *bugsnag.Notifier, user string) error {
	return n.Notify(&declinedError{card: "visa"}, bugsnag.Context{String: "POST /checkout"}, bugsnag.User{Id: user}, bugsnag.SeverityError)
}

func loadCart(n *bugsnag.Notifier, user string) error {
	return n.Notify(fmt.Errorf("load cart of %s: %w", user, errCartMissing), bugsnag.Context{String: "GET /cart"}, bugsnag.User{Id: user})
}

func mustNotify(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("bugsnag-go could not notify: %v", err)
	}
}

func TestNotifyFromBugsnagGoAndListErrors(t *testing.T) {
	f := newFixture(t, nil)
	canary, stable := f.notifier(shopKey, "canary"), f.notifier(shopKey, "stable")

	mustNotify(t, chargeCard(stable, "u-stable"))
	f.clock.Advance(time.Minute)
	canaryStart := f.clock.Now()
	mustNotify(t, chargeCard(canary, "u1"))
	f.clock.Advance(time.Second)
	mustNotify(t, chargeCard(canary, "u2"))
	f.clock.Advance(time.Second)
	mustNotify(t, loadCart(canary, "u3"))
	f.clock.Advance(time.Second)
	mustNotify(t, chargeCard(canary, "u1"))

	all := f.listErrors("")
	if len(all) != 2 {
		t.Fatalf("got %d errors, want 2 (checkout and cart): %+v", len(all), all)
	}
	byClass := map[string]errorJSON{}
	for _, e := range all {
		byClass[e.ErrorClass] = e
	}
	checkout, ok := byClass["*bugsnagserver.declinedError"]
	if !ok {
		t.Fatalf("no *bugsnagserver.declinedError among %+v", all)
	}
	if checkout.Events != 4 || checkout.Users != 3 {
		t.Errorf("checkout unfiltered: %d events, %d users; want 4, 3", checkout.Events, checkout.Users)
	}
	if !slices.Equal(checkout.ReleaseStages, []string{"stable", "canary"}) {
		t.Errorf("checkout release stages %v, want [stable canary]", checkout.ReleaseStages)
	}
	if checkout.Message != "card visa declined" || checkout.Context != "POST /checkout" || checkout.Severity != "error" || checkout.Status != "open" || checkout.GroupingReason != "frame-inner" {
		t.Errorf("checkout fields: %+v", checkout)
	}
	if len(checkout.ID) != 24 || strings.Trim(checkout.ID, "0123456789abcdef") != "" {
		t.Errorf("id %q is not 24 hex characters", checkout.ID)
	}
	cart, ok := byClass["*fmt.wrapError"]
	if !ok {
		t.Fatalf("no *fmt.wrapError among %+v", all)
	}
	if cart.Severity != "warning" || cart.Message != "load cart of u3: cart not found" || cart.GroupingReason != "frame-inner" {
		t.Errorf("cart fields: %+v", cart)
	}

	canaryOnly := f.listErrors("sort=last_seen&direction=desc" +
		"&filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary" +
		"&filters[event.since][][type]=eq&filters[event.since][][value]=" + canaryStart.Format(time.RFC3339))
	if len(canaryOnly) != 2 {
		t.Fatalf("canary since start: %d errors, want 2", len(canaryOnly))
	}
	if canaryOnly[0].ID != checkout.ID || canaryOnly[1].ID != cart.ID {
		t.Errorf("canary errors not most recent first: %s then %s", canaryOnly[0].ErrorClass, canaryOnly[1].ErrorClass)
	}
	c := canaryOnly[0]
	if c.Events != 3 || c.Users != 2 {
		t.Errorf("checkout in canary: %d events, %d users; want 3, 2", c.Events, c.Users)
	}
	if want := canaryStart.Format(timeFormat); c.FirstSeen != want {
		t.Errorf("filtered first_seen %s, want %s", c.FirstSeen, want)
	}
	if want := testNow.Format(timeFormat); c.FirstSeenUnfiltered != want {
		t.Errorf("first_seen_unfiltered %s, want %s (the stable event)", c.FirstSeenUnfiltered, want)
	}
	if want := canaryStart.Add(3 * time.Second).Format(timeFormat); c.LastSeen != want {
		t.Errorf("last_seen %s, want %s", c.LastSeen, want)
	}

	stableOnly := f.listErrors("filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=stable")
	if len(stableOnly) != 1 || stableOnly[0].ID != checkout.ID || stableOnly[0].Events != 1 {
		t.Errorf("stable: %+v, want the checkout error with 1 event", stableOnly)
	}
	before := f.listErrors("filters[event.before][][type]=eq&filters[event.before][][value]=" + canaryStart.Format(time.RFC3339))
	if len(before) != 1 || before[0].Events != 1 {
		t.Errorf("before the canary: %+v, want the one stable event", before)
	}
	recent := f.listErrors("filters[event.since][][type]=eq&filters[event.since][][value]=2m")
	if len(recent) != 2 {
		t.Errorf("relative since 2m: %d errors, want 2", len(recent))
	}
	if got := f.listErrors("filters[error.status][][type]=ne&filters[error.status][][value]=open"); len(got) != 0 {
		t.Errorf("status ne open: %d errors, want none (every error is open)", len(got))
	}
	if got := f.listErrors("sort=events&direction=asc"); got[0].ID != cart.ID {
		t.Errorf("sort by events ascending starts with %s", got[0].ErrorClass)
	}

	var notifies int
	for _, r := range f.srv.Requests() {
		if r.Path != "/notify" {
			continue
		}
		notifies++
		if r.Status != http.StatusOK || r.Header.Get("Bugsnag-Payload-Version") != "4" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("notify request: status %d, headers %v", r.Status, r.Header)
		}
		if _, err := time.Parse(time.RFC3339, r.Header.Get("Bugsnag-Sent-At")); err != nil {
			t.Errorf("Bugsnag-Sent-At: %v", err)
		}
		if r.Header.Get("Bugsnag-Api-Key") != "" {
			t.Error("the request log kept the notifier API key")
		}
	}
	if notifies != 5 {
		t.Errorf("%d notify requests logged, want 5", notifies)
	}
}

func TestNotifyRefusals(t *testing.T) {
	f := newFixture(t, nil)
	err := chargeCard(f.notifier("99999999999999999999999999999999", "canary"), "u1")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unknown API key: bugsnag-go got %v, want HTTP 401", err)
	}
	post := func(path, key, version, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, f.http.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Bugsnag-Api-Key", key)
		}
		if version != "" {
			req.Header.Set("Bugsnag-Payload-Version", version)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	event := `{"app":{"releaseStage":"canary"},"exceptions":[{"errorClass":"E","message":"m","stacktrace":[]}],"severity":"error"}`
	tests := []struct {
		name, path, key, version, body string
		status                         int
		want                           string
	}{
		{"not JSON", "/notify", shopKey, "4", "{", 400, "not valid JSON"},
		{"empty body", "/notify", shopKey, "4", "", 400, "empty payload"},
		{"no events", "/notify", shopKey, "4", `{"apiKey":"` + shopKey + `","events":[]}`, 400, "events is empty"},
		{"no exception", "/notify", shopKey, "4", `{"events":[{"exceptions":[]}]}`, 400, "events[0].exceptions is empty"},
		{"no error class", "/notify", shopKey, "4", `{"events":[{"exceptions":[{"message":"m"}]}]}`, 400, "events[0].exceptions[0].errorClass is empty"},
		{"another payload version", "/notify", shopKey, "5", `{"events":[` + event + `]}`, 400, "Bugsnag-Payload-Version"},
		{"too large", "/notify", shopKey, "4", `{"events":[` + event + `],"pad":"` + strings.Repeat("x", maxPayloadBytes) + `"}`, 400, "too large"},
		{"the key may come in the body", "/notify", "", "4", `{"apiKey":"` + shopKey + `","events":[` + event + `]}`, 200, "OK"},
		{"no key at all", "/notify", "", "4", `{"events":[` + event + `]}`, 401, "Invalid API key"},
		{"sessions with an unknown key", "/sessions", otherKey + "0", "1.0", `{"sessionCounts":[{"startedAt":"2026-12-01T12:00:00Z","sessionsStarted":1}]}`, 401, "Invalid API key"},
		{"sessions without counts", "/sessions", shopKey, "1.0", `{"sessionCounts":[]}`, 400, "sessionCounts is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.path, tt.key, tt.version, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("HTTP %d %q, want %d with %q", status, body, tt.status, tt.want)
			}
		})
	}
	resp, _ := f.get("/notify")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /notify: HTTP %d, want 405", resp.StatusCode)
	}
}

func TestSessionsFromBugsnagGo(t *testing.T) {
	f := newFixture(t, nil)
	tracker := sessions.NewSessionTracker(&sessions.SessionTrackingConfiguration{
		APIKey:          shopKey,
		Endpoint:        f.http.URL + "/sessions",
		ReleaseStage:    "canary",
		Version:         bugsnag.Version,
		PublishInterval: time.Hour,
		Transport:       http.DefaultTransport,
		Logger:          log.New(io.Discard, "", 0),
	})
	tracker.StartSession(context.Background())
	// The tracker files a started session on its own goroutine: flush until
	// it has one to send.
	deadline := time.Now().Add(10 * time.Second)
	for {
		tracker.FlushSessions()
		for _, r := range f.srv.Requests() {
			if r.Path == "/sessions" {
				if r.Status != http.StatusAccepted || r.Header.Get("Bugsnag-Payload-Version") != "1.0" {
					t.Errorf("sessions: HTTP %d, payload version %q; want 202, 1.0", r.Status, r.Header.Get("Bugsnag-Payload-Version"))
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("bugsnag-go sent no session in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDataAccessRefusals(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name, path, token, version string
		status                     int
		want                       string
	}{
		{"no token", "/projects/" + shopID + "/errors", "", "2", 401, "Unauthorized"},
		{"wrong token", "/projects/" + shopID + "/errors", "nope", "2", 401, "Unauthorized"},
		{"no X-Version", "/projects/" + shopID + "/errors", validToken, "", 400, "X-Version: 2"},
		{"unknown project", "/projects/bbbbbbbbbbbbbbbbbbbbbbbb/errors", validToken, "2", 404, "Not found"},
		{"bad filter", "/projects/" + shopID + "/errors?filters[event.since][][type]=eq&filters[event.since][][value]=soon", validToken, "2", 400, "filters[event.since]"},
		{"unknown organization", "/organizations/bbbbbbbbbbbbbbbbbbbbbbbb/projects", validToken, "2", 404, "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.getWith(tt.path, tt.token, tt.version)
			var eb struct{ Errors []string }
			if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) != 1 {
				t.Fatalf("body %q is not Bugsnag's {\"errors\":[...]}: %v", body, err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(eb.Errors[0], tt.want) {
				t.Errorf("HTTP %d %q, want %d with %q", resp.StatusCode, eb.Errors[0], tt.status, tt.want)
			}
		})
	}
	for _, r := range f.srv.Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Fatal("the request log kept an Authorization header")
		}
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t, nil)
	n := f.notifier(shopKey, "canary")
	for i := range 7 {
		f.clock.Advance(time.Second)
		hash := fmt.Sprintf("error-%d", i)
		mustNotify(t, n.Notify(errors.New(hash), func(e *bugsnag.Event) { e.GroupingHash = hash }))
	}
	query := "per_page=3&filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary"
	next := f.http.URL + "/projects/" + shopID + "/errors?" + query
	var messages []string
	for pages := 0; next != ""; pages++ {
		if pages == 5 {
			t.Fatal("more than 3 pages for 7 errors at 3 a page")
		}
		path := strings.TrimPrefix(next, f.http.URL)
		if path == next {
			t.Fatalf("next link %q is not an absolute URL of this server", next)
		}
		resp, body := f.get(path)
		if got := resp.Header.Get("X-Total-Count"); got != "7" {
			t.Errorf("X-Total-Count %q, want 7", got)
		}
		var page []errorJSON
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			messages = append(messages, e.Message)
		}
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			url, ok := strings.CutSuffix(link, `>; rel="next"`)
			if !ok || !strings.HasPrefix(url, "<") {
				t.Fatalf("Link %q is not <url>; rel=\"next\"", link)
			}
			next = url[1:]
			if !strings.Contains(next, query) {
				t.Errorf("next link %q lost the filters as written", next)
			}
		}
	}
	want := []string{"error-6", "error-5", "error-4", "error-3", "error-2", "error-1", "error-0"}
	if !slices.Equal(messages, want) {
		t.Errorf("pages gave %v, want %v", messages, want)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit = 2 })
	path := "/projects/" + shopID + "/errors"
	for i, want := range []string{"1", "0"} {
		resp, _ := f.get(path)
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != want {
			t.Errorf("request %d: HTTP %d, limit %q, remaining %q", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Remaining"))
		}
	}
	f.clock.Advance(15 * time.Second)
	resp, body := f.get(path)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "45" || !strings.Contains(string(body), `"errors"`) {
		t.Errorf("third request: HTTP %d, Retry-After %q, body %s; want 429, 45", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	f.clock.Advance(45 * time.Second)
	if resp, _ := f.get(path); resp.StatusCode != 200 {
		t.Errorf("after the window: HTTP %d", resp.StatusCode)
	}
	if resp, _ := f.getWith(path, "nope", "2"); resp.StatusCode != 401 || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("a bad token is refused before it counts: HTTP %d", resp.StatusCode)
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t, nil)
	path := "/projects/" + shopID + "/errors"
	f.srv.Inject(Fault{Path: "/projects/", Times: 2, Status: 503, Header: http.Header{"Retry-After": {"7"}}, Body: `{"errors":["down"]}`})
	f.srv.Inject(Fault{Path: "/projects/", Status: 200, Body: GarbageBody, Header: http.Header{"Content-Type": {"text/html"}}})
	f.srv.Inject(Fault{Path: "/projects/", Status: 200, Body: WrongShapeBody})
	f.srv.Inject(Fault{Path: "/projects/", Delay: 50 * time.Millisecond})
	f.srv.Inject(Fault{Path: "/notify", Status: 500})

	for i := range 2 {
		resp, body := f.get(path)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" || string(body) != `{"errors":["down"]}` {
			t.Errorf("request %d: HTTP %d %s", i, resp.StatusCode, body)
		}
	}
	if resp, body := f.get(path); resp.StatusCode != 200 || string(body) != GarbageBody || resp.Header.Get("Content-Type") != "text/html" {
		t.Errorf("garbage: HTTP %d %s", resp.StatusCode, body)
	}
	if resp, body := f.get(path); resp.StatusCode != 200 || string(body) != WrongShapeBody {
		t.Errorf("wrong shape: HTTP %d %s", resp.StatusCode, body)
	}
	start := time.Now()
	if resp, body := f.get(path); resp.StatusCode != 200 || string(body) != "[]\n" {
		t.Errorf("delayed: HTTP %d %s, want the real answer", resp.StatusCode, body)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("delayed answer came after %v, want at least 50ms", waited)
	}
	if err := chargeCard(f.notifier(shopKey, "canary"), "u1"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("notify fault: bugsnag-go got %v, want HTTP 500", err)
	}
	if err := chargeCard(f.notifier(shopKey, "canary"), "u1"); err != nil {
		t.Errorf("after its one use the notify fault still applies: %v", err)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxErrors = 3; o.MaxEventsPerError = 4 })
	n := f.notifier(shopKey, "canary")
	for i := range 5 {
		f.clock.Advance(time.Second)
		hash := fmt.Sprintf("error-%d", i)
		mustNotify(t, n.Notify(errors.New(hash), func(e *bugsnag.Event) { e.GroupingHash = hash }))
	}
	for range 6 {
		f.clock.Advance(time.Second)
		mustNotify(t, n.Notify(errors.New("error-4"), func(e *bugsnag.Event) { e.GroupingHash = "error-4" }))
	}
	got := f.listErrors("")
	var messages []string
	for _, e := range got {
		messages = append(messages, e.Message)
	}
	if !slices.Equal(messages, []string{"error-4", "error-3", "error-2"}) {
		t.Errorf("kept %v, want the 3 most recently seen", messages)
	}
	if got[0].Events != 4 {
		t.Errorf("error-4 keeps %d events, want the newest 4", got[0].Events)
	}
	if want := testNow.Add(5 * time.Second).Format(timeFormat); got[0].FirstSeenUnfiltered != want {
		t.Errorf("first_seen_unfiltered %s, want %s: forgetting events forgets no history", got[0].FirstSeenUnfiltered, want)
	}
	for range requestLogSize + 5 {
		f.get("/user/organizations")
	}
	if n := len(f.srv.Requests()); n != requestLogSize {
		t.Errorf("request log holds %d, want %d", n, requestLogSize)
	}
}

func TestOrganizationsAndProjects(t *testing.T) {
	f := newFixture(t, nil)
	mustNotify(t, chargeCard(f.notifier(shopKey, "canary"), "u1"))
	_, body := f.get("/user/organizations")
	var orgs []struct{ ID, Name string }
	if err := json.Unmarshal(body, &orgs); err != nil || len(orgs) != 1 || orgs[0].Name != "roost" {
		t.Fatalf("organizations: %s (%v)", body, err)
	}
	_, body = f.get("/organizations/" + orgs[0].ID + "/projects")
	var projects []projectJSON
	if err := json.Unmarshal(body, &projects); err != nil || len(projects) != 2 {
		t.Fatalf("projects: %s (%v)", body, err)
	}
	shop := projects[0]
	if shop.ID != shopID || shop.Slug != "shop" || shop.APIKey != shopKey || shop.OpenErrorCount != 1 || !slices.Equal(shop.ReleaseStages, []string{"canary"}) {
		t.Errorf("shop project: %+v", shop)
	}
}

func TestNewRefusesMalformedProjects(t *testing.T) {
	for _, p := range []Project{
		{ID: "shop", Name: "Shop", APIKey: shopKey},
		{ID: shopID, Name: "Shop", APIKey: "short"},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, `project "Shop"`) || strings.Contains(msg, shopKey) {
					t.Errorf("panic %q should name the project and not its key", msg)
				}
			}()
			New(Options{Projects: []Project{p}})
		}()
	}
}

// TestProjectAndLatestEvent: a project names its dashboard (html_url) and
// an error's latest event carries the report bugsnag-go sent: the full
// message, the release stage and version, the stack with the project's own
// frames marked.
func TestProjectAndLatestEvent(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DashboardURL = "https://bugsnag.example/" })
	canary, stable := f.notifier(shopKey, "canary"), f.notifier(shopKey, "stable")
	mustNotify(t, chargeCard(stable, "u-stable"))
	f.clock.Advance(time.Minute)
	mustNotify(t, chargeCard(canary, "u1"))

	resp, body := f.get("/projects/" + shopID)
	var p projectJSON
	if err := json.Unmarshal(body, &p); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET /projects/%s: HTTP %d %s (%v)", shopID, resp.StatusCode, body, err)
	}
	if p.HTMLURL != "https://bugsnag.example/roost/shop" || p.URL != f.http.URL+"/projects/"+shopID || p.ErrorsURL != p.URL+"/errors" {
		t.Errorf("project addresses: html_url %q, url %q, errors_url %q", p.HTMLURL, p.URL, p.ErrorsURL)
	}
	if p.ID != shopID || p.Slug != "shop" || !slices.Equal(p.ReleaseStages, []string{"canary", "stable"}) {
		t.Errorf("project: %+v", p)
	}
	if resp, _ := f.get("/projects/" + strings.Repeat("0", 24)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown project: HTTP %d, want 404", resp.StatusCode)
	}

	errs := f.listErrors("")
	if len(errs) != 1 {
		t.Fatalf("%d errors, want the one checkout error", len(errs))
	}
	resp, body = f.get("/errors/" + errs[0].ID + "/latest_event")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("latest event: HTTP %d: %s", resp.StatusCode, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("latest event: %v: %s", err, body)
	}
	for _, k := range []string{"id", "url", "project_url", "error_id", "received_at", "exceptions", "app", "context", "severity", "unhandled"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the event has no %s: %s", k, body)
		}
	}
	var ev eventJSON
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ErrorID != errs[0].ID || ev.App.ReleaseStage != "canary" || ev.App.Version != "1.4.2" || ev.Context != "POST /checkout" || ev.Severity != "error" {
		t.Errorf("latest event: %+v, want the canary's (version 1.4.2, POST /checkout)", ev)
	}
	if want := testNow.Add(time.Minute).Format(timeFormat); ev.ReceivedAt != want {
		t.Errorf("received_at %s, want %s", ev.ReceivedAt, want)
	}
	if len(ev.Exceptions) != 1 || ev.Exceptions[0].ErrorClass != "*bugsnagserver.declinedError" || ev.Exceptions[0].Message != "card visa declined" {
		t.Fatalf("exceptions: %+v", ev.Exceptions)
	}
	frames := ev.Exceptions[0].Stacktrace
	i := slices.IndexFunc(frames, func(f stackFrame) bool { return f.InProject })
	if i < 0 {
		t.Fatalf("no in-project frame among %+v", frames)
	}
	if top := frames[i]; !strings.HasSuffix(top.File, "server_test.go") || top.Method != "chargeCard" || top.LineNumber == 0 {
		t.Errorf("top in-project frame %+v, want chargeCard in server_test.go", top)
	}
	if !strings.Contains(string(body), `"lineNumber":`) || !strings.Contains(string(body), `"inProject":`) {
		t.Errorf("frames are not in the report's camelCase: %s", body)
	}

	// The next event is the latest, with its own id.
	f.clock.Advance(time.Second)
	mustNotify(t, chargeCard(stable, "u2"))
	_, body = f.get("/errors/" + errs[0].ID + "/latest_event")
	var next eventJSON
	if err := json.Unmarshal(body, &next); err != nil || next.ID == ev.ID || next.App.ReleaseStage != "stable" {
		t.Errorf("after a stable event: %s (%v), want a new stable event", body, err)
	}
	if resp, body := f.get("/errors/" + strings.Repeat("0", 24) + "/latest_event"); resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"errors"`) {
		t.Errorf("an unknown error: HTTP %d %s, want 404 with Bugsnag's error body", resp.StatusCode, body)
	}
	if resp, _ := f.getWith("/errors/"+errs[0].ID+"/latest_event", "wrong", "2"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: HTTP %d, want 401", resp.StatusCode)
	}
}
