package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// column is one column of the overview. Columns with a drop rank give way,
// highest rank first, when the terminal is too narrow for all of them.
type column struct {
	title string
	// width is fixed; flex columns (width 0) share what is left, from min up
	// to the longest cell.
	width, min int
	right      bool
	drop       int
	cell       func(m *Model, r *watch.Rollout) (string, paint)
}

// overviewColumns are the overview's columns for this model.
func (m *Model) overviewColumns() []column {
	t := m.paint
	plain := func(s string) (string, paint) { return s, t.text }
	// What drops first on a narrow pane: what the header already says, then
	// what only adds detail (SINCE, WEIGHT, the pods); STATE and the
	// headline ratio say whether the rollout needs you, and go last.
	nsDrop := 6
	if m.opt.Namespace != "" {
		// The header names the one namespace already.
		nsDrop = 10
	}
	var cols []column
	if m.multiCluster() {
		// Over several clusters the same name shows once per cluster: the
		// cluster tells them apart, and says when its watches fail.
		// Cluster names often share a prefix (prod-…): the column keeps
		// room for a whole name, up to 14 cells.
		longest := 0
		for _, c := range m.clusters {
			longest = max(longest, len(c.Name))
		}
		cols = append(cols, column{title: "CLUSTER", min: min(max(longest, 6), 14), drop: 2, cell: func(m *Model, r *watch.Rollout) (string, paint) { return m.clusterCell(r) }})
	}
	cols = append(cols, []column{
		{title: "NAME", min: 10, cell: func(_ *Model, r *watch.Rollout) (string, paint) { return plain(r.Name) }},
		{title: "NAMESPACE", min: 8, drop: nsDrop, cell: func(_ *Model, r *watch.Rollout) (string, paint) { return r.Namespace, t.muted }},
		{title: "STATE", width: 11, drop: 2, cell: func(m *Model, r *watch.Rollout) (string, paint) { return m.stateText(r) }},
		{title: "STEP", width: 5, right: true, drop: 4, cell: func(m *Model, r *watch.Rollout) (string, paint) { return plain(stepText(r, m.th.Symbols.StepDone)) }},
		{title: "WEIGHT", width: 7, right: true, drop: 8, cell: func(_ *Model, r *watch.Rollout) (string, paint) {
			return plain(fmt.Sprintf("%d/%d", r.DesiredWeight, r.ActualWeight))
		}},
		{title: "CANARY", width: 6, right: true, drop: 5, cell: func(_ *Model, r *watch.Rollout) (string, paint) { return podsText(r.Canary), t.canary }},
		{title: "STABLE", width: 6, right: true, drop: 7, cell: func(_ *Model, r *watch.Rollout) (string, paint) { return podsText(r.Stable), t.stable }},
		{title: "SINCE", width: 5, right: true, drop: 9, cell: func(m *Model, r *watch.Rollout) (string, paint) {
			if r.StepSince.IsZero() {
				return "-", t.muted
			}
			return age(m.now.Sub(r.StepSince)), t.muted
		}},
	}...)
	if anyAnalysis(m.all) {
		// It says whether a rollout needs you: it gives way with ERR×,
		// after every count.
		cols = append(cols, column{title: "ANALYSIS", width: 14, drop: 3, cell: func(m *Model, r *watch.Rollout) (string, paint) {
			s := analysisMarker(r, m.th.Symbols)
			if s == "" {
				return "-", t.muted
			}
			return s, t.analysis(r)
		}})
	}
	if m.anyEvidence() {
		cols = append(cols, column{title: m.headlineTitle(), width: 6, right: true, drop: 3, cell: func(m *Model, r *watch.Rollout) (string, paint) {
			return m.headlineCell(r)
		}})
	}
	return cols
}

