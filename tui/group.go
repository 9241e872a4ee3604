package tui

// The overview grouped by Argo CD Application or AppProject (v): the groups
// of the rows in view, the cursor on a group line, the group line itself,
// marking and acting on a whole group, and remembering the grouping.

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/watch"
)

// rowGroup is one group of the overview: rows[start:end], the rollouts in
// view of one Application or AppProject, or, in the last group (key ""),
// those of none.
type rowGroup struct {
	// key is watch.GroupKey's; "" for the last group.
	key string
	// title is the group line's name: the Application's or the project's,
	// or, for the last group, why its rollouts have none.
	title string
	// urgency is its most urgent rollout's, as the overview ranks them.
	urgency    watch.Urgency
	start, end int
	// hidden counts the group's rollouts the filter hides.
	hidden int
}

// groupRows orders rows by group: the group of the most urgent rollout
// first, then by name, the last group last; within a group rows keep their
// order. filtered says rows are a filter's pick of m.all, whose rollouts the
// groups then count as hidden.
func (m *Model) groupRows(rows []*watch.Rollout, filtered bool) ([]*watch.Rollout, []rowGroup) {
	by := m.grouping
	index := make(map[string]int, 16)
	of := make([]int, len(rows))
	var groups []rowGroup
	// noApp and unknown count the last group's two kinds of rollout: no
	// Argo CD Application, or one whose project is unknown.
	noApp, unknown := 0, 0
	for i, r := range rows {
		k := watch.GroupKey(r, by)
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, rowGroup{key: k, title: watch.GroupTitle(r, by), urgency: m.urgencyOf(r)})
		} else {
			groups[g].urgency = min(groups[g].urgency, m.urgencyOf(r))
		}
		groups[g].end++ // a count until the starts are known
		of[i] = g
		if k == "" {
			if r.App == nil {
				noApp++
			} else {
				unknown++
			}
		}
	}
	if filtered {
		for _, r := range m.all {
			if g, ok := index[watch.GroupKey(r, by)]; ok {
				groups[g].hidden++
			}
		}
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := &groups[order[i]], &groups[order[j]]
		if (a.key == "") != (b.key == "") {
			return b.key == ""
		}
		return cmp.Or(cmp.Compare(a.urgency, b.urgency), strings.Compare(a.title, b.title), strings.Compare(a.key, b.key)) < 0
	})
	sorted := make([]rowGroup, len(groups))
	at := make([]int, len(groups))
	start := 0
	for pos, g := range order {
		grp := groups[g]
		n := grp.end
		grp.start, grp.end = start, start+n
		grp.hidden -= min(grp.hidden, n)
		if grp.key == "" {
			grp.title = lastGroupTitle(by, noApp, unknown)
		}
		sorted[pos], at[g] = grp, start
		start += n
	}
	out := make([]*watch.Rollout, len(rows))
	for i, r := range rows {
		out[at[of[i]]] = r
		at[of[i]]++
	}
	return out, sorted
}

// lastGroupTitle says why the last group's rollouts are in no group: noApp
// of them have no Argo CD Application, unknown have one roost could not
// read (grouped by project).
func lastGroupTitle(by watch.GroupBy, noApp, unknown int) string {
	switch {
	case by != watch.GroupProject || unknown == 0:
		return "not deployed by Argo CD"
	case noApp == 0:
		return "project unknown: Argo CD Application not readable"
	}
	return "not deployed by Argo CD, or project unknown (Application not readable)"
}

// groupAt is the index of the group that starts at row i, or -1.
func (m *Model) groupAt(i int) int {
	g, ok := slices.BinarySearchFunc(m.groups, i, func(g rowGroup, i int) int { return cmp.Compare(g.start, i) })
	if !ok {
		return -1
	}
	return g
}

// groupOf is the index of the group holding row i (the groups are sorted
// by start and cover every row).
func (m *Model) groupOf(i int) int {
	g, ok := slices.BinarySearchFunc(m.groups, i, func(g rowGroup, i int) int { return cmp.Compare(g.start, i) })
	if !ok {
		g--
	}
	return g
}

