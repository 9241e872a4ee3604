package metrics

// The two sources the poller is handed, what they are asked, and how they fail.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MetricQuery is one grouped query of one metric of one rollout: a single
// request that returns the canary and the stable side together, told apart by
// the values of TagKey.
type MetricQuery struct {
	// ID, Name, Unit and HigherIsWorse are copied into the Metric.
	ID            string
	Name          string
	Unit          string
	HigherIsWorse bool
	// Queries are the rendered Datadog queries, each grouped by TagKey, and
	// Formula combines them by name ("errors / hits"); an empty Formula means
	// the one query alone. The v2 API sends them as they are (queries plus a
	// formula); the v1 API sends the formula with each name replaced by its
	// query in parentheses. Either way it is one request.
	Queries []NamedQuery
	Formula string
	// TagKey is the tag that splits the groups (default kube_role); a group
	// whose tags hold TagKey:CanaryValue is the canary, TagKey:StableValue stable.
	TagKey      string
	CanaryValue string
	StableValue string
	// Scale multiplies every value (100 turns a fraction into a percentage).
	Scale float64
	// PerPod divides each side by its ready pods once the answer is in
	// (the poller does it; a MetricSource ignores it).
	PerPod bool
	// From and To bound the window.
	From, To time.Time
}

// NamedQuery is one query of a formula.
type NamedQuery struct {
	// Name is how Formula refers to it: a lower-case identifier.
	Name string
	// Query is e.g. "sum:trace.http.request.errors{service:web,env:prod} by {kube_role}.as_count()".
	Query string
}

// MetricSource runs metric queries (metrics/datadog).
type MetricSource interface {
	// QueryMetric sends exactly one request for q. It returns the metric with
	// both sides filled in (a side without a group has Found false), or an
	// error; a *SourceError when the service refused, failed or could not be
	// reached, which says whether and when to retry.
	QueryMetric(ctx context.Context, q MetricQuery) (Metric, error)
}

// ErrorQuery asks for the errors of one canary.
type ErrorQuery struct {
	// Project is the Bugsnag project id.
	Project string
	// CanaryStage and StableStage are the release stages of the two sides
	// (default "canary" and "stable").
	CanaryStage string
	StableStage string
	// Since is when the canary started: only its errors count.
	Since time.Time
}

// ErrorSource lists the errors a canary threw (metrics/bugsnag).
type ErrorSource interface {
	// CanaryErrors returns the errors of q.CanaryStage since q.Since, each with
	// New set when q.StableStage never saw it, most recently seen first. Its
	// errors are *SourceError like MetricSource's.
	CanaryErrors(ctx context.Context, q ErrorQuery) ([]Error, error)
}

// SourceError is a failed call to Datadog or Bugsnag, said so that a person
// knows what happened and what to do, and so that the poller knows when to try
// again. It never holds a key or a token.
type SourceError struct {
	// Source is "Datadog" or "Bugsnag".
	Source string
	// Status is the HTTP status, 0 when no response came (timeout, refused).
	Status int
	// Reason is one line for the screen, without the wait (RetryAfter says
	// it, and the screen counts it down): "rate limited (429)",
	// "forbidden (403): the application key lacks the timeseries_query scope",
	// "timed out after 10s", "unexpected response: no series field".
	Reason string
	// RetryAfter is how long to wait before calling again (from
	// X-RateLimit-Reset or Retry-After, or a backoff); 0 means the next
	// interval.
	RetryAfter time.Duration
	// Global is set when the wait is the service's for every caller (a
	// 429, a rate limit used up, Datadog failing on several queries),
	// not this call's alone: the poller then holds back every rollout.
	Global bool
	// Permanent is set when retrying cannot help until the configuration
	// changes (401, 403, 404, a bad query): the poller keeps its interval but
	// the screen says what to fix.
	Permanent bool
	// Err is the underlying error, for logs.
	Err error
}

func (e *SourceError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: HTTP %d: %s", e.Source, e.Status, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Reason)
}

func (e *SourceError) Unwrap() error { return e.Err }

// AsSourceError returns err as a *SourceError, if it is one.
func AsSourceError(err error) (*SourceError, bool) {
	var se *SourceError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}
