package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults of the analysis API, as Argo Rollouts v1.8 applies them (the
// sections cited are those of facts/argo-analysis-compat.md).
const (
	// DefaultFailureLimit: a metric fails as soon as failed > 0 (§1).
	DefaultFailureLimit = int32(0)
	// FailureLimitOff (-1) turns the failure limit off; the metric then
	// needs consecutiveSuccessLimit > 0 to finish other than Failed (§1, §5).
	FailureLimitOff = int32(-1)
	// DefaultInconclusiveLimit: a metric is Inconclusive as soon as
	// inconclusive > 0 (§1).
	DefaultInconclusiveLimit = int32(0)
	// DefaultConsecutiveErrorLimit: the metric errs when consecutiveError > 4,
	// at the fifth error in a row (§1, utils/defaults/defaults.go:37).
	DefaultConsecutiveErrorLimit = int32(4)
	// DefaultConsecutiveSuccessLimit: 0 turns the rule off (§1).
	DefaultConsecutiveSuccessLimit = int32(0)
	// DefaultMeasurementRetention is how many measurements a metric keeps
	// unless a measurementRetention rule says more (§5, ana.go:27).
	DefaultMeasurementRetention = int32(10)
	// DefaultErrorRetryInterval is the gap after an errored measurement, in
	// place of the metric's interval (§5).
	DefaultErrorRetryInterval = 10 * time.Second

	// DefaultDatadogInterval is the query window (§7, the CRD's default).
	DefaultDatadogInterval = 5 * time.Minute
	// DefaultDatadogAPIVersion is v1 (§7, the CRD's default).
	DefaultDatadogAPIVersion = DatadogAPIv1
	// DefaultDatadogAggregator reduces v2 queries when none is set (§7).
	DefaultDatadogAggregator = DatadogAggregatorLast

	// DefaultWebMethod, DefaultWebTimeoutSeconds and DefaultWebJSONPath are
	// the web provider's (§8).
	DefaultWebMethod         = WebMetricMethodGet
	DefaultWebTimeoutSeconds = int64(10)
	DefaultWebJSONPath       = "{$}"
)

// EffectiveCount is how many measurements the metric takes (§1, at.go:159-169):
// count when it is above 0; otherwise 1 without an interval, and no bound
// (bounded false) with one.
func (m *Metric) EffectiveCount() (count int32, bounded bool, err error) {
	n, err := resolvedInt(m.Count, 0, "count")
	if err != nil {
		return 0, false, err
	}
	if n > 0 {
		return n, true, nil
	}
	if m.Interval == "" {
		return 1, true, nil
	}
	return 0, false, nil
}

// GetFailureLimit is failureLimit, 0 when unset; -1 (FailureLimitOff) turns
// it off. The metric is Failed when failed > the limit.
func (m *Metric) GetFailureLimit() (int32, error) {
	return resolvedInt(m.FailureLimit, DefaultFailureLimit, "failureLimit")
}

// GetInconclusiveLimit is inconclusiveLimit, 0 when unset. The metric is
// Inconclusive when inconclusive > the limit.
func (m *Metric) GetInconclusiveLimit() (int32, error) {
	return resolvedInt(m.InconclusiveLimit, DefaultInconclusiveLimit, "inconclusiveLimit")
}

// GetConsecutiveErrorLimit is consecutiveErrorLimit, 4 when unset. The metric
// is Error when consecutiveError > the limit.
func (m *Metric) GetConsecutiveErrorLimit() (int32, error) {
	return resolvedInt(m.ConsecutiveErrorLimit, DefaultConsecutiveErrorLimit, "consecutiveErrorLimit")
}

// GetConsecutiveSuccessLimit is consecutiveSuccessLimit, 0 (off) when unset.
// The metric is Successful when consecutiveSuccess >= the limit.
func (m *Metric) GetConsecutiveSuccessLimit() (int32, error) {
	return resolvedInt(m.ConsecutiveSuccessLimit, DefaultConsecutiveSuccessLimit, "consecutiveSuccessLimit")
}

// IntervalDuration is the gap between measurements; ok is false without one.
func (m *Metric) IntervalDuration() (d time.Duration, ok bool, err error) {
	return metricDuration(m.Interval)
}

// InitialDelayDuration is the wait before the first measurement; ok is false
// without one.
func (m *Metric) InitialDelayDuration() (d time.Duration, ok bool, err error) {
	return metricDuration(m.InitialDelay)
}

// WindowDuration is the query window, 5m when unset.
func (d *DatadogMetric) WindowDuration() (time.Duration, error) {
	w, ok, err := metricDuration(d.Interval)
	if !ok && err == nil {
		return DefaultDatadogInterval, nil
	}
	return w, err
}

// GetAPIVersion is apiVersion, v1 when unset.
func (d *DatadogMetric) GetAPIVersion() DatadogAPIVersion {
	if d.APIVersion == "" {
		return DefaultDatadogAPIVersion
	}
	return d.APIVersion
}

// GetAggregator is aggregator, last when unset.
func (d *DatadogMetric) GetAggregator() DatadogAggregator {
	if d.Aggregator == "" {
		return DefaultDatadogAggregator
	}
	return d.Aggregator
}

// GetMethod is method, GET when unset.
func (w *WebMetric) GetMethod() WebMetricMethod {
	if w.Method == "" {
		return DefaultWebMethod
	}
	return w.Method
}

// GetTimeout is timeoutSeconds, 10 s when unset.
func (w *WebMetric) GetTimeout() time.Duration {
	if w.TimeoutSeconds <= 0 {
		return time.Duration(DefaultWebTimeoutSeconds) * time.Second
	}
	return time.Duration(w.TimeoutSeconds) * time.Second
}

// GetJSONPath is jsonPath, "{$}" (the whole answer) when unset.
func (w *WebMetric) GetJSONPath() string {
	if w.JSONPath == "" {
		return DefaultWebJSONPath
	}
	return w.JSONPath
}

// metricDuration reads Argo's duration strings ("30s", "5m", "1h"). They are
// Go durations and nothing else: unlike a pause step's duration, a bare
// number is not seconds ("time: missing unit" in Argo Rollouts), so roost
// refuses it too rather than run a template Argo would not.
func metricDuration(s string) (d time.Duration, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	d, err = time.ParseDuration(s)
	if err != nil {
		return 0, true, fmt.Errorf("%q is not a duration; write it as 30s, 5m or 1h", s)
	}
	if d < 0 {
		return 0, true, fmt.Errorf("%q is negative; write it as 30s, 5m or 1h", s)
	}
	return d, true, nil
}

// hasArgs says whether a value holds a {{args.NAME}} placeholder, which the
// analysis substitutes at each measurement: until then it cannot be checked.
func hasArgs(s string) bool {
	return strings.Contains(s, "{{")
}

// resolvedInt reads an int-or-string count or limit once its arguments are
// substituted; def when unset.
func resolvedInt(v *intstr.IntOrString, def int32, name string) (int32, error) {
	if v == nil {
		return def, nil
	}
	n, placeholder, err := parseIntOrArg(v)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s: %w", name, err)
	case placeholder:
		return 0, fmt.Errorf("%s %q holds an argument that was not substituted; resolve the run's arguments first", name, v.StrVal)
	}
	return n, nil
}

// parseIntOrArg reads an int-or-string count or limit: a number, a number
// as a string, or a {{args.NAME}} placeholder (placeholder true, n 0). Unset
// reads as 0.
func parseIntOrArg(v *intstr.IntOrString) (n int32, placeholder bool, err error) {
	switch {
	case v == nil:
		return 0, false, nil
	case v.Type == intstr.Int:
		return v.IntVal, false, nil
	case hasArgs(v.StrVal):
		return 0, true, nil
	}
	i, err := strconv.ParseInt(strings.TrimSpace(v.StrVal), 10, 32)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a whole number; write a number such as 3, or an argument such as \"{{args.limit}}\"", v.StrVal)
	}
	return int32(i), false, nil
}