// cursorLine is the cursor's line in the grouped list, where group g's line
// comes just before its first row: it is at groups[g].start+g, and row i of
// group g at i+g+1.
func (m *Model) cursorLine() int {
	g := m.groupOf(m.cursor)
	if m.onGroup {
		return m.groups[g].start + g
	}
	return m.cursor + g + 1
}

// setCursorLine puts the cursor on line pos of the grouped list.
func (m *Model) setCursorLine(pos int) {
	// The last group whose line is at or above pos.
	g := sort.Search(len(m.groups), func(g int) bool { return m.groups[g].start+g > pos }) - 1
	g = max(g, 0)
	if line := m.groups[g].start + g; pos <= line {
		m.cursor, m.onGroup = m.groups[g].start, true
		return
	}
	m.cursor, m.onGroup = pos-g-1, false
}

// cursorGroup is the group whose line has the cursor, or nil.
func (m *Model) cursorGroup() *rowGroup {
	if !m.onGroup {
		return nil
	}
	if g := m.groupAt(m.cursor); g >= 0 {
		return &m.groups[g]
	}
	return nil
}

// groupName names a group in a sentence: "project shop", "application
// shop-checkout", "the last group (not deployed by Argo CD)".
func (m *Model) groupName(g *rowGroup) string {
	switch {
	case g.key == "":
		return "the last group (" + g.title + ")"
	case m.grouping == watch.GroupProject:
		return "project " + g.title
	case m.grouping == watch.GroupService:
		return "service " + g.title
	}
	return "application " + g.title
}

// groupingName says how the overview is grouped.
func groupingName(g watch.GroupBy) string {
	switch g {
	case watch.GroupApplication:
		return "grouped by Argo CD Application"
	case watch.GroupProject:
		return "grouped by Argo CD AppProject"
	case watch.GroupService:
		return "grouped by service across clusters"
	}
	return "not grouped"
}

// groupingText says how the overview is grouped, and what v does next
// (across says several clusters are in scope).
func groupingText(g watch.GroupBy, across bool) string {
	next := "by Argo CD Application"
	switch {
	case g == watch.GroupApplication:
		next = "by AppProject"
	case g == watch.GroupProject:
		next = "no groups"
	case across && g != watch.GroupService:
		next = "by service across clusters"
	}
	return groupingName(g) + " (v: " + next + ")"
}

// cycleGrouping is v: the next grouping, at once, and a command that
// remembers it.
func (m Model) cycleGrouping() (Model, tea.Cmd) {
	if m.multiCluster() {
		m.grouping = m.grouping.NextAcross()
	} else {
		m.grouping = m.grouping.Next()
	}
	m.applyFilter()
	text := groupingText(m.grouping, m.multiCluster())
	lv := levelInfo
	switch {
	case m.grouping == watch.GroupNone:
	case m.grouping == watch.GroupService && !m.opt.ReadOnly:
		text += "; on a group line, space marks the service in every cluster and p P a r act on all of it"
	case m.grouping == watch.GroupService:
	case !slices.ContainsFunc(m.all, func(r *watch.Rollout) bool { return r.App != nil }):
		text += "; no rollout here is deployed by Argo CD: none has its tracking annotation (" + watch.TrackingIDAnnotation + ") or instance label"
		lv = levelWarn
	case !m.opt.ReadOnly:
		text += "; on a group line, space marks the group and p P a r act on all of it"
	}
	m.status = status{text: text, level: lv}
	return m, m.saveGrouping()
}

// groupingSavedMsg is SaveGrouping's answer.
type groupingSavedMsg struct {
	grouping watch.GroupBy
	err      error
}

// saveGrouping remembers the grouping, one save at a time: a v pressed
// while one runs is saved when it ends.
func (m *Model) saveGrouping() tea.Cmd {
	if m.opt.SaveGrouping == nil || m.savingGrouping {
		return nil
	}
	m.savingGrouping = true
	save, g := m.opt.SaveGrouping, m.grouping
	return func() tea.Msg { return groupingSavedMsg{grouping: g, err: save(g)} }
}

