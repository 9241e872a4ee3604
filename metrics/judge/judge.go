package judge

import (
	"fmt"
	"math"

	"github.com/roost-dev/roost/metrics"
)

const (
	// Confidence of the Mann-Whitney test and its interval.
	Confidence = 0.95
	// MinPoints is the fewest non-null points per side the test needs; with
	// fewer, only the threshold on latest values can speak.
	MinPoints = 3
	// Scores at or above PassScore pass; at or above MarginalScore are
	// marginal; below, fail. Kayenta's defaults.
	PassScore     = 75
	MarginalScore = 50
)

// Result is the judge's verdict on one metric with its reasons, for the
// dashboard's detail view and the message of an automatic abort.
type Result struct {
	Verdict metrics.Verdict
	// Reason says why in one line: "canary 4.1 % against stable 1.2 %
	// (latest): 3.4× stable, beyond the 1.5× allowed".
	Reason string
	// Rule is which rule decided: "threshold", "mann-whitney", or "" for
	// NoData.
	Rule string
	// CanaryPoints and StablePoints count the non-null points judged.
	CanaryPoints, StablePoints int
	// MeanRatio is the canary's mean over stable's (+Inf when stable's is 0
	// and the canary's is not); set when the test ran.
	MeanRatio float64
	// Test is the Mann-Whitney test; set when Rule is mann-whitney.
	Test Test
}

// Compare judges one metric against its tolerance.
//
//   - NoData when the query failed, a side has no group or no non-null
//     point.
//   - High when the canary's latest value is beyond MaxRatio × stable's
//     latest (stable's above 0), however few the points.
//   - NoData when a side has fewer than MinPoints points.
//   - High or Low when the Mann-Whitney test finds the canary significantly
//     above or below stable at 95% AND its mean is beyond MaxRatio (below
//     MinRatio) × stable's mean; Pass otherwise.
func Compare(m metrics.Metric, t metrics.Tolerance) Result {
	if m.Error != "" {
		return Result{Verdict: metrics.VerdictNoData, Reason: "the query failed: " + m.Error}
	}
	canary, stable := values(m.Canary), values(m.Stable)
	r := Result{CanaryPoints: len(canary), StablePoints: len(stable)}
	if len(canary) == 0 || len(stable) == 0 {
		r.Verdict = metrics.VerdictNoData
		r.Reason = fmt.Sprintf("no data: %s", missing(m, len(canary), len(stable)))
		return r
	}
	maxRatio := math.Max(t.MaxRatio, 1)
	minRatio := t.MinRatio
	if minRatio <= 0 || minRatio > 1 {
		minRatio = 1
	}
	cl, sl := canary[len(canary)-1], stable[len(stable)-1]
	if sl > 0 && cl > maxRatio*sl {
		r.Verdict, r.Rule = metrics.VerdictHigh, "threshold"
		r.Reason = fmt.Sprintf("canary %s against stable %s (latest): %.2g× stable, beyond the %g× allowed", value(cl, m.Unit), value(sl, m.Unit), cl/sl, maxRatio)
		return r
	}
	if len(canary) < MinPoints || len(stable) < MinPoints {
		r.Verdict = metrics.VerdictNoData
		r.Reason = fmt.Sprintf("too few points to compare: canary %d, stable %d (at least %d each)", len(canary), len(stable), MinPoints)
		return r
	}
	test := MannWhitney(canary, stable, Confidence)
	cm, sm := mean(canary), mean(stable)
	r.Rule, r.Test, r.MeanRatio = "mann-whitney", test, ratio(cm, sm)
	half := float64(len(canary)*len(stable)) / 2
	significant := test.P < 1-Confidence
	switch {
	case significant && test.U > half && beyondAbove(cm, sm, maxRatio):
		r.Verdict = metrics.VerdictHigh
		r.Reason = fmt.Sprintf("canary significantly above stable (p=%.2g): mean %s against %s, %s stable, beyond the %g× allowed", test.P, value(cm, m.Unit), value(sm, m.Unit), times(r.MeanRatio), maxRatio)
	case significant && test.U < half && beyondBelow(cm, sm, minRatio):
		r.Verdict = metrics.VerdictLow
		r.Reason = fmt.Sprintf("canary significantly below stable (p=%.2g): mean %s against %s, %s stable, under the %g× allowed", test.P, value(cm, m.Unit), value(sm, m.Unit), times(r.MeanRatio), minRatio)
	case significant:
		r.Verdict = metrics.VerdictPass
		r.Reason = fmt.Sprintf("canary differs from stable (p=%.2g) but within bounds: mean %s against %s, %s stable", test.P, value(cm, m.Unit), value(sm, m.Unit), times(r.MeanRatio))
	default:
		r.Verdict = metrics.VerdictPass
		r.Reason = fmt.Sprintf("no significant difference (p=%.2g): mean %s against %s", test.P, value(cm, m.Unit), value(sm, m.Unit))
	}
	return r
}

// values are a side's non-null points, oldest first.
func values(s metrics.Series) []float64 {
	if !s.Found {
		return nil
	}
	out := make([]float64, 0, len(s.Points))
	for _, p := range s.Points {
		if !p.Null && !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			out = append(out, p.Value)
		}
	}
	return out
}

