package bugsnag

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-dev/roost/internal/bugsnagserver"
	"github.com/roost-dev/roost/metrics"
)

// TestLinksAndLatestEvent: over HTTP against the in-repo Bugsnag, the canary's
// errors link to the dashboard (the project's html_url, asked once), and an
// error's latest event carries the full message, the stage and the stack.
func TestLinksAndLatestEvent(t *testing.T) {
	w := newWorld(t, func(o *bugsnagserver.Options) { o.DashboardURL = "https://app.bugsnag.example" })
	canary := w.pod("canary")
	since := w.clock.Now()
	w.clock.Advance(time.Second)
	must(t, checkout(canary, "u1"))
	w.clock.Advance(time.Second)
	must(t, search(canary, "u2"))

	c := w.client(nil)
	q := metrics.ErrorQuery{Project: projectID, Since: since}
	if got := c.ErrorsURL(q); got != "" {
		t.Errorf("ErrorsURL before Bugsnag described the project: %q, want none", got)
	}
	errs, err := c.CanaryErrors(context.Background(), q)
	if err != nil || len(errs) != 2 {
		t.Fatalf("CanaryErrors: %v, %v", errs, err)
	}
	filters := "filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary" +
		"&filters[event.since][][type]=eq&filters[event.since][][value]=2026-12-01T12:00:00Z"
	for _, e := range errs {
		if want := "https://app.bugsnag.example/roost/shop/errors/" + e.ID + "?" + filters; e.URL != want {
			t.Errorf("%s links to\n%s\nwant\n%s", e.Class, e.URL, want)
		}
	}
	if want := "https://app.bugsnag.example/roost/shop/errors?" + filters; c.ErrorsURL(q) != want {
		t.Errorf("ErrorsURL = %q, want %q", c.ErrorsURL(q), want)
	}
	if _, err := c.CanaryErrors(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	projectCalls := 0
	for _, r := range w.server.Requests() {
		if r.Path == "/projects/"+projectID {
			projectCalls++
		}
	}
	if projectCalls != 1 {
		t.Errorf("the project was asked %d times, want once", projectCalls)
	}

	search := errs[0]
	d, err := c.LatestEvent(context.Background(), q, search.ID)
	if err != nil {
		t.Fatalf("LatestEvent: %v", err)
	}
	if d.ErrorID != search.ID || d.EventID == "" || d.ReleaseStage != "canary" || d.AppVersion != "2.0.0" || d.Context != "GET /search" {
		t.Errorf("detail %+v, want the canary's search event of version 2.0.0", d)
	}
	if !d.ReceivedAt.Equal(since.Add(2 * time.Second)) {
		t.Errorf("received at %v, want %v", d.ReceivedAt, since.Add(2*time.Second))
	}
	if len(d.Exceptions) != 1 || d.Exceptions[0].Class != "bugsnag.timeoutError" || d.Exceptions[0].Message != "search timed out" {
		t.Fatalf("exceptions %+v", d.Exceptions)
	}
	var top *metrics.Frame
	for i, f := range d.Exceptions[0].Frames {
		if f.InProject {
			top = &d.Exceptions[0].Frames[i]
			break
		}
	}
	if top == nil || top.Method != "search" || !strings.HasSuffix(top.File, "client_test.go") || top.Line == 0 {
		t.Errorf("top in-project frame %+v, want search in client_test.go", top)
	}
	if want := "https://app.bugsnag.example/roost/shop/errors/" + search.ID + "?event_id=" + d.EventID; d.URL != want {
		t.Errorf("event link %q, want %q", d.URL, want)
	}
	var asked *bugsnagserver.Request
	for _, r := range w.server.Requests() {
		if strings.HasSuffix(r.Path, "/latest_event") {
			asked = &r
		}
	}
	if asked == nil || asked.Path != "/errors/"+search.ID+"/latest_event" || asked.Header.Get("X-Version") != "2" {
		t.Errorf("latest event request %+v", asked)
	}
}

func TestLatestEventFailures(t *testing.T) {
	w := newWorld(t, func(o *bugsnagserver.Options) { o.RateLimit = 1 })
	c := w.client(nil)
	q := metrics.ErrorQuery{Project: projectID}
	missing := strings.Repeat("a", 24)

	_, err := c.LatestEvent(context.Background(), q, missing)
	checkSourceError(t, nil, err, http.StatusNotFound, true, 0, "no event of error "+missing)
	_, err = c.LatestEvent(context.Background(), q, missing)
	checkSourceError(t, nil, err, http.StatusTooManyRequests, false, time.Minute, "rate limited (429)")
	_, err = c.LatestEvent(context.Background(), q, "../users")
	checkSourceError(t, nil, err, 0, true, 0, "is not a Bugsnag error id")

	w.server.Inject(bugsnagserver.Fault{Path: "/errors/", Body: `[]`, Status: http.StatusOK})
	w.clock.Advance(time.Hour)
	_, err = c.LatestEvent(context.Background(), q, missing)
	checkSourceError(t, nil, err, http.StatusOK, false, 0, "not a JSON event")
}

func TestDecodeEvent(t *testing.T) {
	for _, c := range []struct {
		body string
		want string // a part of the error, "" for none
	}{
		{`{"id":"e1","exceptions":[{"errorClass":"E","message":"m","stacktrace":[{"file":"a.go","lineNumber":"12","method":"f","inProject":true}]}]}`, ""},
		{`{"id":"e1","exceptions":[]}`, ""},
		{`{"id":"e1"}`, "no exceptions"},
		{`{"exceptions":[]}`, "no id"},
		{`{"id":"e1","exceptions":[{"stacktrace":[{"lineNumber":"x"}]}]}`, "not a number"},
		{`<html>`, "not a JSON event"},
	} {
		d, err := decodeEvent([]byte(c.body))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.body, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one saying %q", c.body, err, c.want)
		}
		if err == nil && d.Exceptions == nil {
			t.Errorf("%s: nil exceptions", c.body)
		}
	}
	d, _ := decodeEvent([]byte(`{"id":"e1","exceptions":[{"errorClass":"E","stacktrace":[{"file":"a.go","lineNumber":"12","inProject":true}]}]}`))
	if f := d.Exceptions[0].Frames[0]; f.Line != 12 || !f.InProject || f.File != "a.go" {
		t.Errorf("frame %+v", f)
	}
}
