package tui

import (
	"testing"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// A canary failing on evidence goes first: fresh failing metrics, or an
// error class new in the canary while Bugsnag is fresh, even with the
// metrics stale; stale evidence alone never ranks it.
func TestUrgencyOfEvidence(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &watch.Rollout{Namespace: "shop", Name: "cart", Phase: v1alpha1.PhasePaused, Canary: &watch.ReplicaSet{Name: "cart-2"}}
	fresh := metrics.Freshness{FetchedAt: now}
	stale := metrics.Freshness{FetchedAt: now.Add(-time.Minute), Stale: true, Reason: "HTTP 503"}
	newError := []metrics.Error{{ID: "e1", Class: "NoMethodError", New: true}}
	for _, tt := range []struct {
		name    string
		ev      metrics.Evidence
		failing bool
	}{
		{"fresh metrics, Fail", metrics.Evidence{Score: metrics.ScoreFail, MetricsState: fresh, ErrorsState: fresh}, true},
		{"stale metrics, Fail, no new error", metrics.Evidence{Score: metrics.ScoreFail, MetricsState: stale, ErrorsState: fresh}, false},
		{"stale metrics, a new error class", metrics.Evidence{Score: metrics.ScoreFail, MetricsState: stale, ErrorsState: fresh, Errors: newError}, true},
		{"a new error class, Bugsnag stale too", metrics.Evidence{Score: metrics.ScoreFail, MetricsState: stale, ErrorsState: stale, Errors: newError}, false},
		{"Pass", metrics.Evidence{Score: metrics.ScorePass, MetricsState: fresh, ErrorsState: fresh}, false},
	} {
		m := Model{evidence: map[rolloutKey]metrics.Evidence{keyOf(r): tt.ev}}
		if got := m.urgencyOf(r) == urgencyFailing; got != tt.failing {
			t.Errorf("%s: failing %v, want %v", tt.name, got, tt.failing)
		}
	}
}
