package metrics

// One error opened on the cockpit's error screen: its latest event, read on
// demand within the calls' bounds and Bugsnag's own rate limit.

import (
	"context"
	"fmt"
	"time"
)

// ErrorDetail is what the latest event of one Bugsnag error says: the full
// message and the stack, which the list of errors does not carry.
type ErrorDetail struct {
	ErrorID string `json:"errorId"`
	EventID string `json:"eventId"`
	// ReceivedAt is when Bugsnag received the event.
	ReceivedAt time.Time `json:"receivedAt,omitzero"`
	// ReleaseStage and AppVersion are the app's when it threw: the latest
	// event may be stable's when stable throws the error too.
	ReleaseStage string `json:"releaseStage,omitempty"`
	AppVersion   string `json:"appVersion,omitempty"`
	Context      string `json:"context,omitempty"`
	Severity     string `json:"severity,omitempty"`
	Unhandled    bool   `json:"unhandled,omitempty"`
	// Exceptions are the event's, the thrown one first, then its causes.
	Exceptions []Exception `json:"exceptions"`
	// URL is the event in Bugsnag's dashboard; "" when its address is not
	// known.
	URL string `json:"url,omitempty"`
}

// Exception is one exception of an event.
type Exception struct {
	Class   string  `json:"errorClass"`
	Message string  `json:"message"`
	Frames  []Frame `json:"stacktrace,omitempty"`
}

// Frame is one line of a stack, innermost first.
type Frame struct {
	File   string `json:"file"`
	Line   int    `json:"lineNumber,omitempty"`
	Method string `json:"method,omitempty"`
	// InProject marks the project's own code, as against a library's.
	InProject bool `json:"inProject,omitempty"`
}

// ErrorDetailSource reads the latest event of one error (metrics/bugsnag).
type ErrorDetailSource interface {
	// LatestEvent returns the latest event of error errorID of q's
	// project. Its errors are *SourceError like ErrorSource's.
	LatestEvent(ctx context.Context, q ErrorQuery, errorID string) (ErrorDetail, error)
}

// ErrorDashboard is an ErrorSource that knows where Bugsnag's dashboard
// shows a query's errors (metrics/bugsnag, once Bugsnag described the
// project); it makes no call.
type ErrorDashboard interface {
	// ErrorsURL is the dashboard's list of q's errors, "" while unknown.
	ErrorsURL(q ErrorQuery) string
}

// ErrorDetail reads the latest event of one error of a rollout the poller
// follows: one call, on demand, within the concurrency bound and the
// timeout of every call, and not while Bugsnag asked every caller to wait (a
// 429 it answers makes the polls wait too).
func (p *Poller) ErrorDetail(ctx context.Context, namespace, name, errorID string) (ErrorDetail, error) {
	src, ok := p.errors.(ErrorDetailSource)
	if !ok {
		off := p.errorsOff
		if off == "" {
			off = "this errors source cannot read events"
		}
		return ErrorDetail{}, &SourceError{Source: "Bugsnag", Permanent: true, Reason: off}
	}
	now := p.clock.Now()
	p.mu.Lock()
	e := p.entries[Key{Namespace: namespace, Name: name}]
	if e == nil {
		p.mu.Unlock()
		return ErrorDetail{}, &SourceError{Source: "Bugsnag", Permanent: true, Reason: fmt.Sprintf("roost no longer follows %s/%s: go back and open the error again", namespace, name)}
	}
	if e.plan.ErrorsOff != "" {
		p.mu.Unlock()
		return ErrorDetail{}, &SourceError{Source: "Bugsnag", Permanent: true, Reason: e.plan.ErrorsOff}
	}
	q := e.plan.Errors
	q.Since = e.target.Since
	h := p.holds[sideErrors]
	p.mu.Unlock()
	if now.Before(h.until) {
		return ErrorDetail{}, &SourceError{Source: "Bugsnag", Reason: h.reason, RetryAfter: h.until.Sub(now)}
	}
	var d ErrorDetail
	err := p.call(ctx, "Bugsnag", nil, func(ctx context.Context) error {
		var err error
		d, err = src.LatestEvent(ctx, q, errorID)
		return err
	})
	if se, ok := AsSourceError(err); ok && !se.Permanent && se.RetryAfter > 0 {
		until := p.clock.Now().Add(se.RetryAfter)
		p.mu.Lock()
		if until.After(p.holds[sideErrors].until) {
			p.holds[sideErrors] = hold{until: until, reason: se.Reason}
		}
		p.mu.Unlock()
	}
	return d, err
}
