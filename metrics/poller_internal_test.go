package metrics

import (
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"
)

func TestNextAfter(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const i = 30 * time.Second
	tests := []struct {
		name     string
		due, now time.Time
		want     time.Time
	}{
		{"on time", t0, t0, t0.Add(i)},
		{"a little late keeps the beat", t0, t0.Add(2 * time.Second), t0.Add(i)},
		{"missed rounds are not made up", t0, t0.Add(95 * time.Second), t0.Add(4 * i)},
		{"exactly a round late", t0, t0.Add(i), t0.Add(2 * i)},
	}
	for _, tt := range tests {
		if got := nextAfter(tt.due, tt.now, i); !got.Equal(tt.want) {
			t.Errorf("%s: nextAfter = %s, want %s", tt.name, got.Sub(t0), tt.want.Sub(t0))
		}
	}
}

func TestNextFreshness(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const interval = 30 * time.Second
	now, next := t0.Add(time.Minute), t0.Add(90*time.Second)
	prev := Freshness{FetchedAt: t0}
	rateLimited := &SourceError{Source: "Datadog", Status: 429, Reason: "rate limited (429)", RetryAfter: 2 * time.Minute, Global: true}
	brief := &SourceError{Source: "Datadog", Status: 503, Reason: "unavailable (503)", RetryAfter: 5 * time.Second}
	failing := &SourceError{Source: "Datadog", Status: 500, Reason: "server error (500)"}
	forbidden := &SourceError{Source: "Datadog", Status: 403, Reason: "forbidden (403)", Permanent: true, RetryAfter: time.Hour}
	tests := []struct {
		name     string
		failures []error
		fails    int
		want     Freshness
		retry    time.Time
		wantFail int
		hold     time.Duration
	}{
		{name: "success", fails: 3, want: Freshness{FetchedAt: now}, retry: next},
		{
			name: "plain error: retried in 2 s, not at the next round", failures: []error{errors.New("connection refused")},
			want: Freshness{FetchedAt: t0, Stale: true, Reason: "connection refused", RetryAt: now.Add(2 * time.Second)}, retry: now.Add(2 * time.Second), wantFail: 1,
		},
		{
			name: "the third failure in a row: 8 s", failures: []error{failing}, fails: 2,
			want: Freshness{FetchedAt: t0, Stale: true, Reason: "server error (500)", RetryAt: now.Add(8 * time.Second)}, retry: now.Add(8 * time.Second), wantFail: 3,
		},
		{
			name: "many failures: at most an interval", failures: []error{failing}, fails: 40,
			want: Freshness{FetchedAt: t0, Stale: true, Reason: "server error (500)", RetryAt: now.Add(interval)}, retry: now.Add(interval), wantFail: 41,
		},
		{
			name: "a service-wide wait beyond the next round holds everyone", failures: []error{rateLimited},
			want:  Freshness{FetchedAt: t0, Stale: true, Reason: "rate limited (429)", RetryAt: now.Add(2 * time.Minute)},
			retry: now.Add(2 * time.Minute), wantFail: 1, hold: 2 * time.Minute,
		},
		{
			name: "this call's RetryAfter is honoured but holds no one else", failures: []error{brief},
			want:  Freshness{FetchedAt: t0, Stale: true, Reason: "unavailable (503)", RetryAt: now.Add(5 * time.Second)},
			retry: now.Add(5 * time.Second), wantFail: 1,
		},
		{
			name: "permanent: the normal interval", failures: []error{forbidden}, fails: 2,
			want: Freshness{FetchedAt: t0, Stale: true, Reason: "forbidden (403)", RetryAt: next}, retry: next, wantFail: 2,
		},
		{
			name: "the first reason, the longest wait", failures: []error{brief, forbidden, rateLimited},
			want:  Freshness{FetchedAt: t0, Stale: true, Reason: "unavailable (503)", RetryAt: now.Add(2 * time.Minute)},
			retry: now.Add(2 * time.Minute), wantFail: 1, hold: 2 * time.Minute,
		},
	}
	for _, tt := range tests {
		f, retry, fails, hold := nextFreshness(prev, tt.failures, now, next, tt.fails, interval)
		if f != tt.want || !retry.Equal(tt.retry) || fails != tt.wantFail || hold != tt.hold {
			t.Errorf("%s: nextFreshness = %+v, %s, %d, %s; want %+v, %s, %d, %s", tt.name, f, retry, fails, hold, tt.want, tt.retry, tt.wantFail, tt.hold)
		}
	}
}

func TestRetryIn(t *testing.T) {
	const interval = 10 * time.Second
	for n, want := range map[int]time.Duration{0: 2 * time.Second, 1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: interval, 100: interval} {
		if got := retryIn(n, interval); got != want {
			t.Errorf("retryIn(%d) = %s, want %s", n, got, want)
		}
	}
}

// verdictByRatio is a judge for these tests: High when the canary's latest
// is above MaxRatio × stable's.
type verdictByRatio struct{}

func (verdictByRatio) Verdict(m Metric, t Tolerance) Verdict {
	r, ok := m.Ratio()
	switch {
	case !ok:
		return VerdictNoData
	case r > t.MaxRatio:
		return VerdictHigh
	}
	return VerdictPass
}

