package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// JudgeGate is what roost's judge gate does with one canary: its mode
// (off, hold, abort), how many failing rounds in a row make it act, and,
// where this roost counts them, how many it counted so far.
type JudgeGate struct {
	Mode   string
	Rounds int
	Fails  int
	// Counted is set when this roost steps the canaries and so counts the
	// rounds; another roost (or none) counts them otherwise.
	Counted bool
	// Problem is a bad gate annotation: the default gate applies.
	Problem string
}

// JudgeGateFunc says what the judge gate does with a rollout; nil shows
// nothing about the gate.
type JudgeGateFunc func(r *watch.Rollout) JudgeGate

// analysisMarker is the overview's word on a rollout's analysis:
// "↻ ✓3/5 ✗0" while it measures, "✓ passed", "✗ failed", "? inconclusive".
// "" when the rollout has none.
func analysisMarker(r *watch.Rollout, sym themes.Symbols) string {
	a := r.AnalysisNow()
	if a == nil {
		if r.HasAnalysis && r.Canary != nil {
			return sym.StepPending + " waiting"
		}
		return ""
	}
	switch a.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		if a.Message == "Run Terminated" {
			return sym.Healthy + " ended"
		}
		return sym.Healthy + " passed"
	case v1alpha1.AnalysisPhaseFailed:
		return sym.Degraded + " failed"
	case v1alpha1.AnalysisPhaseError:
		return sym.Degraded + " error"
	case v1alpha1.AnalysisPhaseInconclusive:
		return sym.Unknown + " inconclusive"
	}
	ok, failed, inconclusive, _, planned := a.Tally()
	if ok+failed+inconclusive == 0 {
		return sym.Progressing + " pending"
	}
	s := fmt.Sprintf("%s %s%d", sym.Progressing, sym.Healthy, ok)
	if planned > 0 {
		s += fmt.Sprintf("/%d", planned)
	}
	s += fmt.Sprintf(" %s%d", sym.Degraded, failed)
	if inconclusive > 0 {
		s += fmt.Sprintf(" %s%d", sym.Unknown, inconclusive)
	}
	return s
}

// markerPaint colours the marker by the run's phase.
func (p paints) analysis(r *watch.Rollout) paint {
	a := r.AnalysisNow()
	if a == nil {
		return p.muted
	}
	switch a.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		return p.ok
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		return p.bad
	case v1alpha1.AnalysisPhaseInconclusive:
		return p.warn
	}
	if _, failed, _, _, _ := a.Tally(); failed > 0 {
		return p.warn
	}
	return p.progressing
}

// anyAnalysis says whether a rollout of rows has analysis: the overview
// then has an ANALYSIS column.
func anyAnalysis(rows []*watch.Rollout) bool {
	for _, r := range rows {
		if r.HasAnalysis || len(r.Analysis) > 0 {
			return true
		}
	}
	return false
}

// phaseLook is the symbol and paint of an analysis phase.
func phaseLook(s themes.Symbols, p paints, phase v1alpha1.AnalysisPhase) (string, paint) {
	switch phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		return s.Healthy, p.ok
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		return s.Degraded, p.bad
	case v1alpha1.AnalysisPhaseInconclusive:
		return s.Unknown, p.warn
	case v1alpha1.AnalysisPhaseRunning:
		return s.Progressing, p.progressing
	}
	return s.StepPending, p.muted
}