func (m Model) onGroupingSaved(msg groupingSavedMsg) (Model, tea.Cmd) {
	m.savingGrouping = false
	if msg.err != nil {
		m.status = status{text: fmt.Sprintf("%s for this session only, not remembered: %v", capitalize(groupingName(msg.grouping)), msg.err), level: levelWarn}
	}
	if msg.grouping != m.grouping {
		return m, m.saveGrouping()
	}
	return m, nil
}

// markGroup is space on a group line: it marks every rollout of the group
// in view, or unmarks them all when all are marked.
func (m *Model) markGroup(g *rowGroup) {
	rows := m.rows[g.start:g.end]
	all := !slices.ContainsFunc(rows, func(r *watch.Rollout) bool { return !m.marked[keyOf(r)] })
	for _, r := range rows {
		if all {
			delete(m.marked, keyOf(r))
		} else {
			m.marked[keyOf(r)] = true
		}
	}
	verb := "marked"
	if all {
		verb = "unmarked"
	}
	m.status = status{text: fmt.Sprintf("%s %s of %s", verb, plural(len(rows), "rollout", "rollouts"), m.groupName(g))}
}

// groupLine renders group g's line: its name, its combined state, its marks.
func (m *Model) groupLine(g int, selected bool, width int) string {
	t := m.th
	sym := t.Symbols
	grp := &m.groups[g]
	rows := m.rows[grp.start:grp.end]
	marked := 0
	for _, r := range rows {
		if m.marked[keyOf(r)] {
			marked++
		}
	}
	mark := " "
	if marked == len(rows) {
		mark = sym.Marked
	}
	cursor := " "
	if selected {
		cursor = sym.Cursor
	}
	dot := " " + sym.Dot + " "
	summary := dot + m.groupSummary(rows)
	if grp.hidden > 0 {
		summary += dot + fmt.Sprintf("%d more hidden by the filter", grp.hidden)
	}
	var marks string
	if marked > 0 && marked < len(rows) {
		marks = dot + fmt.Sprintf("%d of %d marked", marked, len(rows))
	}
	if selected {
		return ink(&t.Selected, fit(cursor+mark+grp.title+summary+marks, width, sym.Ellipsis))
	}
	return fit(cursor+m.paint.marked.on(mark)+m.paint.title.on(grp.title)+m.paint.muted.on(summary)+m.paint.marked.on(marks), width, sym.Ellipsis)
}

// groupPanel is the detail panel while the cursor is on a group line: the
// group's state, what the keys do to it, and its rollouts.
func (m *Model) groupPanel(g *rowGroup, focused bool, width, height int) []string {
	t := m.th
	inner := width - 4
	rows := m.rows[g.start:g.end]
	var lines []string
	for _, l := range wrap(m.groupSummary(rows), inner) {
		lines = append(lines, ink(&t.Text, l))
	}
	hint := "Read-only: no key acts on it."
	if !m.opt.ReadOnly {
		hint = fmt.Sprintf("space marks its %s in view; p, P, a or r acts on all of them, asking first with what each will do.", plural(len(rows), "rollout", "rollouts"))
	}
	for _, l := range wrap(hint, inner) {
		lines = append(lines, ink(&t.Muted, l))
	}
	lines = append(lines, "")
	for i, r := range rows {
		if len(lines) == height-3 && i < len(rows)-1 {
			lines = append(lines, ink(&t.Muted, fmt.Sprintf("%s %d more", t.Symbols.More, len(rows)-i)))
			break
		}
		name := keyOf(r).String()
		lines = append(lines, fit(ink(&t.Text, name)+ink(&t.Muted, ": "+watch.StateWord(r)), inner, t.Symbols.Ellipsis))
	}
	return m.box(ink(&t.Title, capitalize(m.groupName(g))), focused, width, height, lines)
}

// groupSummary is a group's combined state: by cluster for the same
// service across clusters, else counted by state.
func (m *Model) groupSummary(rows []*watch.Rollout) string {
	if m.grouping == watch.GroupService {
		return watch.ClusterSummary(rows)
	}
	return watch.GroupSummary(rows)
}
