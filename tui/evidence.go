package tui

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// evidenceOf is what is known beyond Kubernetes of r, and why not, when
// nothing is.
func (m *Model) evidenceOf(r *watch.Rollout) (metrics.Evidence, string) {
	if c := m.clusterOf(r); c.Evidence == nil {
		return metrics.Evidence{MetricsOff: orOff(cmp.Or(c.MetricsOff, m.opt.MetricsOff)), ErrorsOff: orOff(cmp.Or(c.ErrorsOff, m.opt.ErrorsOff))}, ""
	}
	ev, ok := m.evidence[keyOf(r)]
	if !ok {
		if r.CanaryUnderWay() {
			return metrics.Evidence{}, "waiting for the first answer" + m.th.Symbols.Ellipsis
		}
		return metrics.Evidence{}, "not polled: the rollout has no canary under way"
	}
	return ev, ""
}

// judgeOf is what a promote dialog says of r's canary: the judge's score,
// the worst metric against stable and the errors new in the canary; and
// whether the score is Fail.
func (m *Model) judgeOf(r *watch.Rollout) (string, bool) {
	if m.clusterOf(r).Evidence == nil {
		return "", false
	}
	ev, ok := m.evidence[keyOf(r)]
	if !ok {
		return "judge: no evidence yet", false
	}
	parts := []string{"judge: score " + string(ev.Score)}
	if worst, worstRatio, ok := worstMetric(ev.Metrics); ok {
		c, _ := worst.Canary.Latest()
		st, _ := worst.Stable.Latest()
		parts = append(parts, fmt.Sprintf("worst %s %.3g× stable (canary %s vs %s)", worst.Name, worstRatio, formatValue(c.Value, worst.Unit), formatValue(st.Value, worst.Unit)))
	}
	newErrors := 0
	for _, e := range ev.Errors {
		if e.New {
			newErrors++
		}
	}
	if newErrors > 0 {
		parts = append(parts, plural(newErrors, "error new in the canary", "errors new in the canary"))
	}
	if ev.MetricsState.Stale {
		parts = append(parts, "metrics stale")
	}
	return strings.Join(parts, "; "), ev.Score == metrics.ScoreFail
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

// freshness says how current one source's evidence is: never a stale value
// shown as if it were fresh.
func (m *Model) freshness(f metrics.Freshness) (string, lipgloss.Style) {
	t := m.th
	switch {
	case f.Stale:
		s := "stale: " + oneLine(f.Reason)
		if f.FetchedAt.IsZero() {
			s += "; no data yet"
		} else {
			s += "; data from " + m.sinceText(f.FetchedAt)
		}
		switch {
		case f.RetryAt.IsZero():
		case f.RetryAt.After(m.now):
			s += ", next try in " + countdown(f.RetryAt.Sub(m.now))
		default:
			s += ", trying again now"
		}
		return s, t.Warn
	case f.FetchedAt.IsZero():
		return "waiting for the first answer" + t.Symbols.Ellipsis, t.Muted
	}
	return "updated " + m.sinceText(f.FetchedAt), t.Muted
}

// offLine is a section's one line when its source is off (why: off, else
// sideOff) and there is nothing to show.
func (m *Model) offLine(p panel, title, off, sideOff string, empty bool, width int) (string, bool) {
	if off == "" {
		off = sideOff
	}
	if off == "" || !empty {
		return "", false
	}
	return fit(m.sectionTitle(p, title)+ink(&m.th.Muted, ": "+oneLine(off)), width, m.th.Symbols.Ellipsis), true
}

// metricsSection is one line per metric, canary against stable, under a
// title that says how fresh they are. At most height lines.
func (m *Model) metricsSection(r *watch.Rollout, width, height int) []string {
	t := m.th
	ev, off := m.evidenceOf(r)
	title := "Metrics, Datadog"
	if line, isOff := m.offLine(panelMetrics, title, off, ev.MetricsOff, len(ev.Metrics) == 0, width); isOff {
		return []string{line}
	}
	fresh, style := m.freshness(ev.MetricsState)
	head := m.sectionTitle(panelMetrics, title) + ink(&t.Muted, " "+t.Symbols.Dot+" ") + style.Render(fresh)
	if ev.Score != "" && ev.Score != metrics.ScoreNoData && !ev.MetricsState.Stale {
		head += ink(&t.Muted, " "+t.Symbols.Dot+" score ") + m.scoreStyle(ev.Score).Render(string(ev.Score))
	}
	if ev.MetricsFrom != "" {
		head += ink(&t.Muted, " "+t.Symbols.Dot+" "+ev.MetricsFrom)
	}
	out := []string{fit(head, width, t.Symbols.Ellipsis)}
	var lines []string
	for _, mt := range ev.Metrics {
		lines = append(lines, m.metricLine(mt, width, ev.MetricsState.Stale))
	}
	return append(out, scrolled(lines, m.scroll[panelMetrics], height-1)...)
}

func (m *Model) scoreStyle(s metrics.Score) lipgloss.Style {
	switch s {
	case metrics.ScorePass:
		return m.th.OK
	case metrics.ScoreMarginal:
		return m.th.Warn
	case metrics.ScoreFail:
		return m.th.Bad
	}
	return m.th.Muted
}

// metricLine: name, canary and stable latest values, their ratio and the
// verdict, then both series as sparklines on one scale.
func (m *Model) metricLine(mt metrics.Metric, width int, stale bool) string {
	t := m.th
	sym := t.Symbols
	name := fit(mt.Name, 12, sym.Ellipsis)
	if mt.Error != "" {
		return fit("  "+ink(&t.Text, name)+" "+ink(&t.Bad, "query failed: "+oneLine(mt.Error)), width, sym.Ellipsis)
	}
	canary := m.valueText(mt.Canary, mt.Unit)
	stable := m.valueText(mt.Stable, mt.Unit)
	ratio := "  -  "
	if r, ok := mt.Ratio(); ok {
		ratio = ratioText(r, sym.Times)
	}
	verdict, vstyle := m.verdictText(mt, stale)
	line := "  " + ink(&t.Text, name) + " " +
		ink(&t.Canary, sym.Canary+" "+fitLeft(canary, 9, sym.Ellipsis)) + "  " +
		ink(&t.Stable, sym.Stable+" "+fitLeft(stable, 9, sym.Ellipsis)) + "  " +
		vstyle.Render(fitLeft(ratio, 6, "")+" "+fit(verdict, 7, "")) + " "
	if spark := width - cells(line) - 5; spark >= 8 {
		lo, hi := seriesRange(mt.Canary, mt.Stable)
		half := spark / 2
		line += ink(&t.Canary, sparkline(mt.Canary, half, lo, hi, sym.Spark)) + "  " + ink(&t.Stable, sparkline(mt.Stable, spark-half, lo, hi, sym.Spark))
	}
	return fit(line, width, sym.Ellipsis)
}

// valueText is a side's latest value in the metric's unit, or why there is
// none.
func (m *Model) valueText(s metrics.Series, unit string) string {
	if !s.Found {
		return "no data"
	}
	p, ok := s.Latest()
	if !ok {
		return "no data"
	}
	return formatValue(p.Value, unit)
}

func formatValue(v float64, unit string) string {
	abs := math.Abs(v)
	var n string
	switch {
	case abs == 0:
		n = "0"
	case abs >= 100:
		n = fmt.Sprintf("%.0f", v)
	case abs >= 10:
		n = fmt.Sprintf("%.1f", v)
	default:
		n = fmt.Sprintf("%.2f", v)
	}
	switch unit {
	case "":
		return n
	case "%", "ms":
		return n + unit
	case "req/s":
		return n + "/s"
	}
	return n + " " + unit
}

// verdictText words the judge's verdict, coloured by whether it is bad.
func (m *Model) verdictText(mt metrics.Metric, stale bool) (string, lipgloss.Style) {
	t := m.th
	if stale {
		return "stale", t.Warn
	}
	switch mt.Verdict {
	case metrics.VerdictPass:
		return "ok", t.OK
	case metrics.VerdictHigh:
		if mt.HigherIsWorse {
			return "HIGH", t.Bad
		}
		return "higher", t.Text
	case metrics.VerdictLow:
		// A request rate follows the canary's weight: lower is not bad by
		// itself, and the score leaves it out.
		return "lower", t.Text
	}
	if _, ok := mt.Ratio(); ok {
		// Both sides have values, too few yet to judge.
		return "too few", t.Muted
	}
	return "no data", t.Muted
}

// seriesRange is the scale both sides of a metric share, so their
// sparklines compare.
func seriesRange(series ...metrics.Series) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			if p.Null || math.IsNaN(p.Value) {
				continue
			}
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 0
	}
	return math.Min(lo, 0), hi
}