// layoutColumns drops columns until the rest fit width, and sizes the flex
// ones; it returns the kept columns, their widths and the gap between them.
func layoutColumns(cols []column, rows []*watch.Rollout, width int) ([]column, []int, int) {
	need := func(cs []column) int {
		n := len(cs) - 1
		for _, c := range cs {
			n += max(c.width, c.min)
		}
		return n
	}
	for need(cols) > width {
		worst := -1
		for i, c := range cols {
			if c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		cols = append(cols[:worst:worst], cols[worst+1:]...)
	}
	widths := make([]int, len(cols))
	spare := width - need(cols)
	for i, c := range cols {
		widths[i] = max(c.width, c.min)
	}
	// Flex columns grow to their longest cell, the earlier ones first.
	for i, c := range cols {
		if c.width != 0 || spare <= 0 {
			continue
		}
		// Kubernetes names are ASCII: their length is their width.
		longest := len(c.title)
		for _, r := range rows {
			switch c.title {
			case "NAME":
				longest = max(longest, len(r.Name))
			case "CLUSTER":
				// The name and, when its watches fail, a symbol.
				longest = max(longest, len(r.Cluster)+2)
			default:
				longest = max(longest, len(r.Namespace))
			}
		}
		grow := min(max(longest-widths[i], 0), spare)
		widths[i] += grow
		spare -= grow
	}
	// What is left widens the gaps a little; the rest stays at the end.
	gap := 1
	if len(cols) > 1 {
		gap += min(spare/(len(cols)-1), 2)
	}
	return cols, widths, gap
}

// stepText is the step a rollout is at, counted from 1 as its Events and
// the detail count them ("2/4"), with done's mark once every step is done
// ("4/4✓").
func stepText(r *watch.Rollout, done string) string {
	if r.StepsTotal == 0 {
		return "-"
	}
	step, finished := r.CurrentStep()
	if finished {
		return fmt.Sprintf("%d/%d%s", step, r.StepsTotal, done)
	}
	return fmt.Sprintf("%d/%d", step, r.StepsTotal)
}

func podsText(rs *watch.ReplicaSet) string {
	if rs == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", rs.Ready, rs.Total)
}

// stateText says in a word or two what the rollout waits for.
func (m *Model) stateText(r *watch.Rollout) (string, paint) {
	t := m.paint
	switch {
	case r.InvalidSpec != "":
		return "invalid spec", t.degraded
	case r.Aborted:
		return "aborted", t.degraded
	case r.Phase == "Degraded":
		return "degraded", t.degraded
	case r.PauseUntilPromoted:
		return "promote?", t.paused
	case r.JudgeHeld != "":
		return "held by judge", t.degraded
	case r.ManuallyPaused:
		return "paused", t.paused
	case r.Paused && !r.PauseEnds.IsZero():
		return "pause " + countdown(r.PauseEnds.Sub(m.now)), t.paused
	case r.Phase == "Progressing":
		return "progressing", t.progressing
	case r.Phase == "Healthy":
		return "healthy", t.healthy
	}
	return strings.ToLower(string(r.Phase)), t.muted
}

// headlineTitle is the overview's evidence column: ERR× for the error rate.
func (m *Model) headlineTitle() string {
	x := m.th.Symbols.Times
	switch m.opt.Headline {
	case "", "error_rate":
		return "ERR" + x
	case "latency_p95":
		return "P95" + x
	}
	return strings.ToUpper(fit(m.opt.Headline, 4, "")) + x
}

// headlineName is the headline metric in words, for the help.
func headlineName(id string) string {
	switch id {
	case "", "error_rate":
		return "error rate"
	case "latency_p95":
		return "p95 latency"
	}
	return strings.ReplaceAll(id, "_", " ")
}

// headlineCell is the canary's ratio to stable of the headline metric.
func (m *Model) headlineCell(r *watch.Rollout) (string, paint) {
	t := m.paint
	ev, ok := m.evidence[keyOf(r)]
	if !ok || !r.CanaryUnderWay() && ev.MetricsState.FetchedAt.IsZero() {
		return "-", t.muted
	}
	id := m.opt.Headline
	if id == "" {
		id = "error_rate"
	}
	mt, ok := ev.Headline(id)
	if !ok {
		return "-", t.muted
	}
	// An error class new in the canary shows beside the ratio, in the
	// colour of a failing metric: the strongest single sign of a bad
	// release.
	newErrors := ""
	if ev.NewErrors() > 0 && !ev.ErrorsState.Stale {
		newErrors = m.th.Symbols.New
	}
	ratio, ok := mt.Ratio()
	if !ok {
		if newErrors != "" {
			return "n/a" + newErrors, t.bad
		}
		return "n/a", t.muted
	}
	s := ratioText(ratio, m.th.Symbols.Times) + newErrors
	switch {
	case newErrors != "":
		return s, t.bad
	case ev.MetricsState.Stale:
		return s, t.warn
	case mt.Verdict == metrics.VerdictHigh && mt.HigherIsWorse:
		return s, t.bad
	case mt.Verdict == metrics.VerdictPass:
		return s, t.ok
	}
	return s, t.text
}

// ratioText shows a ratio with the precision that tells ratios apart where
// it matters: 0.25× (not 0.2×) under 1, 1.4× under 10, 12× above.
func ratioText(r float64, x string) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f%s", r, x)
	case r < 1:
		return fmt.Sprintf("%.2f%s", r, x)
	}
	return fmt.Sprintf("%.1f%s", r, x)
}

