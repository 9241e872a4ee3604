package bugsnag

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestErrorsQuery(t *testing.T) {
	tests := []struct {
		perPage int
		stage   string
		since   time.Time
		want    string
	}{
		{
			perPage: 100, stage: "canary", since: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			want: "sort=last_seen&direction=desc&per_page=100" +
				"&filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary" +
				"&filters[event.since][][type]=eq&filters[event.since][][value]=2026-12-01T10:00:00Z",
		},
		{
			// A time in another zone is sent in UTC, without its fraction.
			perPage: 2, stage: "pre prod+1", since: time.Date(2026, 12, 1, 11, 0, 0, 5e8, time.FixedZone("CET", 3600)),
			want: "sort=last_seen&direction=desc&per_page=2" +
				"&filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=pre%20prod%2B1" +
				"&filters[event.since][][type]=eq&filters[event.since][][value]=2026-12-01T10:00:00Z",
		},
	}
	for _, tt := range tests {
		if got := errorsQuery(tt.perPage, tt.stage, tt.since); got != tt.want {
			t.Errorf("errorsQuery(%d, %q, %v)\n got %s\nwant %s", tt.perPage, tt.stage, tt.since, got, tt.want)
		}
	}
}

func TestQueryEscape(t *testing.T) {
	for in, want := range map[string]string{
		"canary":               "canary",
		"2026-12-01T10:00:00Z": "2026-12-01T10:00:00Z",
		"a b&c=d#e":            "a%20b%26c%3Dd%23e",
		"café":                 "caf%C3%A9",
		"x+y/z~_.":             "x%2By%2Fz~_.",
	} {
		if got := queryEscape(in); got != want {
			t.Errorf("queryEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodePage(t *testing.T) {
	good := `[{"id":"5f1e2d3c4b5a69788796a5b4","error_class":"E","message":"m","events":3,"users":2,` +
		`"first_seen":"2026-12-01T11:00:00.000Z","last_seen":"2026-12-01T11:30:00+00:00","release_stages":["canary"]}]`
	items, err := decodePage([]byte(" " + good + "\n"))
	if err != nil {
		t.Fatalf("decodePage: %v", err)
	}
	if len(items) != 1 || *items[0].Events != 3 || !items[0].LastSeen.Equal(time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC)) {
		t.Errorf("decoded %+v", items)
	}
	if items, err := decodePage([]byte("[]")); err != nil || len(items) != 0 {
		t.Errorf("an empty list: %v, %v", items, err)
	}

	tests := []struct {
		name, body, want string
	}{
		{"html", "<html><body>502 Bad Gateway</body></html>", `not a JSON list of errors ("<html><body>502 Bad Gateway</body></html...")`},
		{"empty", "", "not a JSON list of errors (an empty body)"},
		{"null", "null", "not a JSON list of errors"},
		{"an object", `{"errors":[]}`, "not a JSON list of errors"},
		{"truncated", `[{"id":"a"`, "cannot read the list of errors"},
		{"numbers", `[1,2]`, "an error of the list is a JSON number"},
		{"id of the wrong type", `[{"id":5,"events":1,"release_stages":[]}]`, "field id of an error is a JSON number"},
		{"no id", `[{"error_class":"E","events":1,"release_stages":[]}]`, "error #1 of the page has no id"},
		{"no counts or stages", `[{"id":"a"}]`, "error #1 of the page has no events, release_stages"},
		{"null stages", `[{"id":"a","events":1,"release_stages":null}]`, "has no release_stages"},
		{"bad time", `[{"id":"a","events":1,"release_stages":[],"last_seen":"yesterday"}]`, "cannot read the list of errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodePage([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	const project = "5f1e2d3c4b5a69788796a5b4"
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		permanent bool
		retry     time.Duration
		reason    string
	}{
		{"bad query", 400, nil, `{"errors":["filters[event.since]: bad time"]}`, true, 0, "Bugsnag refused the query (400): filters[event.since]: bad time"},
		{"bad query, not Bugsnag's body", 400, nil, `Bad Request`, true, 0, `refused the query (400): "Bad Request"`},
		{"bad token", 401, nil, `{"errors":["Unauthorized"]}`, true, 0, "the auth token is wrong or expired (401): make a personal auth token in Bugsnag under Settings > My account > Personal auth tokens"},
		{"forbidden", 403, nil, ``, true, 0, "forbidden (403): the auth token's user may not read project " + project},
		{"unknown project", 404, nil, ``, true, 0, "no project " + project + " for this auth token (404): check the project id"},
		{"rate limited", 429, http.Header{"Retry-After": {"40"}}, ``, false, 40 * time.Second, "rate limited (429)"},
		{"rate limited until a date", 429, http.Header{"Retry-After": {testNow.Add(90 * time.Second).Format(http.TimeFormat)}}, ``, false, 90 * time.Second, "rate limited (429)"},
		{"rate limited, no Retry-After", 429, nil, ``, false, time.Minute, "rate limited (429)"},
		{"rate limited, unreadable Retry-After", 429, http.Header{"Retry-After": {"soon"}}, ``, false, time.Minute, "rate limited (429)"},
		{"failing", 500, nil, `oops`, false, 0, "Bugsnag failed (500)"},
		{"unavailable for a while", 503, http.Header{"Retry-After": {"7"}}, ``, false, 7 * time.Second, "Bugsnag failed (503)"},
		{"a redirect not followed", 302, nil, ``, false, 0, "unexpected response from Bugsnag: HTTP 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := statusError(tt.status, tt.header, []byte(tt.body), project, testNow)
			if e.Source != "Bugsnag" || e.Status != tt.status || e.Permanent != tt.permanent || e.RetryAfter != tt.retry || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("got %+v\nwant status %d, permanent %v, retry %v, reason containing %q", e, tt.status, tt.permanent, tt.retry, tt.reason)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 12 ", 12 * time.Second, true},
		{"-3", 0, true},
		{testNow.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{testNow.Add(2 * time.Hour).Format(http.TimeFormat), 2 * time.Hour, true},
		{"later", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.v, testNow)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"Bugsnag's", []string{`<https://api.bugsnag.com/projects/p/errors?offset=30&per_page=30>; rel="next"`}, "https://api.bugsnag.com/projects/p/errors?offset=30&per_page=30"},
		{"among others", []string{`<https://x/a?offset=0>; rel="prev", <https://x/a?offset=60>; rel="next"`}, "https://x/a?offset=60"},
		{"in a second header value", []string{`<https://x/first>; rel="first"`, `<https://x/next>; rel=next`}, "https://x/next"},
		{"several rel types", []string{`<https://x/n>; title="page 2"; rel="last next"`}, "https://x/n"},
		{"a comma in the address", []string{`<https://x/a?v=1,2>; rel="next"`}, "https://x/a?v=1,2"},
		{"only other rels", []string{`<https://x/p>; rel="prev"`}, ""},
		{"malformed", []string{`<https://x/p; rel="next"`}, ""},
	}
	for _, tt := range tests {
		if got := nextLink(tt.values); got != tt.want {
			t.Errorf("%s: nextLink = %q, want %q", tt.name, got, tt.want)
		}
	}
}