// sparkline draws the last width points of s between lo and hi; a point with
// no data is a space, and a missing side is a row of spaces.
func sparkline(s metrics.Series, width int, lo, hi float64, levels string) string {
	if width <= 0 {
		return ""
	}
	lv := []rune(levels)
	pts := s.Points
	if len(pts) > width {
		pts = pts[len(pts)-width:]
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", width-len(pts)))
	for _, p := range pts {
		if p.Null || math.IsNaN(p.Value) {
			b.WriteByte(' ')
			continue
		}
		i := 0
		if hi > lo {
			i = int(math.Round((p.Value - lo) / (hi - lo) * float64(len(lv)-1)))
		}
		b.WriteRune(lv[min(max(i, 0), len(lv)-1)])
	}
	return b.String()
}

// errorsSection lists the canary stage's Bugsnag errors, new ones marked.
func (m *Model) errorsSection(r *watch.Rollout, width, height int) []string {
	t := m.th
	ev, off := m.evidenceOf(r)
	title := "Errors, Bugsnag canary stage"
	if line, isOff := m.offLine(panelErrors, title, off, ev.ErrorsOff, len(ev.Errors) == 0, width); isOff {
		return []string{line}
	}
	fresh, style := m.freshness(ev.ErrorsState)
	newCount := 0
	for _, e := range ev.Errors {
		if e.New {
			newCount++
		}
	}
	head := m.sectionTitle(panelErrors, title) + ink(&t.Muted, " "+t.Symbols.Dot+" ")
	switch {
	case len(ev.Errors) == 0 && !ev.ErrorsState.FetchedAt.IsZero():
		head += ink(&t.OK, "none since the canary began") + ink(&t.Muted, " "+t.Symbols.Dot+" ")
	case len(ev.Errors) > 0:
		head += ink(&t.Text, plural(len(ev.Errors), "error", "errors"))
		if newCount > 0 {
			head += ink(&t.Muted, ", ") + ink(&t.Bad, fmt.Sprintf("%d new in canary", newCount))
		}
		head += ink(&t.Muted, " "+t.Symbols.Dot+" ")
	}
	out := []string{fit(head+style.Render(fresh), width, t.Symbols.Ellipsis)}
	var lines []string
	focused := m.focus == panelErrors
	for i, e := range ev.Errors {
		lines = append(lines, m.errorLine(e, width, focused && i == m.errCursor))
	}
	// The picked error stays in view.
	offset := 0
	if focused {
		offset = max(m.errCursor-(height-2), 0)
	}
	return append(out, scrolled(lines, offset, height-1)...)
}

// errorLine is one error on one line; picked marks the one enter opens.
func (m *Model) errorLine(e metrics.Error, width int, picked bool) string {
	t := m.th
	mark := "   "
	if e.New {
		mark = ink(&t.Bad, t.Symbols.New+"  ")
	}
	lead := "  "
	if picked {
		lead = ink(&t.Key, t.Symbols.Cursor) + " "
	}
	counts := ink(&t.Muted, fmt.Sprintf("  %s, %s, first %s", plural(e.Events, "event", "events"), plural(e.Users, "user", "users"), m.sinceText(e.FirstSeen)))
	line := lead + mark + ink(&t.Text, e.Class) + ink(&t.Muted, ": ") + ink(&t.Text, oneLine(e.Message))
	if room := width - cells(counts); cells(line) > room {
		line = fit(line, max(room, 10), t.Symbols.Ellipsis)
	}
	return fit(line+counts, width, t.Symbols.Ellipsis)
}

// metricsScreen is `m`: the evidence of one rollout over the whole width,
// each metric with a chart of both sides.
func (m *Model) metricsScreen(width, height int) []string {
	t := m.th
	r := m.current()
	if r == nil {
		return m.box(ink(&t.Title, "Metrics"), true, width, height, []string{ink(&t.Muted, "No rollout selected.")})
	}
	inner := width - 4
	sym := t.Symbols
	title := ink(&t.Title, "Metrics of "+r.Namespace+"/"+r.Name) + ink(&t.Muted, " "+sym.Dot+" canary "+sym.Canary+" against stable "+sym.Stable)
	ev, off := m.evidenceOf(r)
	lines := m.analysisScreen(r, inner)
	if len(lines) > 0 {
		lines = append(lines, "")
	}
	if off == "" && ev.MetricsOff != "" && len(ev.Metrics) == 0 {
		off = ev.MetricsOff
	}
	if off != "" && len(ev.Metrics) == 0 {
		lines = append(lines, ink(&t.Muted, "Datadog: "+oneLine(off)))
	} else {
		fresh, style := m.freshness(ev.MetricsState)
		lines = append(lines, ink(&t.Muted, "Datadog: ")+style.Render(fresh))
		if ev.MetricLinksOff != "" {
			for _, l := range wrap(oneLine(ev.MetricLinksOff), inner) {
				lines = append(lines, ink(&t.Muted, l))
			}
		}
		for _, mt := range ev.Metrics {
			lines = append(lines, "")
			lines = append(lines, m.metricChart(mt, inner, ev.MetricsState.Stale)...)
		}
	}
	lines = append(lines, "")
	errs := m.errorsSection(r, inner, max(height-2-len(lines), 2))
	lines = append(lines, errs...)
	return m.box(title, true, width, height, scrolled(lines, m.scroll[panelMetrics], height-2))
}

// metricChart is a metric's values and a sparkline per side over the window.
func (m *Model) metricChart(mt metrics.Metric, width int, stale bool) []string {
	t := m.th
	sym := t.Symbols
	if mt.Error != "" {
		return append([]string{ink(&t.Text, mt.Name) + " " + ink(&t.Bad, "query failed: "+oneLine(mt.Error))}, m.metricLink(mt, width)...)
	}
	verdict, vstyle := m.verdictText(mt, stale)
	ratio := "no ratio"
	if r, ok := mt.Ratio(); ok {
		ratio = "canary/stable " + ratioText(r, sym.Times)
	}
	head := ink(&t.Title, mt.Name) + ink(&t.Muted, " "+t.Symbols.Dot+" ") + vstyle.Render(ratio+" "+verdict)
	lo, hi := seriesRange(mt.Canary, mt.Stable)
	label := func(symbol, name string, s metrics.Series) string {
		return fmt.Sprintf("%s %s %9s ", symbol, name, m.valueText(s, mt.Unit))
	}
	cl := label(sym.Canary, "canary", mt.Canary)
	sl := label(sym.Stable, "stable", mt.Stable)
	spark := max(width-cells(cl), 0)
	out := []string{
		fit(head, width, sym.Ellipsis),
		ink(&t.Canary, cl+sparkline(mt.Canary, spark, lo, hi, sym.Spark)),
		ink(&t.Stable, sl+sparkline(mt.Stable, spark, lo, hi, sym.Spark)),
		ink(&t.Muted, fit("  "+mt.Query, width, sym.Ellipsis)),
	}
	return append(out, m.metricLink(mt, width)...)
}

// metricLink is the metric's graph in Datadog, the whole address over as
// many lines as it takes.
func (m *Model) metricLink(mt metrics.Metric, width int) []string {
	if mt.Link == "" {
		return nil
	}
	return append([]string{ink(&m.th.Muted, "  graph in Datadog:")}, linkLines(mt.Link, width, m.th.Muted.Render)...)
}
