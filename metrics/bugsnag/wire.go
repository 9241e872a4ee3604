package bugsnag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/roost-dev/roost/metrics"
)

// defaultRateLimitWait is how long to wait after a 429 without Retry-After:
// Bugsnag's limits are per minute.
const defaultRateLimitWait = time.Minute

// errorsQuery is the query of the first page: the stage's errors with events
// since since, most recently seen first. The filters are written by hand, in
// order, each type beside its value, and with their brackets as they are:
// url.Values.Encode would sort the keys and so part every type from its value.
func errorsQuery(perPage int, stage string, since time.Time) string {
	return strings.Join([]string{
		"sort=last_seen",
		"direction=desc",
		"per_page=" + strconv.Itoa(perPage),
		stageFilters(stage, since),
	}, "&")
}

// stageFilters are the filters of one release stage's events since since
// (any time when since is zero), as the API and the dashboard both read them.
func stageFilters(stage string, since time.Time) string {
	f := []string{
		"filters[app.release_stage][][type]=eq",
		"filters[app.release_stage][][value]=" + queryEscape(stage),
	}
	if !since.IsZero() {
		f = append(f,
			"filters[event.since][][type]=eq",
			"filters[event.since][][value]="+queryEscape(since.UTC().Format(time.RFC3339)))
	}
	return strings.Join(f, "&")
}

// queryEscape percent-encodes all but the unreserved characters and ':',
// which a query may hold as it is (RFC 3986), so that a time reads as one.
func queryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// errorItem is the part of Bugsnag's Error resource roost reads. Pointers
// tell a field that is missing (a wrong-shaped answer) from a zero.
type errorItem struct {
	ID                  string    `json:"id"`
	ErrorClass          string    `json:"error_class"`
	Message             string    `json:"message"`
	Context             string    `json:"context"`
	Severity            string    `json:"severity"`
	Events              *int      `json:"events"`
	Users               *int      `json:"users"`
	FirstSeen           time.Time `json:"first_seen"`
	FirstSeenUnfiltered time.Time `json:"first_seen_unfiltered"`
	LastSeen            time.Time `json:"last_seen"`
	ReleaseStages       *[]string `json:"release_stages"`
}

// toError is the item as roost shows it. The counts and last_seen respect the
// filters (the canary stage since the canary started); first_seen_unfiltered,
// when Bugsnag sends it, is over every stage.
func (it errorItem) toError(stableStage string) metrics.Error {
	first := it.FirstSeenUnfiltered
	if first.IsZero() {
		first = it.FirstSeen
	}
	users := 0
	if it.Users != nil {
		users = *it.Users
	}
	return metrics.Error{
		ID:        it.ID,
		Class:     it.ErrorClass,
		Message:   it.Message,
		Context:   it.Context,
		Severity:  it.Severity,
		Events:    *it.Events,
		Users:     users,
		FirstSeen: first,
		LastSeen:  it.LastSeen,
		New:       !slices.Contains(*it.ReleaseStages, stableStage),
	}
}

// decodePage reads one page of errors. Anything but a JSON list of errors
// with ids, counts and release stages is an error: an answer roost cannot
// read must never show as "no errors".
func decodePage(body []byte) ([]errorItem, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, fmt.Errorf("not a JSON list of errors (%s)", snippet(trimmed))
	}
	var items []errorItem
	if err := json.Unmarshal(trimmed, &items); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "":
			return nil, fmt.Errorf("an error of the list is a JSON %s", typeErr.Value)
		case errors.As(err, &typeErr):
			return nil, fmt.Errorf("field %s of an error is a JSON %s", typeErr.Field, typeErr.Value)
		}
		return nil, fmt.Errorf("cannot read the list of errors: %v", err)
	}
	for i, it := range items {
		var missing []string
		if it.ID == "" {
			missing = append(missing, "id")
		}
		if it.Events == nil {
			missing = append(missing, "events")
		}
		if it.ReleaseStages == nil {
			missing = append(missing, "release_stages")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("error #%d of the page has no %s", i+1, strings.Join(missing, ", "))
		}
	}
	return items, nil
}

// snippet is the start of a body, printable, for a reason on one line.
func snippet(b []byte) string {
	if len(b) == 0 {
		return "an empty body"
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(b))
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "..."
	}
	return strconv.Quote(s)
}

// statusError turns a refusal into what the person at the screen should do
// about it. now reads a Retry-After date.
func statusError(status int, h http.Header, body []byte, project string, now time.Time) *metrics.SourceError {
	e := &metrics.SourceError{Source: source, Status: status}
	switch {
	case status == http.StatusBadRequest:
		e.Permanent = true
		e.Reason = "Bugsnag refused the query (400): " + bodyMessage(body)
	case status == http.StatusUnauthorized:
		e.Permanent = true
		e.Reason = "the auth token is wrong or expired (401): make a personal auth token in Bugsnag under Settings > My account > Personal auth tokens, and set " +
			TokenEnv + " or the " + SecretKey + " key of roost's Bugsnag Secret"
	case status == http.StatusForbidden:
		e.Permanent = true
		e.Reason = fmt.Sprintf("forbidden (403): the auth token's user may not read project %s; ask an admin of its organization for access", project)
	case status == http.StatusNotFound:
		e.Permanent = true
		e.Reason = fmt.Sprintf("no project %s for this auth token (404): check the project id in roost's configuration against the address of the project's settings page, and that the token's user is in its organization", project)
	case status == http.StatusTooManyRequests:
		wait, ok := retryAfter(h.Get("Retry-After"), now)
		if !ok {
			wait = defaultRateLimitWait
		}
		e.RetryAfter, e.Global = wait, true
		e.Reason = "rate limited (429)"
	case status >= 500:
		e.Reason = fmt.Sprintf("Bugsnag failed (%d)", status)
		if wait, ok := retryAfter(h.Get("Retry-After"), now); ok {
			e.RetryAfter, e.Global = wait, true
		}
	default:
		e.Reason = fmt.Sprintf("unexpected response from Bugsnag: HTTP %d", status)
	}
	return e
}

// bodyMessage is the first message of Bugsnag's {"errors":[…]} body, or the
// start of whatever else came.
func bodyMessage(body []byte) string {
	var eb struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &eb) == nil && len(eb.Errors) > 0 {
		return strings.Join(eb.Errors, "; ")
	}
	return snippet(bytes.TrimSpace(body))
}

// retryAfter reads Retry-After: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0).Round(time.Second), true
	}
	return 0, false
}

// nextLink is the target of the rel="next" link of Link header values
// (RFC 8288), or "".
func nextLink(values []string) string {
	for _, v := range values {
		rest := v
		for {
			open := strings.IndexByte(rest, '<')
			if open < 0 {
				break
			}
			end := strings.IndexByte(rest[open:], '>')
			if end < 0 {
				break
			}
			target := rest[open+1 : open+end]
			rest = rest[open+end+1:]
			params := rest
			if i := strings.IndexByte(rest, '<'); i >= 0 {
				params = rest[:i]
			}
			if hasRel(params, "next") {
				return target
			}
		}
	}
	return ""
}

func hasRel(params, rel string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		v = strings.Trim(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(v), ",")), `"`)
		for r := range strings.FieldsSeq(v) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}
