package analysis

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestDryRunAndRetention(t *testing.T) {
	metrics := []v1alpha1.Metric{{Name: "error-rate"}, {Name: "latency-p95"}, {Name: "latency-p99"}}
	for _, tt := range []struct {
		name  string
		rules []v1alpha1.DryRun
		want  map[string]bool
	}{
		{"none", nil, map[string]bool{}},
		{"every metric", []v1alpha1.DryRun{{MetricName: ".*"}}, map[string]bool{"error-rate": true, "latency-p95": true, "latency-p99": true}},
		{"unanchored, as Argo matches", []v1alpha1.DryRun{{MetricName: "latency"}}, map[string]bool{"latency-p95": true, "latency-p99": true}},
		{"anchored by the rule itself", []v1alpha1.DryRun{{MetricName: "^error-rate$"}}, map[string]bool{"error-rate": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DryRunMetrics(metrics, tt.rules)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DryRunMetrics = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := DryRunMetrics(metrics, []v1alpha1.DryRun{{MetricName: "("}}); err == nil {
		t.Errorf("a rule that is no regexp was taken")
	}

	limits, err := RetentionLimits(metrics, []v1alpha1.MeasurementRetention{{MetricName: "latency", Limit: 20}, {MetricName: "p99", Limit: 50}, {MetricName: ".*", Limit: 0}})
	want := map[string]int32{"error-rate": 10, "latency-p95": 20, "latency-p99": 50}
	if err != nil || !reflect.DeepEqual(limits, want) {
		t.Errorf("RetentionLimits = %v, %v; want %v", limits, err, want)
	}
}

func TestTrim(t *testing.T) {
	r := v1alpha1.MetricResult{Count: 12}
	for i := range 12 {
		r.Measurements = append(r.Measurements, v1alpha1.Measurement{Phase: successful, Value: string(rune('a' + i)), FinishedAt: &metav1.Time{Time: time.Unix(int64(i), 0)}})
	}
	Trim(&r, 10)
	if len(r.Measurements) != 10 || r.Measurements[0].Value != "c" || r.Measurements[9].Value != "l" || r.Count != 12 {
		t.Errorf("after Trim(10): %d measurements from %q to %q, count %d", len(r.Measurements), r.Measurements[0].Value, r.Measurements[len(r.Measurements)-1].Value, r.Count)
	}
	Trim(&r, 20)
	if len(r.Measurements) != 10 {
		t.Errorf("Trim above the length dropped measurements")
	}
}
