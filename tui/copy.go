package tui

// The copy key: a one-line summary for the incident channel, sent to the
// clipboard through the terminal (OSC 52), which works over ssh and, with
// set-clipboard on, through tmux.

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// clipboardHint says what to check when a copy does not arrive.
const clipboardHint = "not in your clipboard? tmux needs: set -g set-clipboard on"

// copyRollout copies the summary of the rollout under the cursor.
func (m Model) copyRollout() (Model, tea.Cmd) {
	r := m.current()
	if m.onGroup {
		m.status = status{text: "nothing to copy on a group line: move down to a rollout, then press C", level: levelWarn}
		return m, nil
	}
	if r == nil {
		m.status = status{text: "nothing to copy: no rollout is in view", level: levelWarn}
		return m, nil
	}
	text := m.rolloutSummary(r)
	m.status = status{text: fmt.Sprintf("copied %s's summary via the terminal (OSC 52); %s", keyOf(r), clipboardHint), level: levelOK}
	return m, tea.SetClipboard(text)
}

// copyError copies the open error's summary and link.
func (m Model) copyError() (Model, tea.Cmd, bool) {
	o := m.errOpen
	e := m.currentError()
	text := errorSummary(m.th.Symbols.Dot, o.key, e)
	m.status = status{text: fmt.Sprintf("copied %s of %s via the terminal (OSC 52); %s", e.Class, o.key, clipboardHint), level: levelOK}
	return m, tea.SetClipboard(text), true
}

// rolloutSummary is one line on r for the incident channel: where its
// canary is, the judge's word, the worst metric against stable, the errors
// new in the canary, and the links to the evidence. It never holds a key
// or a token: the links are the web apps', not the APIs'.
func (m *Model) rolloutSummary(r *watch.Rollout) string {
	sep := " " + m.th.Symbols.Dot + " "
	head := keyOf(r).String()
	if rev := revisionOf(r); rev != "" {
		head += " rev " + rev
	}
	if r.StepsTotal > 0 {
		head += fmt.Sprintf(" step %d/%d (%d%%)", r.StepIndex, r.StepsTotal, r.DesiredWeight)
	}
	if r.Aborted {
		head += " aborted"
	}
	parts := []string{head}
	ev, ok := m.evidence[keyOf(r)]
	if m.clusterOf(r).Evidence == nil || !ok {
		return strings.Join(parts, sep)
	}
	if ev.Score != "" && ev.Score != metrics.ScoreNoData {
		parts = append(parts, "judge "+string(ev.Score))
	}
	worst, ratio, found := worstMetric(ev.Metrics)
	if found {
		c, _ := worst.Canary.Latest()
		s, _ := worst.Stable.Latest()
		parts = append(parts, fmt.Sprintf("worst %s %.3g%s stable (%s vs %s)", worst.Name, ratio, m.th.Symbols.Times, formatValue(c.Value, worst.Unit), formatValue(s.Value, worst.Unit)))
	}
	if ev.MetricsState.Stale {
		parts = append(parts, "metrics stale: "+oneLine(ev.MetricsState.Reason))
	}
	newErrors := 0
	for _, e := range ev.Errors {
		if e.New {
			newErrors++
		}
	}
	if len(ev.Errors) > 0 {
		parts = append(parts, plural(newErrors, "new error", "new errors")+fmt.Sprintf(" of %d", len(ev.Errors)))
	}
	link := ""
	if found {
		link = worst.Link
	} else if h, ok := ev.Headline(m.opt.Headline); ok {
		link = h.Link
	}
	if link != "" {
		parts = append(parts, link)
	}
	if ev.ErrorsURL != "" {
		parts = append(parts, ev.ErrorsURL)
	}
	return strings.Join(parts, sep)
}

// errorSummary is one line on one error: where, what, how often, the link.
func errorSummary(dot string, k rolloutKey, e metrics.Error) string {
	sep := " " + dot + " "
	parts := []string{k.String() + ": " + e.Class + ": " + oneLine(e.Message),
		fmt.Sprintf("%s, %s in the canary", plural(e.Events, "event", "events"), plural(e.Users, "user", "users"))}
	if e.New {
		parts = append(parts, "new in the canary")
	}
	if e.URL != "" {
		parts = append(parts, e.URL)
	}
	return strings.Join(parts, sep)
}

// worstMetric is the metric whose canary is furthest above stable among
// those where higher is worse, and its ratio.
func worstMetric(ms []metrics.Metric) (metrics.Metric, float64, bool) {
	var worst metrics.Metric
	best := 0.0
	for _, mt := range ms {
		if !mt.HigherIsWorse {
			continue
		}
		if r, ok := mt.Ratio(); ok && r > best {
			worst, best = mt, r
		}
	}
	return worst, best, best > 0
}

// revisionOf is the revision of r's canary, else of its stable.
func revisionOf(r *watch.Rollout) string {
	switch {
	case r.Canary != nil && r.Canary.Revision != "":
		return r.Canary.Revision
	case r.Stable != nil:
		return r.Stable.Revision
	}
	return ""
}
