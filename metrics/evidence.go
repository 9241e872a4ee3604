package metrics

// The evidence of a rollout: what the dashboard and `roost get -o json` read.
// These are plain values: a reader may keep them while the poller moves on.

import (
	"math"
	"time"
)

// Point is one value of a series. Null marks an interval in which Datadog had
// no data (a JSON null in the pointlist): it is not zero.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
	Null  bool      `json:"null,omitempty"`
}

// Series is one side (canary or stable) of one metric over the window.
type Series struct {
	// Found is false when the grouped query returned no group for this side:
	// "no data", which must never be shown as a healthy zero.
	Found  bool    `json:"found"`
	Points []Point `json:"points,omitempty"`
}

// Latest is the newest non-null point, and whether there is one.
func (s Series) Latest() (Point, bool) {
	for i := len(s.Points) - 1; i >= 0; i-- {
		if !s.Points[i].Null && !math.IsNaN(s.Points[i].Value) {
			return s.Points[i], true
		}
	}
	return Point{}, false
}

// Verdict is the judge's word on one metric, canary against stable.
type Verdict string

// Verdicts of one metric.
const (
	// VerdictPass: the canary is within the metric's bounds of stable.
	VerdictPass Verdict = "Pass"
	// VerdictHigh / VerdictLow: the canary is significantly above / below stable
	// (which of the two is bad depends on the metric).
	VerdictHigh Verdict = "High"
	VerdictLow  Verdict = "Low"
	// VerdictNoData: one side or both had no data, or the query failed.
	VerdictNoData Verdict = "NoData"
)

// Metric is one configured metric of one rollout, canary and stable together,
// from one grouped query.
type Metric struct {
	// ID is the metric's key in the configuration ("requests", "error_rate",
	// "latency_p95"); Name is how it is shown ("error rate").
	ID   string `json:"id"`
	Name string `json:"name"`
	// Unit is how values read: "req/s", "%", "ms", or "" for a plain number.
	Unit string `json:"unit,omitempty"`
	// Query is the query as sent, after its template was filled in (in the
	// v1 form: the formula with its queries in place).
	Query string `json:"query"`
	// HigherIsWorse says which direction of the canary is bad (errors,
	// latency: true; request rate: false, where neither is bad by itself).
	HigherIsWorse bool   `json:"higherIsWorse"`
	Canary        Series `json:"canary"`
	Stable        Series `json:"stable"`
	// Verdict is the judge's comparison of the two sides; Reason says why
	// in one line, with the values, the ratio and the test that decided.
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	// Error is set when this metric's query failed; both series are then
	// empty and Verdict is NoData.
	Error string `json:"error,omitempty"`
	// Link is the metric's graph in Datadog's metrics explorer over the
	// window queried (ExplorerURL); "" when the web app's address is not
	// known (Evidence.MetricLinksOff says why).
	Link string `json:"link,omitempty"`
}

// Ratio is the canary's latest value over stable's: 2.0 means the canary has
// twice stable's error rate. ok is false when a side has no value, or stable's
// is zero while the canary's is not (the ratio would be infinite; the latest
// values tell the story then).
func (m Metric) Ratio() (ratio float64, ok bool) {
	c, okC := m.Canary.Latest()
	s, okS := m.Stable.Latest()
	if !okC || !okS {
		return 0, false
	}
	if s.Value == 0 {
		if c.Value == 0 {
			return 1, true
		}
		return 0, false
	}
	return c.Value / s.Value, true
}

// Freshness says how current one source's evidence is.
type Freshness struct {
	// FetchedAt is when the last successful fetch finished; zero when none has.
	FetchedAt time.Time `json:"fetchedAt,omitzero"`
	// Stale is set when the latest attempt failed: what is shown is
	// FetchedAt's data (or nothing), never a fresh healthy value.
	Stale bool `json:"stale,omitempty"`
	// Reason is why it is stale, for a person: "Datadog 429 (rate limit)",
	// "timed out after 10s", "HTTP 403: the application key lacks
	// timeseries_query".
	Reason string `json:"reason,omitempty"`
	// RetryAt is when the next attempt is due, when known.
	RetryAt time.Time `json:"retryAt,omitzero"`
}

// Error is one Bugsnag error seen in the canary release stage since the
// canary started.
type Error struct {
	ID       string `json:"id"`
	Class    string `json:"errorClass"`
	Message  string `json:"message"`
	Context  string `json:"context,omitempty"`
	Severity string `json:"severity,omitempty"`
	// Events and Users count what happened in the canary stage within the window.
	Events int `json:"events"`
	Users  int `json:"users"`
	// FirstSeen and LastSeen are Bugsnag's, over every stage.
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	// New is set when the stable release stage has never seen this error:
	// the canary brought it.
	New bool `json:"new"`
	// URL is the error in Bugsnag's dashboard, showing the canary stage's
	// events; "" until Bugsnag has said where the project's dashboard is.
	URL string `json:"url,omitempty"`
}

// Evidence is what roost knows of one rollout's canary beyond Kubernetes.
type Evidence struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`

	// Metrics are the configured metrics, in configuration order.
	Metrics      []Metric  `json:"metrics,omitempty"`
	MetricsState Freshness `json:"metricsState"`
	// MetricLinksOff says why the metrics have no links to Datadog, when
	// they have none: the API's address is not one of Datadog's sites.
	MetricLinksOff string `json:"metricLinksOff,omitempty"`
	// MetricsOff says why there are no metrics at all, when that is so:
	// "Datadog is not configured: set DD_API_KEY and DD_APP_KEY, or
	// datadog.secret in ~/.config/roost/config.yaml", or "not polled:
	// the rollout is healthy". Empty when metrics are on.
	MetricsOff string `json:"metricsOff,omitempty"`
	// MetricsFrom says where Datadog's keys and address came from: "keys
	// from Secret argo-rollouts/datadog, site datadoghq.eu from DD_SITE".
	MetricsFrom string `json:"metricsFrom,omitempty"`

	Errors      []Error   `json:"errors,omitempty"`
	ErrorsState Freshness `json:"errorsState"`
	// ErrorsURL is the canary stage's errors since the canary started, in
	// Bugsnag's dashboard; "" until Bugsnag has said where it is.
	ErrorsURL string `json:"errorsURL,omitempty"`
	// ErrorsOff is MetricsOff's twin for Bugsnag.
	ErrorsOff string `json:"errorsOff,omitempty"`

	// Score sums the verdicts into one word for the rollout.
	Score Score `json:"score"`
}

// NewErrors counts the error classes new in the canary.
func (e Evidence) NewErrors() int {
	n := 0
	for _, x := range e.Errors {
		if x.New {
			n++
		}
	}
	return n
}

// Score is the verdict of a whole canary from its metrics' verdicts.
type Score string

// Scores of a canary.
const (
	ScorePass     Score = "Pass"
	ScoreMarginal Score = "Marginal"
	ScoreFail     Score = "Fail"
	// ScoreNoData: not enough evidence to say.
	ScoreNoData Score = "NoData"
)

// Headline returns the metric the overview shows for every rollout (the error
// rate by default; see Config.Headline), and whether there is one.
func (e Evidence) Headline(id string) (Metric, bool) {
	for _, m := range e.Metrics {
		if m.ID == id {
			return m, true
		}
	}
	return Metric{}, false
}