func missing(m metrics.Metric, c, s int) string {
	side := func(name string, found bool, n int) string {
		switch {
		case !found:
			return name + " has no series"
		case n == 0:
			return name + " has only empty points"
		}
		return ""
	}
	a, b := side("canary", m.Canary.Found, c), side("stable", m.Stable.Found, s)
	switch {
	case a != "" && b != "":
		return a + ", " + b
	case a != "":
		return a
	}
	return b
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func ratio(c, s float64) float64 {
	switch {
	case s > 0:
		return c / s
	case c == s:
		return 1
	case c > s:
		return math.Inf(1)
	}
	return 0
}

// beyondAbove: the canary's mean exceeds maxRatio × stable's. A stable mean
// of zero or below has no meaningful ratio: any significant rise counts.
func beyondAbove(c, s, maxRatio float64) bool {
	if s <= 0 {
		return c > s
	}
	return c > maxRatio*s
}

func beyondBelow(c, s, minRatio float64) bool {
	if s <= 0 {
		return c < s
	}
	return c < minRatio*s
}

func value(v float64, unit string) string {
	s := fmt.Sprintf("%.3g", v)
	if unit != "" {
		s += " " + unit
	}
	return s
}

func times(r float64) string {
	if math.IsInf(r, 1) {
		return "against a zero"
	}
	return fmt.Sprintf("%.2g×", r)
}

// Summary is the score of a canary.
type Summary struct {
	Score metrics.Score
	// Value is passing / judged × 100.
	Value float64
	// Judged counts the metrics that could count against the canary and
	// had data; Failed those whose verdict was in their bad direction
	// (with the new-error rule, weight more of each).
	Judged, Failed int
	// NewErrors counts the error classes new in the canary that counted.
	NewErrors int
}

// Summarize scores a canary from its metrics' verdicts, tolerances[i]
// belonging to ms[i]. Only a metric's bad direction counts against it
// (High when HigherIsWorse, Low when LowerIsWorse); a metric with neither
// (request rate, by default) is shown but not scored, and a metric without
// data is not judged. Kayenta's score: passing / judged × 100, Pass from 75,
// Marginal from 50, else Fail; NoData when nothing was judged.
func Summarize(ms []metrics.Metric, tolerances []metrics.Tolerance) Summary {
	var s Summary
	for i, m := range ms {
		lowerIsWorse := i < len(tolerances) && tolerances[i].LowerIsWorse
		if m.Verdict == metrics.VerdictNoData || m.Verdict == "" || !m.HigherIsWorse && !lowerIsWorse {
			continue
		}
		s.Judged++
		if m.Verdict == metrics.VerdictHigh && m.HigherIsWorse || m.Verdict == metrics.VerdictLow && lowerIsWorse {
			s.Failed++
		}
	}
	return s.scored()
}

// SummarizeWithErrors is Summarize with the new-error rule: an error class
// seen in the canary and never in stable is the strongest single sign of a
// bad release, so when the canary has any, they count as weight failed
// metrics (0 turns the rule off). With the default weight of 3 and the
// default two scored metrics passing, the score is 40: Fail.
func SummarizeWithErrors(ms []metrics.Metric, tolerances []metrics.Tolerance, newErrors, weight int) Summary {
	s := Summarize(ms, tolerances)
	if newErrors > 0 && weight > 0 {
		s.NewErrors = newErrors
		s.Judged += weight
		s.Failed += weight
	}
	return s.scored()
}

// scored sets Score and Value from Judged and Failed.
func (s Summary) scored() Summary {
	if s.Judged == 0 {
		s.Score, s.Value = metrics.ScoreNoData, 0
		return s
	}
	s.Value = float64(s.Judged-s.Failed) / float64(s.Judged) * 100
	switch {
	case s.Value >= PassScore:
		s.Score = metrics.ScorePass
	case s.Value >= MarginalScore:
		s.Score = metrics.ScoreMarginal
	default:
		s.Score = metrics.ScoreFail
	}
	return s
}

// Judge is the judge the poller asks (metrics.Judge).
type Judge struct{}

// Verdict is Compare's verdict.
func (Judge) Verdict(m metrics.Metric, t metrics.Tolerance) metrics.Verdict {
	return Compare(m, t).Verdict
}

// Explain is Compare's verdict and reason.
func (Judge) Explain(m metrics.Metric, t metrics.Tolerance) (metrics.Verdict, string) {
	r := Compare(m, t)
	return r.Verdict, r.Reason
}

// Score is Summarize's score.
func (Judge) Score(ms []metrics.Metric, tolerances []metrics.Tolerance) metrics.Score {
	return Summarize(ms, tolerances).Score
}

// ScoreWithErrors is SummarizeWithErrors' score (metrics.ErrorScorer).
func (Judge) ScoreWithErrors(ms []metrics.Metric, tolerances []metrics.Tolerance, newErrors, weight int) metrics.Score {
	return SummarizeWithErrors(ms, tolerances, newErrors, weight).Score
}
