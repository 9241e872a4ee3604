package bugsnag

// One error's latest event (GET /errors/{id}/latest_event, the Data Access
// API's viewLatestEventOnError), and the dashboard's addresses, built on the
// html_url of the project (GET /projects/{id}).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roost-dev/roost/metrics"
)

// LatestEvent reads the latest event of error errorID of q's project: the
// full message, the release stage and the stack. It implements
// metrics.ErrorDetailSource; its errors are *metrics.SourceError.
func (c *Client) LatestEvent(ctx context.Context, q metrics.ErrorQuery, errorID string) (metrics.ErrorDetail, error) {
	if !projectPattern.MatchString(errorID) {
		return metrics.ErrorDetail{}, &metrics.SourceError{Source: source, Permanent: true, Reason: fmt.Sprintf("%q is not a Bugsnag error id", errorID)}
	}
	limit := c.timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = time.Until(d).Round(10 * time.Millisecond)
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, _, err := c.get(callCtx, c.base.JoinPath("errors", errorID, "latest_event"), q.Project, limit)
	if err != nil {
		if se, ok := metrics.AsSourceError(err); ok && se.Status == http.StatusNotFound {
			se.Reason = fmt.Sprintf("Bugsnag has no event of error %s for this auth token (404): the error may have been deleted, or its events discarded", errorID)
		}
		return metrics.ErrorDetail{}, err
	}
	d, err := decodeEvent(body)
	if err != nil {
		return metrics.ErrorDetail{}, c.scrub(&metrics.SourceError{Source: source, Status: http.StatusOK, Reason: "unexpected response from Bugsnag: " + err.Error(), Err: err})
	}
	if d.ErrorID == "" {
		d.ErrorID = errorID
	}
	if q.Project != "" {
		if dash := c.dashboard(callCtx, q.Project, limit); dash != "" {
			d.URL = dash + "/errors/" + url.PathEscape(errorID) + "?event_id=" + url.QueryEscape(d.EventID)
		}
	}
	return d, nil
}

// ErrorsURL is the dashboard's list of q's errors: the canary stage's since
// the canary started. "" until Bugsnag said where the project's dashboard is
// (CanaryErrors asks, once, when the canary has errors). It implements
// metrics.ErrorDashboard.
func (c *Client) ErrorsURL(q metrics.ErrorQuery) string {
	c.mu.Lock()
	dash := c.dashboards[q.Project]
	c.mu.Unlock()
	if dash == "" {
		return ""
	}
	return dash + "/errors?" + stageFilters(stageOr(q.CanaryStage, defaultCanaryStage), q.Since)
}

func stageOr(stage, def string) string {
	if stage == "" {
		return def
	}
	return stage
}

// errorURL is one error in the dashboard, showing stage's events since since.
func errorURL(dashboard, id, stage string, since time.Time) string {
	return dashboard + "/errors/" + url.PathEscape(id) + "?" + stageFilters(stage, since)
}

// dashboard is project's address in Bugsnag's dashboard, its html_url, asked
// of Bugsnag once and kept; "" when Bugsnag would not say (it is asked again
// next time). Links are a convenience: failing to find one fails nothing.
func (c *Client) dashboard(ctx context.Context, project string, limit time.Duration) string {
	c.mu.Lock()
	dash, ok := c.dashboards[project]
	c.mu.Unlock()
	if ok {
		return dash
	}
	body, _, err := c.get(ctx, c.base.JoinPath("projects", project), project, limit)
	if err != nil {
		return ""
	}
	var p struct {
		HTMLURL string `json:"html_url"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	u, err := url.Parse(p.HTMLURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	dash = strings.TrimSuffix(u.String(), "/")
	c.mu.Lock()
	c.dashboards[project] = dash
	c.mu.Unlock()
	return dash
}

// eventItem is the part of Bugsnag's Event resource roost reads. The fields
// Bugsnag adds are snake_case; the report's own (exceptions, app) keep the
// notifier's camelCase.
type eventItem struct {
	ID         string    `json:"id"`
	ErrorID    string    `json:"error_id"`
	ReceivedAt time.Time `json:"received_at"`
	Context    string    `json:"context"`
	Severity   string    `json:"severity"`
	Unhandled  bool      `json:"unhandled"`
	App        struct {
		ReleaseStage string `json:"releaseStage"`
		Version      string `json:"version"`
	} `json:"app"`
	Exceptions *[]struct {
		ErrorClass string `json:"errorClass"`
		Message    string `json:"message"`
		Stacktrace []struct {
			File       string     `json:"file"`
			LineNumber lineNumber `json:"lineNumber"`
			Method     string     `json:"method"`
			InProject  bool       `json:"inProject"`
		} `json:"stacktrace"`
	} `json:"exceptions"`
}

// lineNumber is a frame's line: a JSON number, or a number in a string as
// some notifiers send it.
type lineNumber int

func (l *lineNumber) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*l = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("line number %s is not a number", b)
	}
	*l = lineNumber(n)
	return nil
}

// decodeEvent reads an event. Anything but a JSON object with an id and a
// list of exceptions is an error: an answer roost cannot read must not show
// as an event without a stack.
func decodeEvent(body []byte) (metrics.ErrorDetail, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return metrics.ErrorDetail{}, fmt.Errorf("not a JSON event (%s)", snippet(trimmed))
	}
	var ev eventItem
	if err := json.Unmarshal(trimmed, &ev); err != nil {
		return metrics.ErrorDetail{}, fmt.Errorf("cannot read the event: %v", err)
	}
	switch {
	case ev.ID == "":
		return metrics.ErrorDetail{}, fmt.Errorf("the event has no id")
	case ev.Exceptions == nil:
		return metrics.ErrorDetail{}, fmt.Errorf("the event has no exceptions")
	}
	d := metrics.ErrorDetail{
		ErrorID: ev.ErrorID, EventID: ev.ID, ReceivedAt: ev.ReceivedAt,
		ReleaseStage: ev.App.ReleaseStage, AppVersion: ev.App.Version,
		Context: ev.Context, Severity: ev.Severity, Unhandled: ev.Unhandled,
		Exceptions: []metrics.Exception{},
	}
	for _, x := range *ev.Exceptions {
		e := metrics.Exception{Class: x.ErrorClass, Message: x.Message}
		for _, f := range x.Stacktrace {
			e.Frames = append(e.Frames, metrics.Frame{File: f.File, Line: int(f.LineNumber), Method: f.Method, InProject: f.InProject})
		}
		d.Exceptions = append(d.Exceptions, e)
	}
	return d, nil
}
