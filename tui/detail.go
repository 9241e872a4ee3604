package tui

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// detailBlock is one part of the detail panel. Blocks are dropped, least
// important first, when the panel is short; the rest keep their order.
type detailBlock struct {
	lines []string
	// rank: lower is kept longer.
	rank int
	// grow is set for the one block that takes the height left (events).
	grow bool
	// full, when set, is a longer form of lines, shown instead when the
	// height left after every kept block allows.
	full []string
	// pods is set for the pods panel, whose lines are only counted here:
	// it is drawn once its rows are known.
	pods bool
	// analysis is set for the analysis block, which the detail's memo
	// draws again for its countdowns.
	analysis bool
}

// rolloutDetail renders the parts of the detail that depend on the rollout
// alone (its phase, problems, steps, pause, pods and ReplicaSets), not on the
// cockpit's focus, scroll or evidence.
type rolloutDetail struct {
	th  *themes.Theme
	now time.Time
	r   *watch.Rollout
}

func (d rolloutDetail) weightLine() string {
	return ink(&d.th.Muted, "Weight ") + ink(&d.th.Text, fmt.Sprintf("desired %d%%, actual %d%% (canary's share of available pods)", d.r.DesiredWeight, d.r.ActualWeight))
}

// detailPanel shows the rollout under the cursor.
func (m *Model) detailPanel(width, height int) []string {
	t := m.th
	r := m.current()
	focused := m.screen == screenDetail || (m.split() && m.focus != panelList)
	if g := m.cursorGroup(); g != nil {
		return m.groupPanel(g, focused, width, height)
	}
	if r == nil {
		return m.box(ink(&t.Title, "Detail"), focused, width, height, []string{ink(&t.Muted, "No rollout selected: pick one in the list with up/down (k/j).")})
	}
	if m.memo == nil {
		lines, _ := m.drawDetail(r, focused, width, height)
		return lines
	}
	if lines, ok := m.memo.detail.get(m, r, focused, width, height); ok {
		return lines
	}
	lines, at := m.drawDetail(r, focused, width, height)
	m.memo.detail = detailMemo{analysis: at}
	m.memo.detail.keep(m, width, height, m.detailClockChange(r), lines)
	return slices.Clip(lines)
}

// analysisLines are the detail's analysis block of r, in a panel of inner
// width: both its forms.
func (m *Model) analysisLines(r *watch.Rollout, inner int) (compact, full []string) {
	ad := analysisDetail{sym: m.th.Symbols, p: m.paint, now: m.now, r: r, canTerminate: !m.opt.ReadOnly}
	return ad.lines(analysisShown(r), inner)
}

// analysisRows is where the analysis block is in a drawn detail panel: its
// first row (after the top border), how many rows, and in which form.
type analysisRows struct {
	first, n int
	full     bool
}

// drawDetail is detailPanel of r, drawn, and where its analysis block is.
func (m *Model) drawDetail(r *watch.Rollout, focused bool, width, height int) ([]string, analysisRows) {
	t := m.th
	inner := width - 4
	style, sym := t.Phase(string(r.Phase))
	title := style.Render(sym) + " " + ink(&t.Title, keyOf(r).String())
	if r.StepsTotal > 0 {
		title += ink(&t.Muted, " "+t.Symbols.Dot+" ") + ink(&t.Text, stepTitle(r))
	}

	d := rolloutDetail{th: t, now: m.now, r: r}
	compact, full := m.analysisLines(r, inner)
	// The pods panel comes with a few rows by its rank, and grows with the
	// room left (first, when it is focused).
	podsMin, podsRank := min(len(r.Pods), podRowsMin), 6
	if m.focus == panelPods {
		// Focused, it is what the person looks at: it comes before the
		// evidence, with more rows.
		podsMin, podsRank = min(len(r.Pods), podRowsFocused), 1
	}
	// On a short pane the evidence (metrics, analysis) stays before the
	// step timeline: the title says the step already.
	blocks := []detailBlock{
		{rank: 0, lines: m.clusterLines(r, inner)},
		{rank: 0, lines: d.phaseLines(inner)},
		{rank: 1, lines: d.problemLines(inner)},
		{rank: 7, lines: d.appLines(inner)},
		{rank: 3, lines: d.stepLines(inner)},
		{rank: 4, lines: d.pauseLines()},
		{rank: 4, lines: m.gateLine(r)},
		{rank: 2, lines: compact, full: full, analysis: true},
		{rank: 5, lines: []string{d.podsBar(inner)}},
		{rank: 10, lines: []string{d.weightLine()}},
		{rank: 9, lines: d.replicaSetLines(inner)},
		{rank: podsRank, pods: true, lines: make([]string, 1+podsMin)},
		{rank: 2, lines: m.metricsSection(r, inner, 4)},
		{rank: 7, lines: m.errorsSection(r, inner, 3)},
		// The events' title and newest one by rank; the rest of the room.
		{rank: 8, lines: make([]string, 2), grow: true},
	}
	room := height - 2
	// Keep blocks by rank while they fit; events get what is left, shared
	// with the pods panel.
	order := make([]int, len(blocks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return blocks[a].rank - blocks[b].rank })
	keep := make([]bool, len(blocks))
	used := 0
	for _, i := range order {
		b := blocks[i]
		if n := len(b.lines); used+n <= room {
			keep[i] = true
			used += n
		}
	}
	podRows := 0
	for i, b := range blocks {
		if b.pods && keep[i] {
			// The room left goes to more pods: all of it when the pods
			// panel is focused, else half (the events take the rest), up
			// to podRowsMax.
			left := room - used
			if m.focus != panelPods {
				left /= 2
			}
			podRows = podsMin + min(max(left, 0), podRowsMax-podsMin, len(r.Pods)-podsMin)
			used += podRows - podsMin
		}
	}
	// Then the longer forms, in the same order, while they fit.
	for _, i := range order {
		if b := &blocks[i]; keep[i] && b.full != nil && used+len(b.full)-len(b.lines) <= room {
			used += len(b.full) - len(b.lines)
			b.lines = b.full
		}
	}
	var content []string
	var at analysisRows
	for i, b := range blocks {
		switch {
		case b.grow && keep[i]:
			content = append(content, m.eventsSection(r, inner, room-used+len(b.lines))...)
		case keep[i] && b.pods:
			content = append(content, m.podsSection(r, inner, podRows)...)
		case keep[i]:
			if b.analysis {
				at = analysisRows{first: 1 + len(content), n: len(b.lines), full: len(b.lines) != len(compact)}
			}
			content = append(content, b.lines...)
		}
	}
	return m.box(title, focused, width, height, content), at
}

