package analysis

import (
	"testing"
	"time"

	"github.com/roost-dev/roost/metrics"
)

type fixedEvidence struct{ ev metrics.Evidence }

func (f *fixedEvidence) Evidence(string, string) (metrics.Evidence, bool) { return f.ev, true }

// TestGateFails: what the cockpit reads of the gate: the failing rounds
// counted so far for a canary.
func TestGateFails(t *testing.T) {
	since := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	bad := metrics.Metric{Name: "error rate", HigherIsWorse: true, Verdict: metrics.VerdictHigh}
	for i := range 3 {
		bad.Canary.Points = append(bad.Canary.Points, metrics.Point{Time: since.Add(time.Duration(i) * time.Minute), Value: 5})
	}
	src := &fixedEvidence{ev: metrics.Evidence{Score: metrics.ScoreFail, Metrics: []metrics.Metric{bad},
		MetricsState: metrics.Freshness{FetchedAt: since.Add(5 * time.Minute)}}}
	g := NewGate(GateOptions{Evidence: src})
	if _, tracked := g.Fails("shop", "checkout"); tracked {
		t.Fatal("a canary never decided on is tracked")
	}
	g.Decide(Canary{Namespace: "shop", Name: "checkout", PodHash: "new", Since: since})
	if fails, tracked := g.Fails("shop", "checkout"); !tracked || fails != 1 {
		t.Errorf("fails %d tracked %v, want 1 failing round counted", fails, tracked)
	}
}
