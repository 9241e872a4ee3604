package analysis

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestResolveArgs(t *testing.T) {
	m := v1alpha1.Metric{
		Name:             "error-rate",
		Interval:         "{{args.interval}}",
		Count:            ptr.To(intstr.FromString("{{ args.count }}")),
		SuccessCondition: "default(result, 0) < {{args.max}}",
		Provider: v1alpha1.MetricProvider{Datadog: &v1alpha1.DatadogMetric{
			APIVersion: "v2",
			Queries: map[string]string{
				"errors": "sum:trace.http.request.errors{service:{{args.service}},kube_role:canary}.as_count()",
				"hits":   "sum:trace.http.request.hits{service:{{args.service}},kube_role:canary}.as_count()",
			},
			Formula: "errors / hits",
		}},
	}
	values := map[string]string{"interval": "1m", "count": "5", "max": "0.05", "service": "checkout"}
	got, err := ResolveArgs(m, values)
	if err != nil {
		t.Fatal(err)
	}
	if got.Interval != "1m" || got.SuccessCondition != "default(result, 0) < 0.05" {
		t.Errorf("interval %q, condition %q", got.Interval, got.SuccessCondition)
	}
	if n, bounded, err := got.EffectiveCount(); err != nil || !bounded || n != 5 {
		t.Errorf("count = %d %v %v, want 5", n, bounded, err)
	}
	if q := got.Provider.Datadog.Queries["errors"]; q != "sum:trace.http.request.errors{service:checkout,kube_role:canary}.as_count()" {
		t.Errorf("query %q", q)
	}
	if m.Interval != "{{args.interval}}" {
		t.Errorf("ResolveArgs changed the template's own metric")
	}

	// A value with a quote stays inside its string.
	got, err = ResolveArgs(v1alpha1.Metric{Name: "q", SuccessCondition: `result == "{{args.v}}"`}, map[string]string{"v": `a"b\c`})
	if err != nil || got.SuccessCondition != `result == "a"b\c"` {
		t.Errorf("escaped value: %q, %v", got.SuccessCondition, err)
	}

	for _, tt := range []struct {
		name   string
		metric v1alpha1.Metric
		errHas string
	}{
		{"an argument the run lacks", v1alpha1.Metric{Name: "a", SuccessCondition: "result < {{args.missing}}"}, `metric "a": failed to resolve {{args.missing}}`},
		{"a tag that is not an argument", v1alpha1.Metric{Name: "b", SuccessCondition: "result < {{inputs.max}}"}, "failed to resolve {{inputs.max}}"},
		{"a count that is not a number after substitution", v1alpha1.Metric{Name: "c", Count: ptr.To(intstr.FromString("{{args.service}}"))}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveArgs(tt.metric, values)
			if tt.errHas == "" {
				// Substitution succeeds; the limit's own reading refuses it.
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := got.EffectiveCount(); err == nil {
					t.Errorf("count %v was read as a number", got.Count)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %v does not say %q", err, tt.errHas)
			}
		})
	}
}