// stepTitle is "Step 2/4" while the second of four steps runs, "Step 4/4
// done" once all are: the step counted from 1, as the Events say it.
func stepTitle(r *watch.Rollout) string {
	step, done := r.CurrentStep()
	if done {
		return fmt.Sprintf("Step %d/%d done", step, r.StepsTotal)
	}
	return fmt.Sprintf("Step %d/%d", step, r.StepsTotal)
}

func (d rolloutDetail) phaseLines(width int) []string {
	r := d.r
	t := d.th
	style, _ := t.Phase(string(r.Phase))
	s := style.Render(string(r.Phase))
	if r.Message != "" {
		s += ink(&t.Muted, ": ") + ink(&t.Text, r.Message)
	}
	if r.SteppedBy != "" {
		s += ink(&t.Muted, " "+t.Symbols.Dot+" stepped by "+steppedByName(r.SteppedBy))
	}
	return []string{s}
}

func steppedByName(component string) string {
	if component == "rollouts-controller" {
		return "Argo Rollouts"
	}
	return component
}

// appLines say, in one line, which Argo CD Application deploys the
// rollout: its name, project, sync and health, and whether it auto-syncs
// with self-heal (then Argo CD reverts a change to the spec made by hand).
func (d rolloutDetail) appLines(width int) []string {
	a := d.r.App
	if a == nil {
		return nil
	}
	t := d.th
	dot := ink(&t.Muted, " "+t.Symbols.Dot+" ")
	name := a.Name
	if a.Namespace != "" && a.Namespace != watch.DefaultArgoCDNamespace {
		name = a.Namespace + "/" + a.Name
	}
	head := ink(&t.Muted, "Argo CD ") + ink(&t.Text, name)
	if !a.Known {
		mark := "its tracking annotation"
		if a.ByLabel {
			mark = "its instance label"
		}
		full := head + ink(&t.Muted, " (from "+mark+"; Application not readable: project, sync and health unknown)")
		if cells(full) <= width {
			return []string{full}
		}
		return []string{fit(head+ink(&t.Muted, " (Application not readable)"), width, t.Symbols.Ellipsis)}
	}
	var state []string
	for _, s := range []string{a.Sync, a.Health} {
		if s != "" {
			state = append(state, s)
		}
	}
	auto, short := "manual sync", ""
	switch {
	case a.SelfHeal && a.AutoSync:
		auto, short = "auto-sync with self-heal", "self-heal"
	case a.AutoSync:
		auto, short = "auto-sync", "auto-sync"
	}
	autoStyle := t.Text
	if a.Reverts() {
		autoStyle = t.Warn
	}
	full := head + dot + ink(&t.Muted, "project ") + ink(&t.Text, a.Project)
	for _, s := range state {
		full += dot + ink(&t.Text, s)
	}
	full += dot + autoStyle.Render(auto)
	if cells(full) <= width {
		return []string{full}
	}
	// Narrow: the same in fewer cells.
	compact := head + dot + ink(&t.Text, a.Project)
	if len(state) > 0 {
		compact += dot + ink(&t.Text, strings.Join(state, "/"))
	}
	if short != "" {
		compact += dot + autoStyle.Render(short)
	}
	return []string{fit(compact, width, t.Symbols.Ellipsis)}
}

