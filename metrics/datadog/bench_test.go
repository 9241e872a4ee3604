package datadog

import (
	"context"
	"testing"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/datadogserver"
)

// BenchmarkQueryMetric is one error-rate round trip (two queries and a
// formula, 30 points a side) against the in-repo server over loopback HTTP.
// The allocations counted include the server's.
func BenchmarkQueryMetric(b *testing.B) {
	for _, api := range []string{APIv1, APIv2} {
		b.Run(api, func(b *testing.B) {
			w := newWorld(b, datadogserver.RateLimit{Limit: 1 << 30})
			c := w.client(b, api, Options{})
			q := w.errorRate()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				m, err := c.QueryMetric(ctx, q)
				if err != nil || !m.Canary.Found {
					b.Fatalf("QueryMetric: %v", err)
				}
			}
		})
	}
}

// BenchmarkAnalysisMeasure is one measurement of a grouped error rate (two
// queries and a formula on v2, their quotient on v1) against the in-repo
// server over loopback HTTP, the credentials from a cached Secret. The
// allocations counted include the server's.
func BenchmarkAnalysisMeasure(b *testing.B) {
	errorsQ := "sum:trace.http.request.errors" + filter + " by {kube_role}.as_count()"
	hitsQ := "sum:trace.http.request.hits" + filter + " by {kube_role}.as_count()"
	byAPI := map[string]v1alpha1.Metric{
		"v1": v1Metric("(" + errorsQ + ") / (" + hitsQ + ")"),
		"v2": ddMetric(v1alpha1.DatadogMetric{
			APIVersion: v1alpha1.DatadogAPIv2, Aggregator: v1alpha1.DatadogAggregatorSum,
			Queries: map[string]string{"errors": errorsQ, "hits": hitsQ}, Formula: "errors / hits",
		}),
	}
	for _, api := range []string{"v1", "v2"} {
		b.Run(api, func(b *testing.B) {
			w := newAnalysisWorld(b, datadogserver.RateLimit{Limit: 1 << 30})
			p := w.provider(b, AnalysisOptions{})
			m := byAPI[api]
			ctx := context.Background()
			now := w.clock.Now()
			b.ReportAllocs()
			for b.Loop() {
				r := p.Measure(ctx, testRun, m, now)
				if vs, ok := r.Result.([]float64); r.Err != nil || !ok || len(vs) != 2 {
					b.Fatalf("Measure: %+v", r)
				}
			}
		})
	}
}
