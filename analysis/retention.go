package analysis

import (
	"regexp"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// DryRunMetrics names the metrics a run measures without letting them decide:
// those matched by a dryRun rule, a Go regexp matched unanchored as Argo does
// (".*" is every metric). The run's validation has checked that each rule
// compiles and matches some metric.
func DryRunMetrics(metrics []v1alpha1.Metric, rules []v1alpha1.DryRun) (map[string]bool, error) {
	out := map[string]bool{}
	for _, rule := range rules {
		names, err := matching(rule.MetricName, metrics)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			out[n] = true
		}
	}
	return out, nil
}

// RetentionLimits is how many measurements each metric keeps in the run's
// status: DefaultMeasurementRetention, or the limit of the last rule that
// matches it (unanchored, as for dryRun) with a limit above 0.
func RetentionLimits(metrics []v1alpha1.Metric, rules []v1alpha1.MeasurementRetention) (map[string]int32, error) {
	out := make(map[string]int32, len(metrics))
	for _, m := range metrics {
		out[m.Name] = v1alpha1.DefaultMeasurementRetention
	}
	for _, rule := range rules {
		if rule.Limit <= 0 {
			continue
		}
		names, err := matching(rule.MetricName, metrics)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			out[n] = rule.Limit
		}
	}
	return out, nil
}

// matching names the metrics a rule's pattern matches, unanchored.
func matching(pattern string, metrics []v1alpha1.Metric) ([]string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range metrics {
		if re.MatchString(m.Name) {
			names = append(names, m.Name)
		}
	}
	return names, nil
}

// Trim keeps the newest limit measurements of r: the status stays small
// while the counts keep the whole history.
func Trim(r *v1alpha1.MetricResult, limit int32) {
	if n := len(r.Measurements); limit > 0 && n > int(limit) {
		r.Measurements = append([]v1alpha1.Measurement(nil), r.Measurements[n-int(limit):]...)
	}
}