// problemLines say why a rollout stopped: the abort reason, the refused spec.
func (d rolloutDetail) problemLines(width int) []string {
	r := d.r
	t := d.th
	var out []string
	if r.Aborted {
		reason := r.AbortReason
		switch {
		case reason == "" && r.AnalysisFailed():
			reason = "its analysis failed (below)"
		case reason == "":
			reason = "no reason given"
		}
		by := ""
		if r.AbortedBy != "" {
			by = " (by " + r.AbortedBy + ")"
		}
		for _, l := range wrap(t.Symbols.Degraded+" Aborted: "+reason+by+". Retry with r, or push a fixed version.", width) {
			out = append(out, ink(&t.Bad, l))
		}
	}
	if r.InvalidSpec != "" {
		for _, l := range wrap(t.Symbols.Degraded+" Invalid spec, roost will not step it: "+r.InvalidSpec, width) {
			out = append(out, ink(&t.Bad, l))
		}
	}
	return out
}

// stepLines are the steps as a timeline: done, current, to come.
func (d rolloutDetail) stepLines(width int) []string {
	r := d.r
	t := d.th
	sym := t.Symbols
	if len(r.Steps) == 0 {
		return []string{ink(&t.Muted, "Steps  none: the canary goes straight to 100%")}
	}
	sep := " " + ink(&t.Muted, "-") + " "
	label := ink(&t.Muted, "Steps  ")
	var parts []string
	for _, s := range r.Steps {
		text := stepLabel(s)
		switch s.State {
		case watch.StepDone:
			parts = append(parts, ink(&t.OK, sym.StepDone+" "+text))
		case watch.StepCurrent:
			parts = append(parts, ink(&t.Title, sym.StepCurrent+" "+text))
		default:
			parts = append(parts, ink(&t.Muted, sym.StepPending+" "+text))
		}
	}
	if int(r.StepIndex) >= len(r.Steps) {
		parts = append(parts, ink(&t.OK, sym.StepDone+" done"))
	}
	// Join into as few lines as the width allows.
	var out []string
	line := label
	for i, p := range parts {
		piece := p
		if i > 0 {
			piece = sep + p
		}
		if cells(line)+cells(piece) > width && cells(line) > cells(label) {
			out = append(out, line)
			line = strings.Repeat(" ", cells(label)) + p
			continue
		}
		line += piece
	}
	return append(out, line)
}

// stepLabel is a step in a few cells: "20%", "pause", "pause 2m".
func stepLabel(s watch.Step) string {
	if s.Weight != nil {
		return fmt.Sprintf("%d%%", *s.Weight)
	}
	text := strings.TrimSuffix(s.Text, " (until promoted)")
	for _, suffix := range []string{"h0m0s", "m0s"} {
		if strings.HasSuffix(text, suffix) {
			text = strings.TrimSuffix(text, suffix) + suffix[:1]
		}
	}
	return text
}

func (d rolloutDetail) pauseLines() []string {
	r := d.r
	t := d.th
	inStep := ""
	if !r.StepSince.IsZero() {
		inStep = ink(&t.Muted, " "+t.Symbols.Dot+" "+age(d.now.Sub(r.StepSince))+" in this step")
	}
	switch {
	case r.PauseUntilPromoted:
		return []string{ink(&t.Muted, "Pause  ") + ink(&t.Paused, "waiting for a promote: press p") + inStep}
	case r.JudgeHeld != "":
		return []string{ink(&t.Muted, "Held   ") + ink(&t.Degraded, "by roost's judge: "+r.JudgeHeld) +
			ink(&t.Muted, "; p promotes past it (the judge then counts afresh), a aborts") + inStep}
	case r.ManuallyPaused:
		return []string{ink(&t.Muted, "Pause  ") + ink(&t.Paused, "paused by hand (spec.paused): p resumes it") + inStep}
	case r.Paused && !r.PauseEnds.IsZero():
		return []string{ink(&t.Muted, "Pause  ") + ink(&t.Paused, countdown(r.PauseEnds.Sub(d.now))+" left") + ink(&t.Muted, ", then the next step starts by itself") + inStep}
	case inStep != "":
		return []string{ink(&t.Muted, "Since  ") + ink(&t.Text, age(d.now.Sub(r.StepSince))+" in this step")}
	}
	return nil
}