// urgencyFailing ranks, above every other, a live canary whose metrics fail
// the judge: it hurts users now.
const urgencyFailing = watch.UrgencyAnalysisFailed - 1

// urgencyOf is the watch layer's urgency of r, raised when its canary
// fails on evidence that is fresh.
func (m *Model) urgencyOf(r *watch.Rollout) watch.Urgency {
	if r.CanaryUnderWay() {
		// Fresh metrics that fail, or a fresh error class new in the
		// canary (the score counts it even while metrics are stale).
		if ev, ok := m.evidence[keyOf(r)]; ok && ev.Score == metrics.ScoreFail && (!ev.MetricsState.Stale || ev.NewErrors() > 0 && !ev.ErrorsState.Stale) {
			return urgencyFailing
		}
	}
	return watch.UrgencyOf(r)
}

// urgencyTitle names a group of the overview.
func urgencyTitle(u watch.Urgency) string {
	switch u {
	case urgencyFailing:
		return "NEEDS YOU: canary failing its metrics"
	case watch.UrgencyAnalysisFailed:
		return "NEEDS YOU: analysis failed, canary aborted"
	case watch.UrgencyDegraded:
		return "NEEDS YOU: degraded or aborted"
	case watch.UrgencyAnalysisInconclusive:
		return "NEEDS YOU: analysis inconclusive, promote or abort"
	case watch.UrgencyAwaitingPromotion:
		return "NEEDS YOU: waiting for a promote"
	case watch.UrgencyProgressing:
		return "PROGRESSING"
	}
	return "HEALTHY"
}

// overviewPanel renders the list of rollouts in a panel of width×height.
func (m *Model) overviewPanel(width, height int) []string {
	if m.memo == nil {
		return m.drawOverview(width, height)
	}
	if lines, ok := m.memo.overview.get(m, width, height); ok {
		return lines
	}
	lines := m.drawOverview(width, height)
	m.memo.overview.keep(m, width, height, m.overviewClockChange(), lines)
	return slices.Clip(lines)
}

// overviewClockChange is how long until a text of the list that counts
// time changes: the rows' time in their step and pause countdowns (of
// every row: which are in view depends on the room it is drawn in).
func (m *Model) overviewClockChange() time.Duration {
	next := time.Hour
	for _, r := range m.rows {
		rowClock(r, m.now, func(d time.Duration) { next = min(next, d) })
	}
	return next
}