func (verdictByRatio) Score([]Metric, []Tolerance) Score { return ScorePass }

func TestMergeMetrics(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	side := func(v float64) Series { return Series{Found: true, Points: []Point{{Time: t0, Value: v}}} }
	plan := Defaults().Plan(Target{Namespace: "shop", Name: "checkout"}).Metrics
	plan[2].Err = "rollout shop/checkout: metric latency_p95, query p95: the template does not render"
	answer := func(c, s float64) metricResult { return metricResult{metric: Metric{Canary: side(c), Stable: side(s)}} }
	failed := metricResult{err: &SourceError{Source: "Datadog", Status: 500, Reason: "server error (500)"}}
	prevErrorRate := Metric{ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true, Query: "old", Canary: side(9), Stable: side(1), Verdict: VerdictHigh}

	got, tolerances, failures := mergeMetrics([]Metric{prevErrorRate}, plan, []metricResult{failed, failed, {}}, verdictByRatio{}, [2]int{})
	if len(failures) != 2 {
		t.Fatalf("failures = %v, want the two failed calls", failures)
	}
	if got[0].Error != "server error (500)" || got[0].Verdict != VerdictNoData || got[0].Canary.Found || got[0].Query != plan[0].Query.Expression() || got[0].Name != "requests" {
		t.Errorf("a failed metric without previous data = %+v", got[0])
	}
	if !reflect.DeepEqual(got[1], prevErrorRate) {
		t.Errorf("a failed metric with previous data = %+v, want the previous %+v", got[1], prevErrorRate)
	}
	if got[2].Error != plan[2].Err || got[2].Verdict != VerdictNoData || got[2].ID != "latency_p95" {
		t.Errorf("a metric that could not be planned = %+v", got[2])
	}
	if tolerances[1] != plan[1].Tolerance {
		t.Errorf("tolerances = %+v", tolerances)
	}

	got, _, failures = mergeMetrics([]Metric{prevErrorRate}, plan, []metricResult{answer(1, 1), answer(2, 1), {}}, verdictByRatio{}, [2]int{})
	if len(failures) != 0 {
		t.Fatalf("failures = %v", failures)
	}
	if got[0].ID != "requests" || got[0].Unit != "req/s" || got[0].Verdict != VerdictPass || got[0].Query != plan[0].Query.Expression() {
		t.Errorf("an answer = %+v", got[0])
	}
	if got[1].Verdict != VerdictHigh || got[1].Canary.Points[0].Value != 2 || !got[1].HigherIsWorse {
		t.Errorf("an answer beyond its tolerance = %+v", got[1])
	}
}

func TestPhasesSpread(t *testing.T) {
	const interval = 30 * time.Second
	var phases []time.Duration
	for k := range 50 {
		p := phaseOf(k, interval)
		if p <= 0 || p >= interval {
			t.Fatalf("phase %d = %s, want within (0, %s)", k, p, interval)
		}
		phases = append(phases, p)
	}
	sort.Slice(phases, func(i, j int) bool { return phases[i] < phases[j] })
	for i := 1; i < len(phases); i++ {
		if gap := phases[i] - phases[i-1]; gap < interval/(3*50) {
			t.Errorf("phases %s and %s are %s apart", phases[i-1], phases[i], gap)
		}
	}
}

// A total compared per ready pod: at 20 % weight (2 canary pods of 10) a
// healthy canary serves a fifth of stable's... per pod, the same.
func TestMergeMetricsPerPod(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	side := func(v float64) Series {
		return Series{Found: true, Points: []Point{{Time: t0, Value: v}, {Time: t0.Add(time.Second), Null: true}}}
	}
	plan := Defaults().Plan(Target{Namespace: "shop", Name: "checkout"}).Metrics
	results := []metricResult{
		{metric: Metric{Canary: side(20), Stable: side(80)}},
		{metric: Metric{Canary: side(1), Stable: side(1)}},
		{metric: Metric{Canary: side(100), Stable: side(100)}},
	}
	for _, tt := range []struct {
		name  string
		pods  [2]int
		ratio float64
		title string
	}{
		{"per pod: 2 canary, 8 stable", [2]int{2, 8}, 1, "requests per pod"},
		{"no pods known: totals", [2]int{0, 8}, 0.25, "requests"},
	} {
		ms, _, _ := mergeMetrics(nil, plan, results, verdictByRatio{}, tt.pods)
		r, ok := ms[0].Ratio()
		if !ok || r != tt.ratio || ms[0].Name != tt.title {
			t.Errorf("%s: %s ratio %v (%v), want %s %v", tt.name, ms[0].Name, r, ok, tt.title, tt.ratio)
		}
		if ms[0].Canary.Points[1].Null != true {
			t.Errorf("%s: a null point became a value", tt.name)
		}
		// Only the metric configured per pod is divided.
		if r, _ := ms[1].Ratio(); r != 1 || ms[1].Name != "error rate" {
			t.Errorf("%s: error rate %s %v", tt.name, ms[1].Name, r)
		}
	}
}