// podsBar draws canary pods left and stable pods right, in different
// textures: it reads without colour.
func (d rolloutDetail) podsBar(width int) string {
	r := d.r
	t := d.th
	sym := t.Symbols
	var cReady, cTotal, sReady, sTotal int
	if r.Canary != nil {
		cReady, cTotal = int(r.Canary.Ready), int(max(r.Canary.Total, r.Canary.Desired))
	}
	if r.Stable != nil {
		sReady, sTotal = int(r.Stable.Ready), int(max(r.Stable.Total, r.Stable.Desired))
	}
	left := ink(&t.Muted, "Pods   ") + ink(&t.Canary, fmt.Sprintf("%s canary %d/%d", sym.Canary, cReady, cTotal)) + " "
	right := " " + ink(&t.Stable, fmt.Sprintf("%d/%d stable %s", sReady, sTotal, sym.Stable))
	barWidth := min(width-cells(left)-cells(right), 40)
	total := cTotal + sTotal
	switch {
	case total == 0:
		return left + ink(&t.Muted, "no pods") + right
	case barWidth < 4:
		return left + right
	}
	// Every kind of pod present gets at least one cell.
	share := func(n int) int {
		if n == 0 {
			return 0
		}
		return max(n*barWidth/total, 1)
	}
	cr, cn, sr := share(cReady), share(cTotal-cReady), share(sReady)
	sn := max(barWidth-cr-cn-sr, 0)
	if sTotal-sReady == 0 {
		sr += sn
		sn = 0
	}
	bar := ink(&t.Canary, strings.Repeat(sym.BarCanary, cr)) + ink(&t.Muted, strings.Repeat(sym.BarEmpty, cn)) +
		ink(&t.Muted, strings.Repeat(sym.BarEmpty, sn)) + ink(&t.Stable, strings.Repeat(sym.BarStable, sr))
	return left + bar + right
}

func (d rolloutDetail) replicaSetLines(width int) []string {
	r := d.r
	t := d.th
	var out []string
	for _, x := range []struct {
		rs     *watch.ReplicaSet
		symbol string
		role   string
	}{{r.Stable, t.Symbols.Stable, "stable"}, {r.Canary, t.Symbols.Canary, "canary"}} {
		if x.rs == nil {
			continue
		}
		style := t.Stable
		if x.role == "canary" {
			style = t.Canary
		}
		roles := make([]string, 0, len(x.rs.PodsByRole))
		for _, k := range slices.Sorted(maps.Keys(x.rs.PodsByRole)) {
			name := k
			if name == "" {
				name = "(no role)"
			}
			roles = append(roles, fmt.Sprintf("role=%s:%d", name, x.rs.PodsByRole[k]))
		}
		images := make([]string, len(x.rs.Images))
		for i, img := range x.rs.Images {
			// The registry and path are the same on both sides; the name
			// and tag tell them apart.
			images[i] = img[strings.LastIndex(img, "/")+1:]
		}
		line := style.Render(fmt.Sprintf("%s %-6s", x.symbol, x.role)) + " " +
			ink(&t.Text, fmt.Sprintf("%s rev %s %s", x.rs.Name, x.rs.Revision, strings.Join(images, ","))) +
			ink(&t.Muted, fmt.Sprintf("  %d/%d ready  %s", x.rs.Ready, x.rs.Total, strings.Join(roles, " ")))
		out = append(out, fit(line, width, t.Symbols.Ellipsis))
	}
	return out
}

// sectionTitle marks the section that has the keys.
func (m *Model) sectionTitle(p panel, text string) string {
	t := m.th
	if m.focus == p {
		return ink(&t.Title, t.Symbols.StepCurrent+" "+text)
	}
	return ink(&t.Muted, "  "+text)
}

// eventsSection is the newest Events, with who acted.
func (m *Model) eventsSection(r *watch.Rollout, width, height int) []string {
	t := m.th
	out := []string{m.sectionTitle(panelEvents, "Events, newest first")}
	if len(r.Events) == 0 {
		return append(out, ink(&t.Muted, "  none yet"))
	}
	var lines []string
	for _, e := range r.Events {
		msg := e.Message
		if e.Actor != "" && !strings.Contains(msg, e.Actor) {
			msg += " (by " + e.Actor + ")"
		}
		style := t.Text
		if e.Type == "Warning" {
			style = t.Warn
		}
		lines = append(lines, fit(ink(&t.Muted, fitLeft(ageOr(e.Time, m.now), 4, ""))+" "+style.Render(e.Reason)+ink(&t.Muted, " ")+ink(&t.Text, oneLine(msg)), width, t.Symbols.Ellipsis))
	}
	return append(out, scrolled(lines, m.scroll[panelEvents], height-1)...)
}

// scrolled is the window of lines from offset (clamped) of height lines.
func scrolled(lines []string, offset, height int) []string {
	if height <= 0 {
		return nil
	}
	offset = min(offset, max(len(lines)-height, 0))
	end := min(offset+height, len(lines))
	return lines[offset:end]
}
