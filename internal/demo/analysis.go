package demo

import (
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
)

// The demo's AnalysisTemplates, in Argo Rollouts' exact shape: Datadog
// metrics over the canary's own pods (kube_role:canary), read from the
// demo's Datadog, which the same synthetic traffic feeds as the cockpit's
// metrics. Every template takes the service's name as the argument
// "service".
const (
	// TemplateCanaryHealth gates a step: the canary's error rate under 3 %
	// and its p95 latency under 400 ms, three measurements 10 s apart.
	TemplateCanaryHealth = "canary-health"
	// TemplateErrorRate watches a canary in the background, every 15 s for
	// as long as it runs: an error rate of 3 % or more aborts it.
	TemplateErrorRate = "error-rate"
	// TemplateLatencySLO gates a step on a latency objective: p95 under
	// 150 ms passes, over 400 ms fails, and between the two the run is
	// Inconclusive and the canary waits for a person.
	TemplateLatencySLO = "latency-slo"
)

// The thresholds of the templates, as their conditions write them.
const (
	maxErrorRate      = "0.03"
	maxLatency        = "0.4"
	latencyObjective  = "0.15"
	analysisWindow    = time.Minute
	healthInterval    = 10 * time.Second
	healthDelay       = 5 * time.Second
	watchInterval     = 15 * time.Second
	watchDelay        = 10 * time.Second
	sloInterval       = 10 * time.Second
	canaryHealthCount = 3
	latencySLOCount   = 2
)

// Gate is the Argo analysis over one service's canaries.
type Gate struct {
	// Background names the template of a background analysis
	// (strategy.canary.analysis), which measures from the first step until
	// the last; "" for none. Steps with Analysis set name their own.
	Background string
}

// canaryFilter is the scope of a service's canary pods' trace metrics.
func canaryFilter() string {
	return "{service:{{args.service}},env:" + envTag + "," + metrics.DefaultTagKey + ":" + canaryRole + "}"
}

// errorRateMetric is the canary's share of failed requests over the
// window, from Datadog's v2 scalar API.
func errorRateMetric(interval, delay, window time.Duration, count int32) v1alpha1.Metric {
	m := v1alpha1.Metric{
		Name: "error-rate", Interval: seconds(interval), InitialDelay: seconds(delay),
		SuccessCondition: "result < " + maxErrorRate,
		Provider: v1alpha1.MetricProvider{Datadog: &v1alpha1.DatadogMetric{
			APIVersion: v1alpha1.DatadogAPIv2, Interval: seconds(window), Aggregator: v1alpha1.DatadogAggregatorSum,
			Queries: map[string]string{
				"errors": "sum:" + errorsMetric + canaryFilter() + ".as_count()",
				"hits":   "sum:" + hitsMetric + canaryFilter() + ".as_count()",
			},
			Formula: "errors / hits",
		}},
	}
	if count > 0 {
		m.Count = ptr.To(intstr.FromInt32(count))
	}
	return m
}

// latencyMetric is the canary's p95 request duration, in seconds, over
// every request of the window.
func latencyMetric(interval, delay, window time.Duration, count int32) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name: "latency-p95", Interval: seconds(interval), InitialDelay: seconds(delay),
		Count: ptr.To(intstr.FromInt32(count)),
		Provider: v1alpha1.MetricProvider{Datadog: &v1alpha1.DatadogMetric{
			APIVersion: v1alpha1.DatadogAPIv2, Interval: seconds(window), Aggregator: v1alpha1.DatadogAggregatorPercentile,
			Query: "p95:" + durationMetric + canaryFilter(),
		}},
	}
}

// analysisTemplates are the demo's templates, in every namespace in which
// a service of sc uses analysis. Their intervals and windows are divided by
// speed (whole seconds, at least one), as the traffic's timings are; their
// initial delays are not: they give the canary's first points time to
// reach Datadog, which takes no less time at any speed, and a measurement
// without data is Inconclusive.
func analysisTemplates(sc Scenario, speed float64) []*v1alpha1.AnalysisTemplate {
	scale := func(d time.Duration) time.Duration {
		return max(time.Duration(float64(d)/speed).Round(time.Second), time.Second)
	}
	window := scale(analysisWindow)
	health := latencyMetric(scale(healthInterval), healthDelay, window, canaryHealthCount)
	health.SuccessCondition = "result < " + maxLatency
	slo := latencyMetric(scale(sloInterval), healthDelay, window, latencySLOCount)
	slo.SuccessCondition = "result < " + latencyObjective
	slo.FailureCondition = "result > " + maxLatency
	specs := map[string][]v1alpha1.Metric{
		TemplateCanaryHealth: {errorRateMetric(scale(healthInterval), healthDelay, window, canaryHealthCount), health},
		TemplateErrorRate:    {errorRateMetric(scale(watchInterval), watchDelay, window, 0)},
		TemplateLatencySLO:   {slo},
	}
	namespaces := map[string]bool{}
	for _, svc := range sc.Services {
		if len(svc.templates()) > 0 {
			namespaces[svc.Namespace] = true
		}
	}
	var out []*v1alpha1.AnalysisTemplate
	for ns := range namespaces {
		for name, ms := range specs {
			out = append(out, &v1alpha1.AnalysisTemplate{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": ns}},
				Spec:       v1alpha1.AnalysisTemplateSpec{Args: []v1alpha1.Argument{{Name: "service"}}, Metrics: ms},
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out
}

// templates lists the templates a service's rollout names.
func (s Service) templates() []string {
	var out []string
	if s.Gate.Background != "" {
		out = append(out, s.Gate.Background)
	}
	for _, st := range s.Steps {
		if st.Analysis != "" {
			out = append(out, st.Analysis)
		}
	}
	return out
}

// analysisOf is the rollout's reference to a template, with the service's
// name as its argument.
func (s Service) analysisOf(template string) v1alpha1.RolloutAnalysis {
	return v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: template}},
		Args:      []v1alpha1.AnalysisRunArgument{{Name: "service", Value: s.Name}},
	}
}

// seconds writes a duration as Argo's templates do: "15s".
func seconds(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("%ds", int64(d.Round(time.Second)/time.Second))
}
