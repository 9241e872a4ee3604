package datadog

import (
	"context"
	"testing"

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
