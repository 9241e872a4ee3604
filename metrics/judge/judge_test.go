package judge

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/roost-dev/roost/metrics"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// series makes a found series of one point a minute; NaN is a null point.
func series(values ...float64) metrics.Series {
	s := metrics.Series{Found: true}
	for i, v := range values {
		p := metrics.Point{Time: t0.Add(time.Duration(i) * time.Minute), Value: v}
		if math.IsNaN(v) {
			p = metrics.Point{Time: p.Time, Null: true}
		}
		s.Points = append(s.Points, p)
	}
	return s
}

// wave is n values around level, varying by ±spread in a fixed pattern.
func wave(n int, level, spread float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = level + spread*math.Sin(float64(i)*2.3)
	}
	return out
}

var errorRate = metrics.Tolerance{MaxRatio: 1.5, MinRatio: 0.5}

func TestCompare(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		metric    metrics.Metric
		tolerance metrics.Tolerance
		verdict   metrics.Verdict
		rule      string
		reason    string
	}{
		{
			name:    "the query failed",
			metric:  metrics.Metric{Error: "rate limited (429)"},
			verdict: metrics.VerdictNoData, reason: "the query failed: rate limited (429)",
		},
		{
			name:    "no canary group",
			metric:  metrics.Metric{Stable: series(1, 2, 3)},
			verdict: metrics.VerdictNoData, reason: "no data: canary has no series",
		},
		{
			name:    "only null points on stable",
			metric:  metrics.Metric{Canary: series(1, 2, 3), Stable: series(nan, nan)},
			verdict: metrics.VerdictNoData, reason: "no data: stable has only empty points",
		},
		{
			name:    "neither side",
			metric:  metrics.Metric{},
			verdict: metrics.VerdictNoData, reason: "no data: canary has no series, stable has no series",
		},
		{
			name:      "latest values beyond the threshold on the first points",
			metric:    metrics.Metric{Unit: "%", Canary: series(nan, 4.5), Stable: series(1.0, 1.5)},
			tolerance: errorRate, verdict: metrics.VerdictHigh, rule: "threshold",
			reason: "canary 4.5 % against stable 1.5 % (latest): 3× stable, beyond the 1.5× allowed",
		},
		{
			name:      "latest values beyond the threshold on many points",
			metric:    metrics.Metric{Canary: series(append(wave(30, 1, 0.1), 2)...), Stable: series(wave(30, 1, 0.1)...)},
			tolerance: errorRate, verdict: metrics.VerdictHigh, rule: "threshold",
		},
		{
			name:      "too few points within the threshold",
			metric:    metrics.Metric{Canary: series(1.2, 1.1), Stable: series(1, 1, 1, 1)},
			tolerance: errorRate, verdict: metrics.VerdictNoData,
			reason: "too few points to compare: canary 2, stable 4 (at least 3 each)",
		},
		{
			name:      "the same behaviour",
			metric:    metrics.Metric{Canary: series(wave(30, 1, 0.2)...), Stable: series(wave(40, 1, 0.2)...)},
			tolerance: errorRate, verdict: metrics.VerdictPass, rule: "mann-whitney",
			reason: "no significant difference",
		},
		{
			name: "significantly higher and beyond the tolerance",
			// Every canary point is higher, the latest only 1.4× stable's.
			metric:    metrics.Metric{Canary: series(append(wave(29, 2, 0.2), 1.4)...), Stable: series(wave(30, 1, 0.05)...)},
			tolerance: errorRate, verdict: metrics.VerdictHigh, rule: "mann-whitney",
			reason: "canary significantly above stable",
		},
		{
			name:      "significantly higher but within the tolerance",
			metric:    metrics.Metric{Canary: series(wave(30, 1.2, 0.05)...), Stable: series(wave(30, 1, 0.05)...)},
			tolerance: errorRate, verdict: metrics.VerdictPass, rule: "mann-whitney",
			reason: "canary differs from stable",
		},
		{
			name:      "significantly lower and beyond the tolerance",
			metric:    metrics.Metric{Canary: series(wave(30, 20, 2)...), Stable: series(wave(30, 100, 5)...)},
			tolerance: errorRate, verdict: metrics.VerdictLow, rule: "mann-whitney",
			reason: "canary significantly below stable",
		},
		{
			name:      "significantly lower but within the tolerance",
			metric:    metrics.Metric{Canary: series(wave(30, 80, 2)...), Stable: series(wave(30, 100, 2)...)},
			tolerance: errorRate, verdict: metrics.VerdictPass, rule: "mann-whitney",
		},
		{
			name: "errors on the canary only",
			// Stable's latest is 0, so the threshold cannot speak; the test does.
			metric:    metrics.Metric{Canary: series(0, 2, 1, 3, 0, 2, 4, 1, 2, 3), Stable: series(0, 0, 0, 0, 1, 0, 0, 0, 0, 0)},
			tolerance: errorRate, verdict: metrics.VerdictHigh, rule: "mann-whitney",
		},
		{
			name:      "no errors on either side",
			metric:    metrics.Metric{Canary: series(0, 0, 0, 0), Stable: series(0, 0, 0, 0, 0)},
			tolerance: errorRate, verdict: metrics.VerdictPass, rule: "mann-whitney",
		},
		{
			name:      "null points are left out, not taken as zero",
			metric:    metrics.Metric{Canary: series(1, nan, 1.1, nan, 0.9, 1), Stable: series(1, 1.1, nan, 0.9, 1)},
			tolerance: errorRate, verdict: metrics.VerdictPass, rule: "mann-whitney",
		},
		{
			name:      "a zero tolerance allows no slack",
			metric:    metrics.Metric{Canary: series(wave(30, 1.05, 0.01)...), Stable: series(wave(30, 1.1, 0.01)...)},
			tolerance: metrics.Tolerance{}, verdict: metrics.VerdictLow, rule: "mann-whitney",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(tt.metric, tt.tolerance)
			if r.Verdict != tt.verdict || r.Rule != tt.rule {
				t.Fatalf("Compare = %s by %q (%s), want %s by %q", r.Verdict, r.Rule, r.Reason, tt.verdict, tt.rule)
			}
			if !strings.HasPrefix(r.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to start with %q", r.Reason, tt.reason)
			}
			if got := (Judge{}).Verdict(tt.metric, tt.tolerance); got != tt.verdict {
				t.Errorf("Judge.Verdict = %s, want %s", got, tt.verdict)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	m := func(v metrics.Verdict, higherIsWorse bool) metrics.Metric {
		return metrics.Metric{Verdict: v, HigherIsWorse: higherIsWorse}
	}
	none, lowBad := metrics.Tolerance{}, metrics.Tolerance{LowerIsWorse: true}
	tests := []struct {
		name       string
		ms         []metrics.Metric
		tolerances []metrics.Tolerance
		score      metrics.Score
		value      float64
		judged     int
	}{
		{name: "nothing", score: metrics.ScoreNoData},
		{
			name:       "all pass",
			ms:         []metrics.Metric{m(metrics.VerdictPass, false), m(metrics.VerdictPass, true), m(metrics.VerdictPass, true)},
			tolerances: []metrics.Tolerance{none, none, none},
			score:      metrics.ScorePass, value: 100, judged: 2,
		},
		{
			name:       "one of two bad: marginal, the request rate not scored",
			ms:         []metrics.Metric{m(metrics.VerdictLow, false), m(metrics.VerdictHigh, true), m(metrics.VerdictPass, true)},
			tolerances: []metrics.Tolerance{none, none, none},
			score:      metrics.ScoreMarginal, value: 50, judged: 2,
		},
		{
			name:       "a low request rate that the configuration calls bad",
			ms:         []metrics.Metric{m(metrics.VerdictLow, false), m(metrics.VerdictHigh, true), m(metrics.VerdictPass, true)},
			tolerances: []metrics.Tolerance{lowBad, none, none},
			score:      metrics.ScoreFail, value: 100.0 / 3, judged: 3,
		},
		{
			name:       "the good direction does not count against the canary",
			ms:         []metrics.Metric{m(metrics.VerdictLow, true), m(metrics.VerdictLow, true), m(metrics.VerdictHigh, true), m(metrics.VerdictPass, true)},
			tolerances: []metrics.Tolerance{none, none, none, none},
			score:      metrics.ScorePass, value: 75, judged: 4,
		},
		{
			name:       "no data is not judged",
			ms:         []metrics.Metric{m(metrics.VerdictNoData, true), m(metrics.VerdictNoData, true)},
			tolerances: []metrics.Tolerance{none, none},
			score:      metrics.ScoreNoData,
		},
		{
			name:       "both bad",
			ms:         []metrics.Metric{m(metrics.VerdictHigh, true), m(metrics.VerdictHigh, true), m(metrics.VerdictNoData, true)},
			tolerances: []metrics.Tolerance{none, none, none},
			score:      metrics.ScoreFail, value: 0, judged: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.ms, tt.tolerances)
			if s.Score != tt.score || math.Abs(s.Value-tt.value) > 1e-9 || s.Judged != tt.judged {
				t.Errorf("Summarize = %+v, want %s, %g of %d judged", s, tt.score, tt.value, tt.judged)
			}
			if got := (Judge{}).Score(tt.ms, tt.tolerances); got != tt.score {
				t.Errorf("Judge.Score = %s, want %s", got, tt.score)
			}
		})
	}
}