// rowClock gives consider how long until each text of r's row that counts
// time changes at now: its time in its step and its pause's countdown.
func rowClock(r *watch.Rollout, now time.Time, consider func(time.Duration)) {
	if !r.PauseEnds.IsZero() && r.PauseEnds.After(now) {
		consider(nextCountdownChange(r.PauseEnds.Sub(now)))
	}
	if !r.StepSince.IsZero() {
		consider(nextAgeChange(now.Sub(r.StepSince)))
	}
}

// drawOverview is overviewPanel, drawn.
func (m *Model) drawOverview(width, height int) []string {
	t := m.th
	inner := width - 4
	count := fmt.Sprintf(" %d", len(m.all))
	if len(m.rows) != len(m.all) {
		// A filter hides some: say how many of them are in view.
		count = fmt.Sprintf(" %d of %d", len(m.rows), len(m.all))
	}
	title := ink(&t.Title, "Rollouts") + ink(&t.Muted, count)
	needYou := 0
	for _, r := range m.all {
		if m.urgencyOf(r) <= watch.UrgencyAwaitingPromotion {
			needYou++
		}
	}
	if needYou > 0 {
		title += ink(&t.Muted, " "+t.Symbols.Dot+" ") + ink(&t.Warn, fmt.Sprintf("%d need you", needYou))
	}
	if n := len(m.marked); n > 0 {
		title += ink(&t.Muted, " "+t.Symbols.Dot+" ") + ink(&t.Marked, fmt.Sprintf("%d marked", n))
	}
	if m.filtering || m.filter.Value() != "" {
		title += ink(&t.Muted, " "+t.Symbols.Dot+" ") + m.filter.View()
	}
	body := height - 2
	var content []string
	switch {
	case !m.synced:
		content = []string{ink(&t.Muted, "Listing rollouts"+t.Symbols.Ellipsis)}
	case len(m.all) == 0:
		where := "any namespace"
		if m.opt.Namespace != "" {
			where = "namespace " + m.opt.Namespace
		}
		for _, l := range wrap(fmt.Sprintf("No rollouts in %s. roost shows Argo Rollouts Rollouts (argoproj.io/v1alpha1): create one, or look elsewhere with -n NAMESPACE or -A.", where), inner) {
			content = append(content, ink(&t.Muted, l))
		}
	case len(m.rows) == 0:
		for _, l := range wrap(fmt.Sprintf("No rollout matches %q. Press / then ctrl+c to clear the filter.", m.filter.Value()), inner) {
			content = append(content, ink(&t.Muted, l))
		}
	default:
		content = m.overviewRows(inner, body)
	}
	return m.box(title, m.focus == panelList && (m.split() || m.screen == screenOverview), width, height, content)
}

// overviewRows is the column header and as many rows as fit in height,
// scrolled so that the cursor shows, with a title line per urgency, or,
// grouped, a group line per Application or AppProject.
func (m *Model) overviewRows(width, height int) []string {
	t := m.th
	const prefix = 4 // cursor, mark, phase symbol, space
	cols, widths, gap := layoutColumns(m.overviewColumns(), m.rows, width-prefix)
	space := strings.Repeat(" ", gap)
	cellText := func(c column, w int, s string) string {
		if c.right {
			return fitLeft(s, w, t.Symbols.Ellipsis)
		}
		return fit(s, w, t.Symbols.Ellipsis)
	}
	var head strings.Builder
	head.WriteString(strings.Repeat(" ", prefix))
	for i, c := range cols {
		if i > 0 {
			head.WriteString(space)
		}
		head.WriteString(cellText(c, widths[i], c.title))
	}
	lines := []string{ink(&t.Muted, head.String())}

	// Lay the lines out first, cheaply, and render only those in view:
	// with hundreds of rollouts the frame costs what the screen shows.
	all, cursorLine := m.overviewLines()
	offset, end := overviewScroll(len(all), cursorLine, height-1)
	for i := offset; i < end; i++ {
		l := all[i]
		switch {
		case l.group >= 0:
			lines = append(lines, m.groupLine(l.group, m.onGroup && m.groups[l.group].start == m.cursor, width))
		case l.row < 0:
			lines = append(lines, ink(&t.Muted, urgencyTitle(l.urgency)))
		default:
			lines = append(lines, m.overviewRow(m.rows[l.row], cols, widths, space, l.row == m.cursor && !m.onGroup, width))
		}
	}
	below := 0
	for _, l := range all[end:] {
		if l.row >= 0 {
			below++
		}
	}
	if below > 0 {
		lines = append(lines, ink(&t.Muted, fmt.Sprintf("%s %d more", t.Symbols.More, below)))
	}
	return lines
}