// analysisShown are the runs the detail shows: the current ones, else the
// one that speaks for the rollout now.
func analysisShown(r *watch.Rollout) []*watch.AnalysisRun {
	var out []*watch.AnalysisRun
	for i := range r.Analysis {
		if r.Analysis[i].Current {
			out = append(out, &r.Analysis[i])
		}
	}
	if len(out) == 0 {
		if a := r.AnalysisNow(); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// analysisDetail renders a rollout's analysis for the detail and the `m`
// screen, with paints: the detail redraws it every second while a
// countdown runs.
type analysisDetail struct {
	sym themes.Symbols
	p   paints
	now time.Time
	r   *watch.Rollout
	// canTerminate adds the hint that T ends a running run.
	canTerminate bool
}

// lines are the analysis block: each run shown with a header, then, for a
// finished run, its decision, and per metric one line; full adds to each
// metric the condition it is tested against and its query. Both forms are
// made in one pass. nil when the rollout has no analysis.
func (d analysisDetail) lines(runs []*watch.AnalysisRun, width int) (compact, full []string) {
	p := d.p
	if len(runs) == 0 {
		if !d.r.HasAnalysis {
			return nil, nil
		}
		l := []string{p.muted.on("Analysis none running yet: the canary's analysis starts at its step")}
		return l, l
	}
	for _, a := range runs {
		head := []string{d.header(a, width)}
		if dec := d.r.AnalysisDecision(a); dec != "" {
			_, style := phaseLook(d.sym, p, a.Phase)
			for _, l := range wrap(dec, width-2) {
				head = append(head, "  "+style.on(l))
			}
		}
		compact = append(compact, head...)
		full = append(full, head...)
		for i := range a.Metrics {
			line := d.metricLine(a, &a.Metrics[i], width)
			compact = append(compact, line)
			full = append(full, line, d.queryLine(&a.Metrics[i], width))
		}
	}
	return compact, full
}

func (d analysisDetail) header(a *watch.AnalysisRun, width int) string {
	p, sym := d.p, d.sym
	psym, style := phaseLook(sym, p, a.Phase)
	dot := p.muted.on(" " + sym.Dot + " ")
	s := p.muted.on("Analysis ") + style.on(psym+" "+string(a.Phase)) + dot + p.text.on(a.Where()) + dot + p.muted.on(a.Name)
	switch {
	case a.Terminating && !a.Done():
		s += dot + p.warn.on("terminating")
	case !a.Started.IsZero() && !a.Done():
		s += p.muted.on(" " + sym.Dot + " for " + age(d.now.Sub(a.Started)))
	}
	if d.canTerminate && a.Running() {
		s += dot + p.key.on("T") + p.muted.on(" ends it")
	}
	return fit(s, width, sym.Ellipsis)
}

// metricLine: phase, name, how far it got, its failures against the limit
// (and inconclusive results and errors when there are any), the latest
// values with a sparkline, and when it is next measured.
func (d analysisDetail) metricLine(a *watch.AnalysisRun, m *watch.AnalysisMetric, width int) string {
	p, sym := d.p, d.sym
	psym, pstyle := phaseLook(sym, p, m.Phase)
	dot := p.muted.on(" " + sym.Dot + " ")
	line := "  " + pstyle.on(psym) + " " + p.text.on(fit(m.Name, 12, sym.Ellipsis))
	if m.DryRun {
		line += " " + p.muted.on("dry-run (does not decide)")
	}
	progress := strconv.Itoa(int(m.Measured))
	if m.Bounded {
		progress += "/" + strconv.Itoa(int(m.Count))
	}
	line += " " + p.text.on(progress) + dot + countsText(sym, p, m, false)
	tail := ""
	switch {
	case m.Measuring:
		tail = dot + p.muted.on("measuring"+sym.Ellipsis)
	case !m.Next.IsZero() && !a.Done():
		next := "due now"
		if m.Next.After(d.now) {
			next = "next in " + countdown(m.Next.Sub(d.now))
		}
		tail = dot + p.muted.on(next)
	}
	if values, spark := d.values(m, width-cells(line)-cells(tail)-3); values != "" {
		line += dot + p.text.on(values)
		if spark != "" {
			line += " " + pstyle.on(spark)
		}
	}
	return fit(line+tail, width, sym.Ellipsis)
}

// countsText: "✓3 · failed 0 of limit 0", with inconclusive results and
// errors in a row against their limits when there are any (always with all).
func countsText(sym themes.Symbols, p paints, m *watch.AnalysisMetric, all bool) string {
	dot := p.muted.on(" " + sym.Dot + " ")
	failStyle := p.text
	if m.Failed > 0 {
		failStyle = p.bad
	}
	limit := strconv.Itoa(int(m.FailureLimit))
	if m.FailureLimit < 0 {
		limit = "off"
	}
	s := p.ok.on(sym.Healthy+strconv.Itoa(int(m.Successful))) + dot + failStyle.on(fmt.Sprintf("failed %d of limit %s", m.Failed, limit))
	if all || m.Inconclusive > 0 || m.InconclusiveLimit > 0 {
		style := p.text
		if m.Inconclusive > 0 {
			style = p.warn
		}
		s += dot + style.on(fmt.Sprintf("inconclusive %d of limit %d", m.Inconclusive, m.InconclusiveLimit))
	}
	if all || m.Error > 0 {
		style := p.text
		if m.ConsecutiveError > 0 {
			style = p.warn
		}
		s += dot + style.on(fmt.Sprintf("errors %d in a row of limit %d", m.ConsecutiveError, m.ConsecutiveErrorLimit))
	}
	if m.ConsecutiveSuccessLimit > 0 {
		s += dot + p.text.on(fmt.Sprintf("successes %d in a row of %d", m.ConsecutiveSuccess, m.ConsecutiveSuccessLimit))
	}
	return s
}

// values is as many of the latest measured values as fit in width, newest
// last, and a sparkline of them all.
func (d analysisDetail) values(m *watch.AnalysisMetric, width int) (string, string) {
	if len(m.Measurements) == 0 || width < 8 {
		return "", ""
	}
	s := metrics.Series{Found: true}
	texts := make([]string, 0, len(m.Measurements))
	for _, x := range m.Measurements {
		v, err := strconv.ParseFloat(x.Value, 64)
		switch {
		case x.Phase == v1alpha1.AnalysisPhaseRunning:
			continue
		case x.Phase == v1alpha1.AnalysisPhaseError:
			texts = append(texts, "err")
			s.Points = append(s.Points, metrics.Point{Null: true})
		case err != nil || math.IsNaN(v):
			texts = append(texts, fit(orDash(x.Value), 8, d.sym.Ellipsis))
			s.Points = append(s.Points, metrics.Point{Null: true})
		default:
			texts = append(texts, strconv.FormatFloat(v, 'g', 4, 64))
			s.Points = append(s.Points, metrics.Point{Value: v})
		}
	}
	// On a scale from 0 to the condition's threshold (or the values, when
	// higher): the sparkline shows how close the metric is to its limit.
	lo, hi := seriesRange(s)
	if limit, ok := m.Threshold(); ok && limit > 0 {
		hi = math.Max(hi, limit)
	}
	spark := sparkline(s, len(s.Points), lo, hi, d.sym.Spark)
	room := width - len(s.Points) - 1
	shown := ""
	for i := len(texts) - 1; i >= 0; i-- {
		next := texts[i]
		if shown != "" {
			next += " " + shown
		}
		if cells(next) > room {
			break
		}
		shown = next
	}
	if shown == "" {
		return "", ""
	}
	return strings.TrimSpace(shown), spark
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// queryLine is the condition a metric is tested against, then what it
// asks its provider, as the run has it.
func (d analysisDetail) queryLine(m *watch.AnalysisMetric, width int) string {
	var conds []string
	if m.FailureCondition != "" {
		conds = append(conds, "fails when "+m.FailureCondition)
	}
	if m.SuccessCondition != "" {
		conds = append(conds, "passes when "+m.SuccessCondition)
	}
	if len(conds) == 0 {
		conds = append(conds, "no condition: every answer passes")
	}
	s := "    " + d.p.text.on(strings.Join(conds, ", "))
	if m.Query != "" {
		s += d.p.muted.on(" " + d.sym.Dot + " " + m.Provider + ": " + oneLine(m.Query))
	}
	return fit(s, width, d.sym.Ellipsis)
}

// gateLine says what roost's judge gate does with the canary: off, or
// armed to hold or abort after so many failing rounds, and how many are
// left before it acts. nil without a gate or a canary.
func (m *Model) gateLine(r *watch.Rollout) []string {
	gate := m.clusterOf(r).JudgeGate
	if gate == nil || (r.Canary == nil && r.JudgeHeld == "") {
		return nil
	}
	t := m.th
	label := ink(&t.Muted, "Gate   ")
	if r.HasAnalysis {
		return []string{label + ink(&t.Muted, "judge gate off here: the rollout's AnalysisRuns decide")}
	}
	g := gate(r)
	var s string
	style := t.Text
	switch {
	case r.JudgeHeld != "":
		s, style = "judge gate acted: it holds the canary (see Held)", t.Degraded
	case g.Mode == "" || g.Mode == "off":
		s, style = "judge gate off: the judge's verdict is shown, nothing acts on it", t.Muted
	case !g.Counted:
		s = fmt.Sprintf("judge gate armed: %s after %s in a row (counted by the roost that steps the canaries)", g.Mode, plural(g.Rounds, "failing round", "failing rounds"))
	default:
		left := max(g.Rounds-g.Fails, 0)
		s = fmt.Sprintf("judge gate armed: %s after %s in a row; %d so far, %s before it acts", g.Mode, plural(g.Rounds, "failing round", "failing rounds"), g.Fails, plural(left, "round", "rounds"))
		if g.Fails > 0 {
			style = t.Warn
		}
	}
	if g.Problem != "" {
		s += "; " + g.Problem
	}
	return []string{label + style.Render(s)}
}

// analysisScreen is the analysis part of the `m` screen: every run kept,
// each metric with all its counts, its condition and its query.
func (m *Model) analysisScreen(r *watch.Rollout, width int) []string {
	if len(r.Analysis) == 0 && !r.HasAnalysis {
		return nil
	}
	d := analysisDetail{sym: m.th.Symbols, p: m.paint, now: m.now, r: r, canTerminate: !m.opt.ReadOnly}
	runs := make([]*watch.AnalysisRun, len(r.Analysis))
	for i := range r.Analysis {
		runs[i] = &r.Analysis[i]
	}
	var out []string
	_, full := d.lines(runs, width)
	for i, line := range full {
		if i > 0 && strings.HasPrefix(line, m.paint.muted.on("Analysis ")) {
			out = append(out, "")
		}
		out = append(out, line)
	}
	return out
}

// analysisTicks are the countdowns of r's analysis on screen: each
// metric's next measurement.
func analysisTicks(r *watch.Rollout, now time.Time, consider func(time.Duration)) {
	for i := range r.Analysis {
		a := &r.Analysis[i]
		if a.Done() {
			continue
		}
		for _, mt := range a.Metrics {
			if !mt.Next.IsZero() && mt.Next.After(now) {
				consider(nextCountdownChange(mt.Next.Sub(now)))
			}
		}
		if !a.Started.IsZero() {
			consider(nextAgeChange(now.Sub(a.Started)))
		}
	}
}