// One verdict on 180 points a side: half an hour of 10-second points.
func BenchmarkCompare180(b *testing.B) {
	m := metrics.Metric{Canary: series(wave(180, 1.3, 0.3)...), Stable: series(wave(180, 1, 0.3)...)}
	b.ReportAllocs()
	for b.Loop() {
		if Compare(m, errorRate).Verdict == "" {
			b.Fatal("no verdict")
		}
	}
}

func BenchmarkMannWhitney180(b *testing.B) {
	c, s := wave(180, 1.3, 0.3), wave(180, 1, 0.3)
	b.ReportAllocs()
	for b.Loop() {
		MannWhitney(c, s, Confidence)
	}
}

// The new-error rule: a canary with an error class stable never had counts
// as weight failed metrics.
func TestSummarizeWithErrors(t *testing.T) {
	pass := metrics.Metric{Verdict: metrics.VerdictPass, HigherIsWorse: true}
	high := metrics.Metric{Verdict: metrics.VerdictHigh, HigherIsWorse: true}
	none := metrics.Tolerance{}
	tests := []struct {
		name              string
		ms                []metrics.Metric
		newErrors, weight int
		score             metrics.Score
		value             float64
	}{
		{name: "no new error: the metrics alone", ms: []metrics.Metric{pass, pass}, weight: 3, score: metrics.ScorePass, value: 100},
		{name: "two passing metrics and a new error class: fail", ms: []metrics.Metric{pass, pass}, newErrors: 1, weight: 3, score: metrics.ScoreFail, value: 40},
		{name: "many new classes weigh as one", ms: []metrics.Metric{pass, pass}, newErrors: 4, weight: 3, score: metrics.ScoreFail, value: 40},
		{name: "weight 1: marginal", ms: []metrics.Metric{pass, pass}, newErrors: 1, weight: 1, score: metrics.ScoreMarginal, value: 200.0 / 3},
		{name: "weight 0: off", ms: []metrics.Metric{pass, pass}, newErrors: 1, weight: 0, score: metrics.ScorePass, value: 100},
		{name: "no metrics, a new error class: fail", newErrors: 1, weight: 3, score: metrics.ScoreFail, value: 0},
		{name: "a failing metric and a new error class", ms: []metrics.Metric{high, pass}, newErrors: 2, weight: 3, score: metrics.ScoreFail, value: 20},
	}
	for _, tt := range tests {
		s := SummarizeWithErrors(tt.ms, []metrics.Tolerance{none, none}, tt.newErrors, tt.weight)
		if s.Score != tt.score || math.Abs(s.Value-tt.value) > 1e-9 {
			t.Errorf("%s: %s %.4g, want %s %.4g", tt.name, s.Score, s.Value, tt.score, tt.value)
		}
	}
}
