package analysis

import (
	"context"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Provider takes measurements for one kind of metric provider (Datadog,
// web). The run loop calls it with the metric's {{args.NAME}} already
// substituted; it never evaluates conditions itself: it says what it read,
// and the loop judges that with the metric's conditions.
type Provider interface {
	// Measure takes one measurement of m for run at now. It must return
	// within ctx; it never panics on a bad answer (that is an Err).
	Measure(ctx context.Context, run *v1alpha1.AnalysisRun, m v1alpha1.Metric, now time.Time) Reading
}

// Reading is what a provider read for one measurement.
type Reading struct {
	// Result is what the metric's conditions see as `result`: a float64,
	// a []float64 (a grouped query: one value per group), or any JSON value
	// (web). nil means the provider answered without data.
	Result any
	// Value is the result as text, as it is stored in the measurement: a
	// number ("0.0123"), or JSON ("[]", "[null]", "[0.1,0.2]").
	Value string
	// Metadata is kept on the measurement (e.g. the groups of a grouped
	// query). Never secrets.
	Metadata map[string]string
	// Err is a failed measurement: the request failed, the answer was an
	// error or could not be read. The measurement is an Error with Err's
	// text as its message; it names what failed and what to do.
	Err error
	// RetryAfter, when set, says the provider did not measure at all
	// because the service asked it to wait (429, X-RateLimit-*) or roost's
	// own call budget is spent: the measurement is neither counted nor an
	// Error, and is taken again after RetryAfter. Reason says why.
	RetryAfter time.Duration
	Reason     string
}

// Providers picks the provider of a metric. A nil entry means roost was
// started without it: a metric that needs it is an Error that says how to
// configure it.
type Providers struct {
	Datadog Provider
	Web     Provider
}

// For returns the provider of m, or nil and what is missing.
func (p Providers) For(m *v1alpha1.Metric) (Provider, string) {
	switch {
	case m.Provider.Datadog != nil:
		if p.Datadog == nil {
			return nil, "roost runs without a Datadog provider; start it with Datadog credentials (the Secret \"datadog\" in roost's namespace, DD_API_KEY/DD_APP_KEY, or datadog.secret in the configuration)"
		}
		return p.Datadog, ""
	case m.Provider.Web != nil:
		if p.Web == nil {
			return nil, "roost runs without the web provider"
		}
		return p.Web, ""
	}
	return nil, "the metric names no provider roost measures with; use datadog or web"
}