// overviewLine is one line of the overview: ungrouped, a title line heads
// each urgency; grouped, a group line heads each Application or AppProject.
type overviewLine struct {
	urgency watch.Urgency
	group   int // the group of a group line, else -1
	row     int // -1 for a title or group line
}

// overviewLines lays out the overview's lines, and says which one is the
// cursor's.
func (m *Model) overviewLines() ([]overviewLine, int) {
	all := make([]overviewLine, 0, len(m.rows)+max(len(m.groups), 4))
	cursorLine := 0
	if len(m.groups) > 0 {
		for g, grp := range m.groups {
			if m.onGroup && m.cursor == grp.start {
				cursorLine = len(all)
			}
			all = append(all, overviewLine{group: g, row: -1})
			for i := grp.start; i < grp.end; i++ {
				if i == m.cursor && !m.onGroup {
					cursorLine = len(all)
				}
				all = append(all, overviewLine{group: -1, row: i})
			}
		}
		return all, cursorLine
	}
	lastUrgency := watch.Urgency(-100)
	for i, r := range m.rows {
		if u := m.urgencyOf(r); u != lastUrgency {
			lastUrgency = u
			all = append(all, overviewLine{urgency: u, group: -1, row: -1})
		}
		if i == m.cursor {
			cursorLine = len(all)
		}
		all = append(all, overviewLine{group: -1, row: i})
	}
	return all, cursorLine
}

// overviewScroll is which of n lines are in view in room lines, the
// cursor's in the middle where it can be: lines [offset, end). When some
// are not, the last line of the room says how many rollouts are below.
func overviewScroll(n, cursorLine, room int) (offset, end int) {
	if n > room {
		room = max(room-1, 1)
		offset = min(max(cursorLine-room/2, 0), n-room)
	}
	return offset, min(offset+room, n)
}

func (m *Model) overviewRow(r *watch.Rollout, cols []column, widths []int, space string, selected bool, width int) string {
	t := m.th
	sym := t.Symbols
	mark := " "
	if m.marked[keyOf(r)] {
		mark = sym.Marked
	}
	cursor := " "
	if selected {
		cursor = sym.Cursor
	}
	phasePaint, phaseSym := m.paint.phase(t, string(r.Phase))
	if selected {
		// One style for the whole row: inner styles would cut the
		// selection's background.
		var b strings.Builder
		b.WriteString(cursor + mark + phaseSym + " ")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(space)
			}
			s, _ := c.cell(m, r)
			if c.right {
				b.WriteString(fitLeft(s, widths[i], sym.Ellipsis))
			} else {
				b.WriteString(fit(s, widths[i], sym.Ellipsis))
			}
		}
		return ink(&t.Selected, fit(b.String(), width, sym.Ellipsis))
	}
	var b strings.Builder
	b.WriteString(cursor + m.paint.marked.on(mark) + phasePaint.on(phaseSym) + " ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(space)
		}
		s, style := c.cell(m, r)
		if c.right {
			s = fitLeft(s, widths[i], sym.Ellipsis)
		} else {
			s = fit(s, widths[i], sym.Ellipsis)
		}
		b.WriteString(style.on(s))
	}
	return b.String()
}

// ageOr is the age of t at now, or "-" when t is zero.
func ageOr(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return age(now.Sub(t))
}
